package ai.neuraldivergence.modelbuilder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.datasets.AttackedPair;
import ai.neuraldivergence.datasets.AttackedPairs;
import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** What the build produced (target/mnist-cnn), checked as its users will use it. */
class ExportedModelTest {

    private static final Path DIR = Path.of(System.getProperty("nd.model.dir"));

    /** The export's outputs for a set of digits, with what holds them. */
    private record Served(SavedModelBundle bundle, TFloat32 input, Result out) implements AutoCloseable {

        static Served run(ImageSet digits) {
            TensorFlowNatives.load();
            float[] x = new float[digits.size() * ImageSet.PIXELS];
            digits.copyImages(0, digits.size(), x, 0);
            SavedModelBundle bundle = SavedModelBundle.load(DIR.resolve("saved_model").toString(), "serve");
            TFloat32 input = TFloat32.tensorOf(Shape.of(digits.size(), 28, 28, 1), DataBuffers.of(x, true, false));
            return new Served(bundle, input, bundle.function("serving_default").call(Map.of("input", input)));
        }

        @Override
        public void close() {
            out.close();
            input.close();
            bundle.close();
        }
    }

    @Test
    void theExportClassifiesHeldOutDigitsAtLeast97PercentRight() throws Exception {
        ImageSet test = NpmImages.mnist().split(0.8, 1234).test();
        try (Served served = Served.run(test)) {
            Result out = served.out();
            assertEquals(Set.of("probabilities", "logits", "conv1", "pool1", "conv2", "pool2", "dense1",
                    "conv1_channel_max", "conv1_channel_mean", "pool1_channel_max", "pool1_channel_mean",
                    "conv2_channel_max", "conv2_channel_mean", "pool2_channel_max", "pool2_channel_mean"),
                    out.keySet());
            assertEquals(Shape.of(test.size(), 32), out.get("conv2_channel_max").orElseThrow().shape());
            TFloat32 p = (TFloat32) out.get("probabilities").orElseThrow();
            int correct = 0;
            for (int i = 0; i < test.size(); i++) {
                int best = 0;
                for (int c = 1; c < 10; c++) {
                    if (p.getFloat(i, c) > p.getFloat(i, best)) {
                        best = c;
                    }
                }
                correct += best == test.label(i) ? 1 : 0;
            }
            double accuracy = correct / (double) test.size();
            assertTrue(accuracy >= 0.97, "held-out accuracy " + accuracy);
            assertEquals(Shape.of(test.size(), 28, 28, 16), out.get("conv1").orElseThrow().shape());
            assertEquals(Shape.of(test.size(), 128), out.get("dense1").orElseThrow().shape());
        }
    }

    @Test
    void theGraphHoldsNoTrainingState() throws Exception {
        String graph = new String(Files.readAllBytes(DIR.resolve("saved_model/saved_model.pb")),
                StandardCharsets.ISO_8859_1);
        for (String op : List.of("ApplyMomentum", "SoftmaxCrossEntropyWithLogits", "labels")) {
            assertFalse(graph.contains(op), "the inference-only export contains " + op);
        }
    }

    @Test
    void theManifestRecordsTheTapsInNetworkOrder() throws Exception {
        String manifest = Files.readString(DIR.resolve("manifest.json"));
        Matcher m = Pattern.compile("\"name\": \"(\\w+)\", \"index\": (\\d+)").matcher(manifest);
        StringBuilder order = new StringBuilder();
        while (m.find()) {
            order.append(m.group(2)).append(':').append(m.group(1)).append(' ');
        }
        assertEquals("0:conv1 1:pool1 2:conv2 3:pool2 4:dense1 ", order.toString());
        assertTrue(manifest.contains("\"modelVersion\": \"" + Files.readString(DIR.resolve("build-key.txt"))
                .substring(0, 12) + "\""));
    }

