package ai.neuraldivergence.modelbuilder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The classifier's graph: conv 3x3x16 - max pool - conv 3x3x32 - max pool - dense 128 - logits, ReLU throughout.
 * Every hidden layer is a named operand so that it can be exported as a tap. Built twice: with trainable variables
 * for training, and from the trained values for the inference-only export.
 */
final class CnnGraph {

    /** Taps in network order, with their output shape without the batch dimension. */
    static final Map<String, long[]> TAPS = new LinkedHashMap<>();

    static {
        TAPS.put("conv1", new long[] {28, 28, 16});
        TAPS.put("pool1", new long[] {14, 14, 16});
        TAPS.put("conv2", new long[] {14, 14, 32});
        TAPS.put("pool2", new long[] {7, 7, 32});
        TAPS.put("dense1", new long[] {128});
    }

    /** Parameter names and shapes, in the order {@link #parameters} holds them. */
    static final String[] PARAMETER_NAMES = {"conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense1_w", "dense1_b",
        "logits_w", "logits_b"};
    static final long[][] PARAMETER_SHAPES = {{3, 3, 1, 16}, {16}, {3, 3, 16, 32}, {32}, {7 * 7 * 32, 128}, {128},
        {128, 10}, {10}};

    final Placeholder<TFloat32> input;
    final List<Variable<TFloat32>> parameters = new ArrayList<>();
    final Map<String, Operand<TFloat32>> taps = new LinkedHashMap<>();
    /**
     * Each rank-4 tap reduced to one value per channel, by max and by mean, computed in the same graph run as the
     * prediction: the inference service captures these instead of reducing the maps itself.
     */
    final Map<String, Operand<TFloat32>> reducedTaps = new LinkedHashMap<>();
    final Operand<TFloat32> logits;
    final Operand<TFloat32> probabilities;

    /**
     * @param initial the parameters' initial values, or null for a seeded He initialization (training)
     */
    CnnGraph(Ops tf, float[][] initial, long seed) {
        input = tf.withName("input").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 28, 28, 1)));
        for (int i = 0; i < PARAMETER_NAMES.length; i++) {
            parameters.add(parameter(tf, i, initial == null ? null : initial[i], seed));
        }
        List<Long> stride1 = List.of(1L, 1L, 1L, 1L);
        Operand<TInt32> pool = tf.constant(new int[] {1, 2, 2, 1});
        Operand<TFloat32> conv1 = tf.withName("conv1").nn.relu(
                tf.nn.biasAdd(tf.nn.conv2d(input, parameters.get(0), stride1, "SAME"), parameters.get(1)));
        Operand<TFloat32> pool1 = tf.withName("pool1").nn.maxPool(conv1, pool, pool, "VALID");
        Operand<TFloat32> conv2 = tf.withName("conv2").nn.relu(
                tf.nn.biasAdd(tf.nn.conv2d(pool1, parameters.get(2), stride1, "SAME"), parameters.get(3)));
        Operand<TFloat32> pool2 = tf.withName("pool2").nn.maxPool(conv2, pool, pool, "VALID");
        Operand<TFloat32> flat = tf.reshape(pool2, tf.constant(new long[] {-1, 7 * 7 * 32}));
        Operand<TFloat32> dense1 = tf.withName("dense1").nn.relu(
                tf.nn.biasAdd(tf.linalg.matMul(flat, parameters.get(4)), parameters.get(5)));
        logits = tf.withName("logits").nn.biasAdd(tf.linalg.matMul(dense1, parameters.get(6)), parameters.get(7));
        probabilities = tf.withName("probabilities").nn.softmax(logits);
        taps.put("conv1", conv1);
        taps.put("pool1", pool1);
        taps.put("conv2", conv2);
        taps.put("pool2", pool2);
        taps.put("dense1", dense1);
        Operand<TInt32> spatial = tf.constant(new int[] {1, 2});
        for (Map.Entry<String, Operand<TFloat32>> tap : taps.entrySet()) {
            if (TAPS.get(tap.getKey()).length == 3) {
                reducedTaps.put(tap.getKey() + "_channel_max", tf.max(tap.getValue(), spatial));
                reducedTaps.put(tap.getKey() + "_channel_mean", tf.math.mean(tap.getValue(), spatial));
            }
        }
    }

    private static Variable<TFloat32> parameter(Ops tf, int i, float[] values, long seed) {
        long[] shape = PARAMETER_SHAPES[i];
        Ops init = tf.withInitScope();
        Operand<TFloat32> value;
        if (values != null) {
            value = init.constant(Shape.of(shape), org.tensorflow.ndarray.buffer.DataBuffers.of(values, true, false));
        } else if (shape.length == 1) {
            value = init.fill(init.constant(shape), init.constant(0f));
        } else {
            long fanIn = 1;
            for (int d = 0; d < shape.length - 1; d++) {
                fanIn *= shape[d];
            }
            // He initialization, seeded per parameter so that runs are repeatable
            value = init.math.mul(init.random.statelessTruncatedNormal(init.constant(shape),
                    init.constant(new long[] {seed, i + 1}), TFloat32.class),
                    init.constant((float) Math.sqrt(2.0 / fanIn)));
        }
        return tf.withName(PARAMETER_NAMES[i]).variable(value);
    }
}
