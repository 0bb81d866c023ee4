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
 * and per neuron:
 * <ul>
 *   <li>version 2 (written now): the sketch size k (short) after the neuron count; per neuron a flags byte, then the
 *       NaN, +Inf and -Inf counts (three longs) when bit 0 is set; then, when bit 1 is set, the neuron's finite
 *       values as they are (int n, n floats; at most k of them, its moments follow from them), else count (long),
 *       sum and sum of squares (doubles), min and max (floats), zero count (long), sketch length (int) and the
 *       sketch's own bytes. A neuron of a rarely used slice holding two values takes 13 bytes, not 50 plus a
 *       sketch.</li>
 *   <li>version 3 (written now for a distribution that sums the layer's features, {@link LayerFeatures}): version
 *       2, then the feature map's seed (long), the bandwidths (int), the summed and the non-finite observations
 *       (longs) and the sums (doubles, bandwidths x 2 x 128).</li>
 *   <li>version 4 (written now for feature sums through a map with declared neuron scales,
 *       {@link TapDescriptor#featureScales}): version 3 with the scales (one float per neuron) after the seed.</li>
 *   <li>version 5 (written now for block 0 of a tap stored in several blocks, whose sums went through a map of the
 *       whole tap, {@link TapDistribution#featureNeurons}): version 3 with, after the seed, the map's neuron count
 *       (int), a byte (1: scales follow) and the scales (one float per neuron of the map).</li>
 *   <li>version 1 (rows written before non-finite values were counted): count, sum, sum of squares, min, max, zero
 *       count, sketch length and sketch; they decode with zero non-finite counts.</li>
 * </ul>
 *
 * <p>Compressed: an encoding LZ4 shrinks by at least a tenth is stored as magic {@code "NDZ"}, a version byte, its
 * length (int) and its LZ4 block. Post-ReLU taps (sorted runs of exact zeros in their sketches) about halve; dense
 * ones barely shrink and are stored as they are, so that their reads skip the decompression. Measured with
 * deploy/benchmark-compression.sh against no compression, PostgreSQL's pglz (twice the insert p95) and deflate
 * (slower to read): LZ4 in the codec wrote the least WAL with insert p95 and read time within 10 % of uncompressed,
 * and works on a server without lz4. Rows of either form decode.
 */
public final class DistributionCodec {

    private static final byte[] MAGIC = {'N', 'D', 'T'};
    private static final byte[] COMPRESSED_MAGIC = {'N', 'D', 'Z'};
    private static final byte COMPRESSED_VERSION = 1;
    private static final int COMPRESSED_HEADER = COMPRESSED_MAGIC.length + 1 + 4;
    /** Rows smaller than this are not worth a compression attempt. */
    private static final int COMPRESS_FROM = 512;
    /** The largest row a decoder inflates: above PostgreSQL's 1 GB bytea limit, so never a real row. */
    private static final int MAX_DECOMPRESSED = 1 << 30;
    // the pure-Java implementations: no native library to extract (read-only or air-gapped file systems)
    private static final net.jpountz.lz4.LZ4Factory LZ4 = net.jpountz.lz4.LZ4Factory.fastestJavaInstance();
    private static final byte VERSION = 2;
    private static final byte FEATURES_VERSION = 3;
    private static final byte SCALED_FEATURES_VERSION = 4;
    private static final byte WIDE_FEATURES_VERSION = 5;
    /** The widest tap a map can be of (the validator's neuron limit): a wider one in a row is corruption. */
    static final int MAX_MAP_NEURONS = 262_144;
    /** More bandwidths than a stored row could mean: a larger count is corruption. */
    private static final int MAX_BANDWIDTHS = 64;
    private static final byte FIRST_VERSION = 1;
    private static final int HEADER_BYTES = MAGIC.length + 1 + 8 + 4;
    private static final int MOMENTS_BYTES = 8 + 8 + 8 + 4 + 4 + 8 + 4;
    private static final int NON_FINITE_BYTES = 3 * 8;
    private static final byte HAS_NON_FINITE = 1;
    private static final byte EXACT_VALUES = 2;

    private DistributionCodec() {
    }

    /** {@link #encodeRaw}, compressed where LZ4 saves at least a tenth. */
    public static byte[] encode(TapDistribution tap) {
        byte[] raw = encodeRaw(tap);
        if (raw.length < COMPRESS_FROM) {
            return raw;
        }
        net.jpountz.lz4.LZ4Compressor compressor = LZ4.fastCompressor();
        byte[] out = new byte[COMPRESSED_HEADER + compressor.maxCompressedLength(raw.length)];
        int n = compressor.compress(raw, 0, raw.length, out, COMPRESSED_HEADER);
        if (COMPRESSED_HEADER + n > raw.length * 9L / 10) {
            return raw;
        }
        ByteBuffer header = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        header.put(COMPRESSED_MAGIC).put(COMPRESSED_VERSION).putInt(raw.length);
        return java.util.Arrays.copyOf(out, COMPRESSED_HEADER + n);
    }

    /** The uncompressed encoding. */
    public static byte[] encodeRaw(TapDistribution tap) {
        int neurons = tap.neuronCount();
        // sizes first, so that the row is built in one buffer: a wide tap's row is tens of megabytes, and holding
        // each neuron's serialized sketch until the end would double that
        int size = HEADER_BYTES + 2;
        for (int i = 0; i < neurons; i++) {
            NeuronDistribution n = tap.neuron(i);
            float[] exact = n.exactValues();
            size += 1 + (n.nonFiniteCount() > 0 ? NON_FINITE_BYTES : 0);
            size += exact != null ? 4 + 4 * exact.length : MOMENTS_BYTES + n.sketch().getSerializedSizeBytes();
        }
        ai.neuraldivergence.domain.mmd.FeatureSums features = tap.features();
        double[] sums = features == null ? null : features.sums();
        float[] scales = features == null ? null : tap.featureScales();
        boolean wide = features != null && tap.featureNeurons() != neurons;
        if (features != null) {
            size += 8 + 4 + 8 + 8 + 8 * sums.length + (scales == null ? 0 : 4 * scales.length) + (wide ? 4 + 1 : 0);
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put(features == null ? VERSION : wide ? WIDE_FEATURES_VERSION : scales == null
                ? FEATURES_VERSION : SCALED_FEATURES_VERSION)
                .putLong(tap.observationCount()).putInt(neurons).putShort((short) tap.sketchK());
        for (int i = 0; i < neurons; i++) {
            NeuronDistribution n = tap.neuron(i);
            float[] exact = n.exactValues();
            boolean nonFinite = n.nonFiniteCount() > 0;
            out.put((byte) ((nonFinite ? HAS_NON_FINITE : 0) | (exact != null ? EXACT_VALUES : 0)));
            if (nonFinite) {
                out.putLong(n.nanCount()).putLong(n.positiveInfinityCount()).putLong(n.negativeInfinityCount());
            }
            if (exact != null) {
                out.putInt(exact.length);
                for (float v : exact) {
                    out.putFloat(v);
                }
            } else {
                byte[] sketch = n.sketch().toByteArray();
                out.putLong(n.count()).putDouble(n.sum()).putDouble(n.sumOfSquares()).putFloat(n.min())
                        .putFloat(n.max()).putLong(n.zeroCount()).putInt(sketch.length).put(sketch);
            }
        }
        if (features != null) {
            out.putLong(tap.featureSeed());
            if (wide) {
                out.putInt(tap.featureNeurons()).put((byte) (scales == null ? 0 : 1));
            }
            if (scales != null) {
                for (float v : scales) {
                    out.putFloat(v);
                }
            }
            out.putInt(features.bandwidths()).putLong(features.count())
                    .putLong(features.nonFinite());
            for (double v : sums) {
                out.putDouble(v);
            }
        }
        return out.array();
    }

    /**
     * Decodes bytes written by {@link #encode} (either version); throws {@link CorruptDistributionException} on
     * anything else.
     */
    public static TapDistribution decode(byte[] bytes) {
        if (bytes.length >= COMPRESSED_HEADER && bytes[0] == COMPRESSED_MAGIC[0] && bytes[1] == COMPRESSED_MAGIC[1]
                && bytes[2] == COMPRESSED_MAGIC[2]) {
            return decodeRaw(decompress(bytes));
        }
        return decodeRaw(bytes);
    }

    private static byte[] decompress(byte[] bytes) {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        in.position(COMPRESSED_MAGIC.length);
        byte version = in.get();
        int length = in.getInt();
        if (version != COMPRESSED_VERSION || length <= 0 || length > MAX_DECOMPRESSED) {
            throw new CorruptDistributionException("corrupt compressed tap distribution (version " + version
                    + ", length " + length + ")");
        }
        byte[] out = new byte[length];
        try {
            // the safe decompressor: a corrupt row fails here rather than reading past its end
            int written = LZ4.safeDecompressor().decompress(bytes, COMPRESSED_HEADER,
                    bytes.length - COMPRESSED_HEADER, out, 0, length);
            if (written != length) {
                throw new CorruptDistributionException("corrupt compressed tap distribution: " + written + " of "
                        + length + " bytes");
            }
        } catch (net.jpountz.lz4.LZ4Exception e) {
            throw new CorruptDistributionException("corrupt compressed tap distribution: " + e.getMessage(), e);
        }
        return out;
    }

    private static TapDistribution decodeRaw(byte[] bytes) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            for (byte b : MAGIC) {
                if (in.get() != b) {
                    throw new CorruptDistributionException("not a tap distribution (bad magic)");
                }
            }
            byte version = in.get();
            if (version != VERSION && version != FIRST_VERSION && version != FEATURES_VERSION
                    && version != SCALED_FEATURES_VERSION && version != WIDE_FEATURES_VERSION) {
                throw new CorruptDistributionException("unsupported tap distribution format version " + version);
            }
            long observations = in.getLong();
            int neuronCount = in.getInt();
            int smallestNeuron = version == FIRST_VERSION ? MOMENTS_BYTES : 1 + 4;
            if (neuronCount <= 0 || neuronCount > in.remaining() / smallestNeuron) {
                throw new CorruptDistributionException("corrupt tap distribution: neuron count " + neuronCount);
            }
            int k = version == FIRST_VERSION ? NeuronDistribution.DEFAULT_K : in.getShort() & 0xffff;
            NeuronDistribution[] neurons = new NeuronDistribution[neuronCount];
            for (int i = 0; i < neuronCount; i++) {
                neurons[i] = version == FIRST_VERSION ? momentsAndSketch(in, k, 0, 0, 0) : neuron(in, k);
                if (version == FIRST_VERSION && neurons[i].sketch() != null) {
                    k = neurons[i].sketchK();
                }
            }
            TapDistribution out = new TapDistribution(neurons, observations);
            if (version == FEATURES_VERSION || version == SCALED_FEATURES_VERSION || version == WIDE_FEATURES_VERSION) {
                long seed = in.getLong();
                int mapNeurons = neuronCount;
                boolean scaled = version == SCALED_FEATURES_VERSION;
                if (version == WIDE_FEATURES_VERSION) {
                    mapNeurons = in.getInt();
                    byte flag = in.get();
                    scaled = flag == 1;
                    if (mapNeurons <= neuronCount || mapNeurons > MAX_MAP_NEURONS || (flag != 0 && flag != 1)
                            || (scaled && mapNeurons > in.remaining() / 4)) {
                        throw new CorruptDistributionException("corrupt tap distribution: a feature map of "
                                + mapNeurons + " neurons for block 0 of " + neuronCount);
                    }
                }
                float[] scales = null;
                if (scaled) {
                    scales = new float[mapNeurons];
                    for (int i = 0; i < mapNeurons; i++) {
                        scales[i] = in.getFloat();
                    }
                    java.util.Optional<String> problem = TapDescriptor.scalesProblem(scales, mapNeurons);
                    if (problem.isPresent()) {
                        throw new CorruptDistributionException("corrupt tap distribution: " + problem.get());
                    }
                }
                int bandwidths = in.getInt();
                long summed = in.getLong();
                long nonFinite = in.getLong();
                int values = bandwidths * 2 * ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS;
                if (bandwidths < 1 || bandwidths > MAX_BANDWIDTHS || values != in.remaining() / 8 || summed < 0
                        || nonFinite < 0) {
                    throw new CorruptDistributionException("corrupt tap distribution: feature sums of " + bandwidths
                            + " bandwidths in " + in.remaining() + " bytes");
                }
                double[] sums = new double[values];
                for (int i = 0; i < values; i++) {
                    sums[i] = in.getDouble();
                }
                out.restoreFeatures(seed, mapNeurons, scales,
                        ai.neuraldivergence.domain.mmd.FeatureSums.of(summed, nonFinite, sums));
            }
            if (in.hasRemaining()) {
                throw new CorruptDistributionException("corrupt tap distribution: " + in.remaining()
                        + " trailing bytes");
            }
            return out;
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

    private static NeuronDistribution neuron(ByteBuffer in, int k) {
        byte flags = in.get();
        long nan = 0;
        long positiveInfinity = 0;
        long negativeInfinity = 0;
        if ((flags & HAS_NON_FINITE) != 0) {
            nan = in.getLong();
            positiveInfinity = in.getLong();
            negativeInfinity = in.getLong();
        }
        if ((flags & EXACT_VALUES) == 0) {
            return momentsAndSketch(in, k, nan, positiveInfinity, negativeInfinity);
        }
        int n = in.getInt();
        if (n < 0 || n > k || n > in.remaining() / 4) {
            throw new CorruptDistributionException("corrupt tap distribution: " + n + " exact values");
        }
        float[] values = new float[n];
        for (int j = 0; j < n; j++) {
            values[j] = in.getFloat();
        }
        return NeuronDistribution.ofExact(k, values, nan, positiveInfinity, negativeInfinity);
    }

    private static NeuronDistribution momentsAndSketch(ByteBuffer in, int k, long nan, long positiveInfinity,
            long negativeInfinity) {
        long count = in.getLong();
        double sum = in.getDouble();
        double sumOfSquares = in.getDouble();
        float min = in.getFloat();
        float max = in.getFloat();
        long zeros = in.getLong();
        int length = in.getInt();
        if (length < 0 || length > in.remaining()) {
            throw new CorruptDistributionException("corrupt tap distribution: sketch length " + length);
        }
        KllFloatsSketch sketch = null;
        int sketchK = k;
        if (length > 0) {
            byte[] sketchBytes = new byte[length];
            in.get(sketchBytes);
            sketch = KllFloatsSketch.heapify(Memory.wrap(sketchBytes));
            sketchK = sketch.getK();
        }
        return new NeuronDistribution(sketchK, sketch, count, sum, sumOfSquares, min, max, zeros, nan,
                positiveInfinity, negativeInfinity);
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
