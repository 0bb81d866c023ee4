package ai.neuraldivergence.modelbuilder;

import ai.neuraldivergence.datasets.ImageSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gradients;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Trains {@link CnnGraph} with SGD and momentum 0.9 in graph mode, on randomly shifted digits (up to 2 pixels, a
 * cheap augmentation that buys the last accuracy points on 8,000 images).
 */
final class Trainer {

    /** The trained parameter values (in {@link CnnGraph#PARAMETER_NAMES} order) and the held-out accuracy. */
    record Result(float[][] parameters, double testAccuracy) {
    }

    private final BuildOptions options;

    Trainer(BuildOptions options) {
        this.options = options;
    }

    Result train(ImageSet train, ImageSet test) {
        int bs = options.batchSize();
        try (Graph g = new Graph()) {
            Ops tf = Ops.create(g);
            CnnGraph cnn = new CnnGraph(tf, null, options.seed());
            Placeholder<TInt32> labels = tf.withName("labels").placeholder(TInt32.class,
                    Placeholder.shape(Shape.of(-1)));
            // the dense softmax cross-entropy has a gradient in TF Java; the sparse one does not
            Operand<TFloat32> loss = tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(cnn.logits,
                    tf.oneHot(labels, tf.constant(10), tf.constant(1f), tf.constant(0f))).loss(), tf.constant(0));
            Operand<TInt64> predicted = tf.math.argMax(cnn.logits, tf.constant(1));
            Gradients grads = tf.gradients(loss, cnn.parameters);
            Placeholder<TFloat32> lr = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
            List<Op> updates = new ArrayList<>();
            for (int i = 0; i < cnn.parameters.size(); i++) {
                Variable<TFloat32> v = cnn.parameters.get(i);
                Ops init = tf.withInitScope();
                Variable<TFloat32> momentum = tf.variable(init.zeros(init.constant(v.shape().asArray()),
                        TFloat32.class));
                updates.add(tf.train.applyMomentum(v, momentum, lr, grads.<TFloat32>dy(i), tf.constant(0.9f)));
            }
            Op step = tf.withControlDependencies(updates).noOp();

            try (Session session = new Session(g)) {
                session.initialize();
                Random random = new Random(options.seed());
                int[] order = new int[train.size()];
                for (int i = 0; i < order.length; i++) {
                    order[i] = i;
                }
                float[] xb = new float[bs * ImageSet.PIXELS];
                int[] yb = new int[bs];
                for (int epoch = 0; epoch < options.epochs(); epoch++) {
                    long t0 = System.nanoTime();
                    shuffle(order, random);
                    // lr 0.01 diverged about one run in six at 0.02 (spike); decay for the last epochs
                    float rate = epoch < options.epochs() / 2 ? 0.01f : epoch < options.epochs() * 3 / 4 ? 0.003f
                            : 0.001f;
                    double lossSum = 0;
                    int batches = 0;
                    for (int b = 0; b + bs <= train.size(); b += bs) {
                        for (int i = 0; i < bs; i++) {
                            shifted(train.image(order[b + i]), random.nextInt(5) - 2, random.nextInt(5) - 2, xb,
                                    i * ImageSet.PIXELS);
                            yb[i] = train.label(order[b + i]);
                        }
                        try (TFloat32 x = TFloat32.tensorOf(Shape.of(bs, 28, 28, 1), DataBuffers.of(xb, true, false));
                                TInt32 y = TInt32.vectorOf(yb);
                                TFloat32 r = TFloat32.scalarOf(rate);
                                org.tensorflow.Result out = session.runner().feed(cnn.input, x).feed(labels, y)
                                        .feed(lr, r).addTarget(step).fetch(loss).run()) {
                            lossSum += ((TFloat32) out.get(0)).getFloat();
                            batches++;
                        }
                    }
                    double loss0 = lossSum / batches;
                    if (!Double.isFinite(loss0)) {
                        throw new IllegalStateException("training diverged at epoch " + (epoch + 1));
                    }
                    System.out.printf(Locale.ROOT, "epoch %2d  loss %.4f  held-out accuracy %.4f  (%.1f s)%n",
                            epoch + 1, loss0, accuracy(session, cnn, predicted, test),
                            (System.nanoTime() - t0) / 1e9);
                }
                float[][] values = new float[cnn.parameters.size()][];
                for (int i = 0; i < values.length; i++) {
                    try (org.tensorflow.Result out = session.runner().fetch(cnn.parameters.get(i)).run()) {
                        TFloat32 t = (TFloat32) out.get(0);
                        values[i] = new float[(int) t.shape().size()];
                        t.copyTo(DataBuffers.of(values[i], false, false));
                    }
                }
                return new Result(values, accuracy(session, cnn, predicted, test));
            }
        }
    }

    static double accuracy(Session session, CnnGraph cnn, Operand<TInt64> predicted, ImageSet data) {
        int correct = 0;
        int bs = 500;
        float[] x = new float[bs * ImageSet.PIXELS];
        for (int b = 0; b < data.size(); b += bs) {
            int n = Math.min(bs, data.size() - b);
            data.copyImages(b, n, x, 0);
            try (TFloat32 xt = TFloat32.tensorOf(Shape.of(n, 28, 28, 1),
                    DataBuffers.of(java.util.Arrays.copyOf(x, n * ImageSet.PIXELS), true, false));
                    org.tensorflow.Result out = session.runner().feed(cnn.input, xt).fetch(predicted).run()) {
                TInt64 p = (TInt64) out.get(0);
                for (int i = 0; i < n; i++) {
                    if (p.getLong(i) == data.label(b + i)) {
                        correct++;
                    }
                }
            }
        }
        return correct / (double) data.size();
    }

    /** Writes {@code image} shifted by (dx, dy) pixels into {@code out}, filling uncovered pixels with 0. */
    static void shifted(float[] image, int dx, int dy, float[] out, int offset) {
        for (int y = 0; y < 28; y++) {
            int sy = y - dy;
            for (int x = 0; x < 28; x++) {
                int sx = x - dx;
                out[offset + y * 28 + x] = sy >= 0 && sy < 28 && sx >= 0 && sx < 28 ? image[sy * 28 + sx] : 0f;
            }
        }
    }

    private static void shuffle(int[] a, Random random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
