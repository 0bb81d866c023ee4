package ai.neuraldivergence.modelbuilder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * The synthetic wide models the build produced (target/wide-C), checked as the capture path will use them: only the
 * reduced tap leaves the graph, and it is what the exported weights say it is.
 */
class WideModelTest {

    private static final Path ROOT = Path.of(System.getProperty("nd.wide.dir"));
    private static final int N = 4;
    private static final int POSITIONS = WideGraph.SIDE * WideGraph.SIDE;
    private static final int DEPTH = WideGraph.DEPTH;

    @ParameterizedTest
    @ValueSource(ints = {2048, 8192, 16384})
    void theSignatureReturnsTheTapReducedAndItMatchesTheWeights(int channels) {
        TensorFlowNatives.load();
        float[] x = new float[N * POSITIONS * DEPTH];
        Random random = new Random(channels);
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextFloat();
        }
        Path dir = ROOT.resolve(WideModelBuilder.modelId(channels));
        try (SavedModelBundle bundle = SavedModelBundle.load(dir.resolve("saved_model").toString(), "serve");
                TFloat32 input = TFloat32.tensorOf(Shape.of(N, WideGraph.SIDE, WideGraph.SIDE, DEPTH),
                        DataBuffers.of(x, true, false));
                Result out = bundle.function("serving_default").call(Map.of("input", input));
                Result weights = bundle.session().runner().fetch("wide_w").fetch("wide_b").run()) {
            // never the [N, 7, 7, C] map itself
            assertEquals(Set.of("probabilities", "logits", "wide_channel_max", "wide_channel_mean"), out.keySet());
            float[] max = values(out, "wide_channel_max", Shape.of(N, channels));
            float[] mean = values(out, "wide_channel_mean", Shape.of(N, channels));
            float[] probabilities = values(out, "probabilities", Shape.of(N, WideGraph.CLASSES));
            float[] w = new float[DEPTH * channels];
            ((TFloat32) weights.get(0)).copyTo(DataBuffers.of(w, false, false));
            float[] b = new float[channels];
            ((TFloat32) weights.get(1)).copyTo(DataBuffers.of(b, false, false));

            for (int c : new int[] {0, 1, channels / 3, channels / 2, channels - 1, random.nextInt(channels)}) {
                for (int n = 0; n < N; n++) {
                    float[] expected = reducedInJava(x, w, b, channels, n, c);
                    assertEquals(expected[0], max[n * channels + c], 1e-4f * Math.max(1, expected[0]),
                            "max of channel " + c + ", input " + n);
                    assertEquals(expected[1], mean[n * channels + c], 1e-4f * Math.max(1, expected[1]),
                            "mean of channel " + c + ", input " + n);
                }
            }
            int live = 0;
            for (int i = 0; i < max.length; i++) {
                assertTrue(max[i] >= mean[i] && mean[i] >= 0, "max >= mean >= 0 at " + i);
                live += max[i] > 0 ? 1 : 0;
            }
            double liveShare = live / (double) max.length;
            // a ReLU map with both dead and live neurons, as a real one has
            assertTrue(liveShare > 0.1 && liveShare < 0.99, "share of channels alive " + liveShare);
            for (int n = 0; n < N; n++) {
                double sum = 0;
                for (int k = 0; k < WideGraph.CLASSES; k++) {
                    sum += probabilities[n * WideGraph.CLASSES + k];
                }
                assertEquals(1.0, sum, 1e-5);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {2048, 8192, 16384})
    void theManifestNamesTheTapWithItsReducedOutputsAndTheBuildIsReused(int channels) throws Exception {
        Path dir = ROOT.resolve(WideModelBuilder.modelId(channels));
        String key = Files.readString(dir.resolve("build-key.txt")).trim();
        assertEquals(WideModelBuilder.buildKey(channels, WideModelBuilder.SEED), key);
        String manifest = Files.readString(dir.resolve("manifest.json"));
        assertTrue(manifest.contains("\"modelId\": \"wide-" + channels + "\""), manifest);
        assertTrue(manifest.contains("\"modelVersion\": \"" + key.substring(0, 12) + "\""), manifest);
        assertTrue(manifest.contains("\"input\": {\"name\": \"input\", \"shape\": [7, 7, 512]}"), manifest);
        assertTrue(manifest.contains("{\"name\": \"wide\", \"index\": 0, \"shape\": [7, 7, " + channels + "], "
                + "\"reduced\": {\"max\": \"wide_channel_max\", \"mean\": \"wide_channel_mean\"}}"), manifest);
    }

    private static float[] values(Result out, String name, Shape shape) {
        TFloat32 t = (TFloat32) out.get(name).orElseThrow();
        assertEquals(shape, t.shape(), name);
        float[] v = new float[(int) shape.size()];
        t.copyTo(DataBuffers.of(v, false, false));
        return v;
    }

    /** Channel {@code c} of input {@code n}: ReLU of the 1x1 conv at each of the 7x7 positions, then max and mean. */
    private static float[] reducedInJava(float[] x, float[] w, float[] b, int channels, int n, int c) {
        double max = 0;
        double sum = 0;
        for (int p = 0; p < POSITIONS; p++) {
            double z = b[c];
            int offset = (n * POSITIONS + p) * DEPTH;
            for (int k = 0; k < DEPTH; k++) {
                z += x[offset + k] * w[k * channels + c];
            }
            double relu = Math.max(0, z);
            max = Math.max(max, relu);
            sum += relu;
        }
        return new float[] {(float) max, (float) (sum / POSITIONS)};
    }
}
