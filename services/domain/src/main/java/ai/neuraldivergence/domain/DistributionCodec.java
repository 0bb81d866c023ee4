package ai.neuraldivergence.domain;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.datasketches.kll.KllFloatsSketch;
import org.apache.datasketches.memory.Memory;

/**
 * The one place that turns a {@link TapDistribution} into bytes and back (stored as {@code bytea}). DataSketches'
 * serialization API changes between major versions; keeping it here means an upgrade touches one class.
 *
 * <p>Layout, little-endian: magic {@code "NDT"}, format version byte, observation count (long), neuron count (int),
 * then per neuron: count (long), sum (double), sum of squares (double), min (float), max (float), zero count (long),
 * sketch length (int) and the sketch's own bytes.
 */
public final class DistributionCodec {

    private static final byte[] MAGIC = {'N', 'D', 'T'};
    private static final byte VERSION = 1;
    private static final int NEURON_HEADER_BYTES = 8 + 8 + 8 + 4 + 4 + 8 + 4;

    private DistributionCodec() {
    }

    public static byte[] encode(TapDistribution tap) {
        byte[][] sketches = new byte[tap.neuronCount()][];
        int size = MAGIC.length + 1 + 8 + 4;
        for (int i = 0; i < sketches.length; i++) {
            sketches[i] = tap.neuron(i).sketch().toByteArray();
            size += NEURON_HEADER_BYTES + sketches[i].length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put(VERSION).putLong(tap.observationCount()).putInt(sketches.length);
        for (int i = 0; i < sketches.length; i++) {
            NeuronDistribution n = tap.neuron(i);
            out.putLong(n.count()).putDouble(n.sum()).putDouble(n.sumOfSquares()).putFloat(n.min()).putFloat(n.max())
                    .putLong(n.zeroCount()).putInt(sketches[i].length).put(sketches[i]);
        }
        return out.array();
    }

    /** Decodes bytes written by {@link #encode}; throws {@link IllegalArgumentException} on anything else. */
    public static TapDistribution decode(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (byte b : MAGIC) {
                if (in.get() != b) {
                    throw new IllegalArgumentException("not a tap distribution (bad magic)");
                }
            }
            byte version = in.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("unsupported tap distribution format version " + version);
            }
            long observations = in.getLong();
            int neuronCount = in.getInt();
            if (neuronCount <= 0 || neuronCount > in.remaining() / NEURON_HEADER_BYTES) {
                throw new IllegalArgumentException("corrupt tap distribution: neuron count " + neuronCount);
            }
            NeuronDistribution[] neurons = new NeuronDistribution[neuronCount];
            for (int i = 0; i < neuronCount; i++) {
                long count = in.getLong();
                double sum = in.getDouble();
                double sumOfSquares = in.getDouble();
                float min = in.getFloat();
                float max = in.getFloat();
                long zeros = in.getLong();
                int length = in.getInt();
                if (length < 0 || length > in.remaining()) {
                    throw new IllegalArgumentException("corrupt tap distribution: sketch length " + length);
                }
                byte[] sketchBytes = new byte[length];
                in.get(sketchBytes);
                KllFloatsSketch sketch = KllFloatsSketch.heapify(Memory.wrap(sketchBytes));
                neurons[i] = new NeuronDistribution(sketch, count, sum, sumOfSquares, min, max, zeros);
            }
            if (in.hasRemaining()) {
                throw new IllegalArgumentException("corrupt tap distribution: " + in.remaining() + " trailing bytes");
            }
            return new TapDistribution(neurons, observations);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("corrupt tap distribution: truncated", e);
        }
    }
}
