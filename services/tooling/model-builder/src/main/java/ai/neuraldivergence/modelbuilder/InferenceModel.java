package ai.neuraldivergence.modelbuilder;

import ai.neuraldivergence.datasets.AttackedPair;
import ai.neuraldivergence.datasets.ImageSet;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The trained network rebuilt without any training state (no labels, loss, gradients or momentum), exported as a
 * SavedModel; afterwards the same session attacks held-out digits with the model's own input gradients.
 */
final class InferenceModel implements AutoCloseable {

    private final Graph graph = new Graph();
    private final Ops tf = Ops.create(graph);
    private final CnnGraph cnn;
    private final Session session;
    private final Operand<TInt64> predicted;

    InferenceModel(float[][] parameters, long seed) {
        cnn = new CnnGraph(tf, parameters, seed);
        predicted = tf.math.argMax(cnn.logits, tf.constant(1));
        session = new Session(graph);
        session.initialize();
    }

    /** Exports the serving signature: input, probabilities, logits, every tap and the conv taps reduced. */
    void export(Path dir) throws Exception {
        Signature.Builder sig = Signature.builder().key(Signature.DEFAULT_KEY).input("input", cnn.input)
                .output("probabilities", cnn.probabilities).output("logits", cnn.logits);
        cnn.taps.forEach(sig::output);
        cnn.reducedTaps.forEach(sig::output);
        SavedModelBundle.exporter(dir.toString()).withFunction(SessionFunction.create(sig.build(), session)).export();
    }

    /**
     * Each captured neuron's standard deviation over {@code data} (the training digits), per tap and the way the
     * inference service captures it: {@code "none"} for a dense tap's units, {@code "max"} and {@code "mean"} for a
     * conv tap's channels reduced. What the manifest declares as the neurons' scales for the layer statistic.
     */
    Map<String, Map<String, float[]>> neuronScales(ImageSet data) {
        Map<String, Map<String, Operand<TFloat32>>> captured = new LinkedHashMap<>();
        cnn.taps.forEach((name, output) -> captured.put(name, CnnGraph.TAPS.get(name).length == 3
                ? Map.of("max", cnn.reducedTaps.get(name + "_channel_max"), "mean",
                        cnn.reducedTaps.get(name + "_channel_mean"))
                : Map.of("none", output)));
        Map<String, double[]> sums = new LinkedHashMap<>();
        Map<String, double[]> squares = new LinkedHashMap<>();
        int chunk = 500;
        float[] images = new float[chunk * ImageSet.PIXELS];
        for (int from = 0; from < data.size(); from += chunk) {
            int n = Math.min(chunk, data.size() - from);
            data.copyImages(from, n, images, 0);
            try (TFloat32 xt = TFloat32.tensorOf(Shape.of(n, 28, 28, 1), DataBuffers.of(images, true, false)
                    .narrow((long) n * ImageSet.PIXELS))) {
                captured.forEach((tap, byReduction) -> byReduction.forEach((reduction, output) -> {
                    try (org.tensorflow.Result out = session.runner().feed(cnn.input, xt).fetch(output).run()) {
                        TFloat32 values = (TFloat32) out.get(0);
                        int neurons = (int) values.shape().get(1);
                        String key = tap + "/" + reduction;
                        double[] sum = sums.computeIfAbsent(key, k -> new double[neurons]);
                        double[] square = squares.computeIfAbsent(key, k -> new double[neurons]);
                        for (int i = 0; i < n; i++) {
                            for (int j = 0; j < neurons; j++) {
                                double v = values.getFloat(i, j);
                                sum[j] += v;
                                square[j] += v * v;
                            }
                        }
                    }
                }));
            }
        }
        Map<String, Map<String, float[]>> out = new LinkedHashMap<>();
        captured.forEach((tap, byReduction) -> byReduction.keySet().stream().sorted().forEach(reduction -> {
            String key = tap + "/" + reduction;
            out.computeIfAbsent(tap, t -> new LinkedHashMap<>()).put(reduction,
                    Report.scales(sums.get(key), squares.get(key), data.size()));
        }));
        return out;
    }

