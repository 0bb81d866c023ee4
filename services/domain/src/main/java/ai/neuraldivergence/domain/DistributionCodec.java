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
 * and from version 2 a flags byte whose bit 0 says the NaN, +Inf and -Inf counts (three longs) follow, then sketch
 * length (int) and the sketch's own bytes (version 2: length 0 when the neuron saw no finite value). Version 1
 * rows, written before non-finite values were counted, decode with zero non-finite counts.
 */
public final class DistributionCodec {

    private static final byte[] MAGIC = {'N', 'D', 'T'};
    private static final byte VERSION = 2;
    private static final byte FIRST_VERSION = 1;
    private static final int HEADER_BYTES = MAGIC.length + 1 + 8 + 4;
    private static final int NEURON_HEADER_BYTES_V1 = 8 + 8 + 8 + 4 + 4 + 8 + 4;
    private static final int NEURON_HEADER_BYTES = NEURON_HEADER_BYTES_V1 + 1;
    private static final int NON_FINITE_BYTES = 3 * 8;
    private static final byte HAS_NON_FINITE = 1;

    private DistributionCodec() {
    }

    public static byte[] encode(TapDistribution tap) {
        byte[][] sketches = new byte[tap.neuronCount()][];
        int size = HEADER_BYTES;
        for (int i = 0; i < sketches.length; i++) {
            NeuronDistribution n = tap.neuron(i);
            sketches[i] = n.sketch() == null ? new byte[0] : n.sketch().toByteArray();
            size += NEURON_HEADER_BYTES + sketches[i].length + (n.nonFiniteCount() > 0 ? NON_FINITE_BYTES : 0);
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put(VERSION).putLong(tap.observationCount()).putInt(sketches.length);
        for (int i = 0; i < sketches.length; i++) {
            NeuronDistribution n = tap.neuron(i);
            out.putLong(n.count()).putDouble(n.sum()).putDouble(n.sumOfSquares()).putFloat(n.min()).putFloat(n.max())
                    .putLong(n.zeroCount());
            if (n.nonFiniteCount() > 0) {
                out.put(HAS_NON_FINITE).putLong(n.nanCount()).putLong(n.positiveInfinityCount())
                        .putLong(n.negativeInfinityCount());
            } else {
                out.put((byte) 0);
            }
            out.putInt(sketches[i].length).put(sketches[i]);
        }
        return out.array();
    }

    /**
     * Decodes bytes written by {@link #encode} (either version); throws {@link CorruptDistributionException} on
     * anything else.
     */
    public static TapDistribution decode(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (byte b : MAGIC) {
                if (in.get() != b) {
                    throw new CorruptDistributionException("not a tap distribution (bad magic)");
                }
            }
            byte version = in.get();
            if (version != VERSION && version != FIRST_VERSION) {
                throw new CorruptDistributionException("unsupported tap distribution format version " + version);
            }
            long observations = in.getLong();
            int neuronCount = in.getInt();
            int neuronHeader = version == FIRST_VERSION ? NEURON_HEADER_BYTES_V1 : NEURON_HEADER_BYTES;
            if (neuronCount <= 0 || neuronCount > in.remaining() / neuronHeader) {
                throw new CorruptDistributionException("corrupt tap distribution: neuron count " + neuronCount);
            }
            NeuronDistribution[] neurons = new NeuronDistribution[neuronCount];
            int k = NeuronDistribution.DEFAULT_K;
            for (int i = 0; i < neuronCount; i++) {
                long count = in.getLong();
                double sum = in.getDouble();
                double sumOfSquares = in.getDouble();
                float min = in.getFloat();
                float max = in.getFloat();
                long zeros = in.getLong();
                long nan = 0;
                long positiveInfinity = 0;
                long negativeInfinity = 0;
                if (version != FIRST_VERSION && (in.get() & HAS_NON_FINITE) != 0) {
                    nan = in.getLong();
                    positiveInfinity = in.getLong();
                    negativeInfinity = in.getLong();
                }
                int length = in.getInt();
                if (length < 0 || length > in.remaining()) {
                    throw new CorruptDistributionException("corrupt tap distribution: sketch length " + length);
                }
                KllFloatsSketch sketch = null;
                if (length > 0) {
                    byte[] sketchBytes = new byte[length];
                    in.get(sketchBytes);
                    sketch = KllFloatsSketch.heapify(Memory.wrap(sketchBytes));
                    k = sketch.getK();
                }
                neurons[i] = new NeuronDistribution(k, sketch, count, sum, sumOfSquares, min, max, zeros, nan,
                        positiveInfinity, negativeInfinity);
            }
            if (in.hasRemaining()) {
                throw new CorruptDistributionException("corrupt tap distribution: " + in.remaining()
                        + " trailing bytes");
            }
            return new TapDistribution(neurons, observations);
        } catch (BufferUnderflowException e) {
            throw new CorruptDistributionException("corrupt tap distribution: truncated", e);
        } catch (RuntimeException e) {
            if (e instanceof CorruptDistributionException) {
                throw e;
            }
            // DataSketches refuses malformed sketch bytes with its own exceptions
            throw new CorruptDistributionException("corrupt tap distribution: " + e.getMessage(), e);
        }
    }

    /**
     * Stored bytes that are not a tap distribution. A store's fault, never the data's: the aggregator retries and
     * alerts rather than dead-lettering what it was merging.
     */
    public static final class CorruptDistributionException extends IllegalArgumentException {
        public CorruptDistributionException(String message) {
            super(message);
        }

        public CorruptDistributionException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