    /**
     * The neuron scales the layer statistic divides by: each captured neuron's standard deviation on the training
     * digits, recomputed here from the export itself (dense1's units, conv2's channel means as the service captures
     * them with the mean reduction).
     */
    @Test
    void theManifestDeclaresEachCapturedNeuronsStandardDeviationOnTheTrainingDigits() throws Exception {
        String manifest = Files.readString(DIR.resolve("manifest.json"));
        ImageSet train = NpmImages.mnist().split(0.8, 1234).train();
        try (Served served = Served.run(train)) {
            Result out = served.out();
            for (String[] captured : new String[][] {{"dense1", "none", "dense1"},
                    {"conv2", "mean", "conv2_channel_mean"}, {"conv1", "max", "conv1_channel_max"}}) {
                float[] declared = declaredScales(manifest, captured[0], captured[1]);
                TFloat32 values = (TFloat32) out.get(captured[2]).orElseThrow();
                assertEquals(values.shape().get(1), declared.length, captured[0] + " declares one scale per neuron");
                double[] std = new double[declared.length];
                double typical = 0;
                int varying = 0;
                for (int j = 0; j < declared.length; j++) {
                    double mean = 0;
                    for (int i = 0; i < train.size(); i++) {
                        mean += values.getFloat(i, j);
                    }
                    mean /= train.size();
                    double squares = 0;
                    for (int i = 0; i < train.size(); i++) {
                        squares += (values.getFloat(i, j) - mean) * (values.getFloat(i, j) - mean);
                    }
                    std[j] = Math.sqrt(squares / train.size());
                    typical += std[j];
                    varying += std[j] > 0 ? 1 : 0;
                }
                typical /= varying;
                for (int j = 0; j < declared.length; j++) {
                    assertTrue(declared[j] > 0, captured[0] + " neuron " + j);
                    // a unit that never fired in training weighs as a typical one of its tap
                    double expected = std[j] > 0 ? std[j] : typical;
                    // within a thousandth of the tap's typical scale: a unit that hardly fires sees its few tiny
                    // values move with the batch the export runs in, and is floored at that thousandth anyway
                    assertEquals(expected, declared[j], 1e-3 * typical, captured[0] + "/" + captured[1] + " neuron "
                            + j);
                }
            }
        }
    }

    private static float[] declaredScales(String manifest, String tap, String reduction) {
        Matcher m = Pattern.compile("\"name\": \"" + tap + "\"[^\n]*\"neuronScales\": \\{[^\n]*\"" + reduction
                + "\": \\[([^\\]]*)\\]").matcher(manifest);
        assertTrue(m.find(), "the manifest declares the scales of " + tap + " (" + reduction + ")");
        String[] parts = m.group(1).split(",");
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Float.parseFloat(parts[i].trim());
        }
        return out;
    }

    @Test
    void attackedPairsStayWithinTheirBudgetAndStrongerAttacksFoolMore() throws Exception {
        List<AttackedPair> pairs = AttackedPairs.read(DIR.resolve("attacked-pairs.bin.gz"));
        assertEquals(6 * 300, pairs.size());
        Set<String> ids = new HashSet<>();
        for (AttackedPair p : pairs) {
            assertTrue(ids.add(p.pairId()), "unique pair ids");
            for (int i = 0; i < ImageSet.PIXELS; i++) {
                assertTrue(Math.abs(p.attacked()[i] - p.benign()[i]) <= p.epsilon() + 1e-6, p.pairId());
                assertTrue(p.attacked()[i] >= 0 && p.attacked()[i] <= 1);
            }
        }
        assertTrue(successRate(pairs, "fgsm", 0.2f) > successRate(pairs, "fgsm", 0.05f));
        assertTrue(successRate(pairs, "pgd", 0.1f) > successRate(pairs, "fgsm", 0.1f), "PGD is the stronger attack");
    }

    private static double successRate(List<AttackedPair> pairs, String attack, float eps) {
        List<AttackedPair> chosen = pairs.stream().filter(p -> p.attack().equals(attack) && p.epsilon() == eps)
                .toList();
        return chosen.stream().filter(AttackedPair::succeeded).count() / (double) chosen.size();
    }

    @Test
    void anUnchangedBuildIsReused() throws Exception {
        BuildOptions options = BuildOptions.parse(new String[] {"--output", DIR.toString()});
        assertEquals(Files.readString(DIR.resolve("build-key.txt")).trim(), ModelBuilder.buildKey(options));
        BuildOptions other = BuildOptions.parse(new String[] {"--output", DIR.toString(), "--seed", "7"});
        assertFalse(ModelBuilder.buildKey(other).equals(ModelBuilder.buildKey(options)), "the seed is an input");
    }
}
