package ai.neuraldivergence.modelbuilder;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * A synthetic wide network, untrained: input [N, 7, 7, 512] - conv 1x1 to C channels with ReLU (the tap
 * {@code wide}) - global average pool - dense C to 10 - logits. Its only purpose is a realistic wide tap (a ReLU map
 * with dead and live channels) for the capture path's tests and benchmarks; what it predicts means nothing.
 */
final class WideGraph {

    static final int SIDE = 7;
    static final int DEPTH = 512;
    static final int CLASSES = 10;
    static final String TAP = "wide";
    static final String CHANNEL_MAX = TAP + "_channel_max";
    static final String CHANNEL_MEAN = TAP + "_channel_mean";
    /**
     * The conv's bias. With inputs in [0, 1] a channel's pre-activation is centred on 0.5 times the sum of its
     * weights, so about half the channels are dead for most inputs; the small positive bias keeps a few more alive.
     */
    static final float WIDE_BIAS = 0.05f;

    final int channels;
    final Placeholder<TFloat32> input;
    final Variable<TFloat32> wideWeights;
    final Variable<TFloat32> wideBias;
    final Variable<TFloat32> logitsWeights;
    final Variable<TFloat32> logitsBias;
    final Operand<TFloat32> wide;
    final Operand<TFloat32> channelMax;
    final Operand<TFloat32> channelMean;
    final Operand<TFloat32> logits;
    final Operand<TFloat32> probabilities;

    WideGraph(Ops tf, int channels, long seed) {
        this.channels = channels;
        input = tf.withName("input").placeholder(TFloat32.class,
                Placeholder.shape(Shape.of(-1, SIDE, SIDE, DEPTH)));
        wideWeights = heNormal(tf, "wide_w", new long[] {1, 1, DEPTH, channels}, DEPTH, seed, 1);
        wideBias = constant(tf, "wide_b", channels, WIDE_BIAS);
        logitsWeights = heNormal(tf, "logits_w", new long[] {channels, CLASSES}, channels, seed, 2);
        logitsBias = constant(tf, "logits_b", CLASSES, 0f);
        wide = tf.withName(TAP).nn.relu(tf.nn.biasAdd(
                tf.nn.conv2d(input, wideWeights, List.of(1L, 1L, 1L, 1L), "VALID"), wideBias));
        Operand<TInt32> spatial = tf.constant(new int[] {1, 2});
        channelMax = tf.withName(CHANNEL_MAX).max(wide, spatial);
        channelMean = tf.withName(CHANNEL_MEAN).math.mean(wide, spatial);
        // the global average pool over 7x7 is the channel mean itself: one op serves the tap and the classifier
        logits = tf.withName("logits").nn.biasAdd(tf.linalg.matMul(channelMean, logitsWeights), logitsBias);
        probabilities = tf.withName("probabilities").nn.softmax(logits);
    }

    /** He-scaled truncated normal, seeded per parameter so that a build is repeatable. */
    private static Variable<TFloat32> heNormal(Ops tf, String name, long[] shape, long fanIn, long seed, int i) {
        Ops init = tf.withInitScope();
        Operand<TFloat32> value = init.math.mul(init.random.statelessTruncatedNormal(init.constant(shape),
                init.constant(new long[] {seed, i}), TFloat32.class), init.constant((float) Math.sqrt(2.0 / fanIn)));
        return tf.withName(name).variable(value);
    }

    private static Variable<TFloat32> constant(Ops tf, String name, int size, float value) {
        Ops init = tf.withInitScope();
        return tf.withName(name).variable(init.fill(init.constant(new long[] {size}), init.constant(value)));
    }
}