    double accuracy(ImageSet data) {
        return Trainer.accuracy(session, cnn, predicted, data);
    }

    /**
     * Attacks the first {@code count} held-out digits. FGSM: x + eps * sign(grad). PGD: {@code steps} steps of
     * eps/4 along sign(grad), each projected back into the eps ball around x and into [0, 1].
     */
    List<AttackedPair> attack(AttackConfig attack, ImageSet test, int count) {
        // built on first use, after the export: the exported graph holds none of this
        AttackOps ops = attackOps();
        int n = Math.min(count, test.size());
        float[] benign = new float[n * ImageSet.PIXELS];
        test.copyImages(0, n, benign, 0);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = test.label(i);
        }
        float[] adversarial = benign.clone();
        float step = attack.method().equals("fgsm") ? attack.epsilon() : attack.epsilon() / 4;
        for (int s = 0; s < attack.steps(); s++) {
            float[] grad = gradient(ops, adversarial, labels, n);
            for (int j = 0; j < adversarial.length; j++) {
                float moved = adversarial[j] + step * Math.signum(grad[j]);
                float lo = Math.max(0f, benign[j] - attack.epsilon());
                float hi = Math.min(1f, benign[j] + attack.epsilon());
                adversarial[j] = Math.min(hi, Math.max(lo, moved));
            }
        }
        int[] before = classes(benign, n);
        int[] after = classes(adversarial, n);
        List<AttackedPair> pairs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String id = String.format(Locale.ROOT, "%s-%.2f-%04d", attack.method(), attack.epsilon(), i);
            pairs.add(new AttackedPair(id, attack.method(), attack.epsilon(), labels[i], before[i], after[i],
                    Arrays.copyOfRange(benign, i * ImageSet.PIXELS, (i + 1) * ImageSet.PIXELS),
                    Arrays.copyOfRange(adversarial, i * ImageSet.PIXELS, (i + 1) * ImageSet.PIXELS)));
        }
        return pairs;
    }

    private record AttackOps(Placeholder<TInt32> labels, Operand<TFloat32> inputGradient) {
    }

    private AttackOps attackOps;

    private AttackOps attackOps() {
        if (attackOps == null) {
            Placeholder<TInt32> labels = tf.placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
            Operand<TFloat32> loss = tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(cnn.logits,
                    tf.oneHot(labels, tf.constant(10), tf.constant(1f), tf.constant(0f))).loss(), tf.constant(0));
            attackOps = new AttackOps(labels, tf.gradients(loss, List.of(cnn.input)).dy(0));
        }
        return attackOps;
    }

    private float[] gradient(AttackOps ops, float[] x, int[] labels, int n) {
        try (TFloat32 xt = TFloat32.tensorOf(Shape.of(n, 28, 28, 1), DataBuffers.of(x, true, false));
                TInt32 yt = TInt32.vectorOf(labels);
                org.tensorflow.Result out = session.runner().feed(cnn.input, xt).feed(ops.labels(), yt)
                        .fetch(ops.inputGradient()).run()) {
            float[] g = new float[x.length];
            ((TFloat32) out.get(0)).copyTo(DataBuffers.of(g, false, false));
            return g;
        }
    }

    private int[] classes(float[] x, int n) {
        try (TFloat32 xt = TFloat32.tensorOf(Shape.of(n, 28, 28, 1), DataBuffers.of(x, true, false));
                org.tensorflow.Result out = session.runner().feed(cnn.input, xt).fetch(predicted).run()) {
            TInt64 p = (TInt64) out.get(0);
            int[] c = new int[n];
            for (int i = 0; i < n; i++) {
                c[i] = (int) p.getLong(i);
            }
            return c;
        }
    }

    @Override
    public void close() {
        session.close();
        graph.close();
    }
}
