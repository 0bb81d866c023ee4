package ai.neuraldivergence.domain;

import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One tap's observations of one minute as they arrived, each stored once with the slices it belongs to: what a
 * flush appends as a minute's delta. An observation enters several slices (all, its predicted class, its label, its
 * tags: 3.7 on average in the wide-model benchmark); storing its values once per slice multiplied what PostgreSQL
 * wrote by as much. A slice's rows are derived when a delta is folded or read.
 *
 * <p>Encoded (version 2) as a version byte, the neuron, row and slice counts, then per row a membership bit set of
 * {@code ceil(slices / 8)} bytes (bit {@code i}: the row is in {@code slices.get(i)}), then the values row by row,
 * float32 little-endian. The slices themselves are stored beside the bytes (a {@code text[]} column, which SQL can
 * filter and count on), in the same order. Version 1 bytes ({@link RawRows}, one slice per delta) decode as rows all
 * in the one slice stored beside them.
 */
public final class SlicedRows {

    private static final byte VERSION = 2;
    private static final int HEADER_BYTES = 1 + 4 + 4 + 4;

    private final int neuronCount;
    private final List<Slice> slices;
    private final List<float[]> rows;
    /** Per row, the indices into {@link #slices} it belongs to (bit {@code i} of byte {@code i / 8}). */
    private final List<byte[]> membership;

    private SlicedRows(int neuronCount, List<Slice> slices, List<float[]> rows, List<byte[]> membership) {
        this.neuronCount = neuronCount;
        this.slices = slices;
        this.rows = rows;
        this.membership = membership;
    }

    public int neuronCount() {
        return neuronCount;
    }

    /** The slices any row belongs to, in the order their bits and the stored {@code slices} column use. */
    public List<Slice> slices() {
        return slices;
    }

    /** Observations held (each once, whatever the number of slices it is in). */
    public int observationCount() {
        return rows.size();
    }

    /** How many rows each slice holds, in the order of {@link #slices()}. */
    public int[] sliceCounts() {
        int[] counts = new int[slices.size()];
        for (byte[] bits : membership) {
            for (int i = 0; i < counts.length; i++) {
                if (in(bits, i)) {
                    counts[i]++;
                }
            }
        }
        return counts;
    }

    /** The rows in one slice (shared, not copied); empty when none is. */
    public RawRows rowsOf(Slice slice) {
        int index = slices.indexOf(slice);
        List<float[]> out = new ArrayList<>();
        if (index >= 0) {
            for (int r = 0; r < rows.size(); r++) {
                if (in(membership.get(r), index)) {
                    out.add(rows.get(r));
                }
            }
        }
        return new RawRows(neuronCount, out);
    }

    /** Every slice's rows, in the order of {@link #slices()}. */
    public Map<Slice, RawRows> bySlice() {
        Map<Slice, RawRows> out = new LinkedHashMap<>();
        for (Slice s : slices) {
            out.put(s, rowsOf(s));
        }
        return out;
    }

    /**
     * Each slice's layer feature sums through {@code map}, in the order of {@link #slices()}: every observation
     * projected once, whatever the number of slices it is in (a slice's own projection of its rows would cost a
     * projection per slice: 3.7 per observation in the wide-model benchmark), in parallel chunks
     * ({@link ChunkedFeatureSums}).
     */
    public FeatureSums[] featureSums(RandomFeatureMap map) {
        if (map.neurons() != neuronCount) {
            throw new IllegalArgumentException("a map of " + map.neurons() + " neurons for rows of " + neuronCount);
        }
        return ChunkedFeatureSums.sum(map, rows, slices.size(), (row, slice) -> in(membership.get(row), slice));
    }

    private static boolean in(byte[] bits, int index) {
        return (bits[index >> 3] & (1 << (index & 7))) != 0;
    }

    /** The encoded size of {@code rows} rows of {@code neuronCount} values in {@code slices} slices. */
    public static long encodedBytes(int neuronCount, int rows, int slices) {
        return HEADER_BYTES + (long) rows * ((slices + 7) / 8 + 4L * neuronCount);
    }

    public long encodedBytes() {
        return encodedBytes(neuronCount, rows.size(), slices.size());
    }

    public byte[] encode() {
        long size = encodedBytes();
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(rows.size() + " rows of " + neuronCount + " values do not fit a row");
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(VERSION).putInt(neuronCount).putInt(rows.size()).putInt(slices.size());
        membership.forEach(out::put);
        RawRows.putRows(out, rows);
        return out.array();
    }

    /**
     * Decodes what {@link #encode} (or {@link RawRows#encode}, one slice) wrote, given the slices stored beside it.
     *
     * @throws DistributionCodec.CorruptDistributionException when the bytes are not such rows, or do not match the
     *     slices (the store's fault)
     */
    public static SlicedRows decode(byte[] bytes, List<Slice> slices) {
        if (new java.util.HashSet<>(slices).size() != slices.size()) {
            // a slice's rows are read by its first index, its feature sums added at every index: never both
            throw new DistributionCodec.CorruptDistributionException("sliced rows stored with a slice twice: "
                    + slices);
        }
        if (bytes.length > 0 && bytes[0] == 1) {
            if (slices.size() != 1) {
                throw new DistributionCodec.CorruptDistributionException("raw rows of one slice stored with "
                        + slices.size() + " slices");
            }
            RawRows raw = RawRows.decode(bytes);
            byte[] one = {1};
            List<byte[]> membership = new ArrayList<>(raw.rows().size());
            raw.rows().forEach(r -> membership.add(one));
            return new SlicedRows(raw.neuronCount(), List.copyOf(slices), raw.rows(), membership);
        }
        ByteBuffer in = RawRows.open(bytes, HEADER_BYTES, VERSION, "sliced rows");
        int neurons = in.getInt();
        int count = in.getInt();
        int sliceCount = in.getInt();
        if (neurons <= 0 || count < 0 || sliceCount != slices.size()
                || encodedBytes(neurons, count, sliceCount) != bytes.length) {
            throw new DistributionCodec.CorruptDistributionException("sliced rows of " + count + " x " + neurons
                    + " values in " + sliceCount + " slices (" + slices.size() + " stored) in " + bytes.length
                    + " bytes");
        }
        int width = (sliceCount + 7) / 8;
        List<byte[]> membership = new ArrayList<>(count);
        for (int r = 0; r < count; r++) {
            byte[] bits = new byte[width];
            in.get(bits);
            membership.add(bits);
        }
        return new SlicedRows(neurons, List.copyOf(slices), RawRows.getRows(in, neurons, count), membership);
    }

    /**
     * Collects one tap minute's rows slice by slice as a flush holds them, where one observation's values are one
     * array shared by every slice it entered: an array met again is the same row, in one more slice.
     */
    public static final class Builder {
        private final int neuronCount;
        private final Map<Slice, Integer> sliceIndex = new LinkedHashMap<>();
        private final IdentityHashMap<float[], Integer> rowIndex = new IdentityHashMap<>();
        private final List<float[]> rows = new ArrayList<>();
        private final List<long[]> members = new ArrayList<>();

        public Builder(int neuronCount) {
            if (neuronCount <= 0) {
                throw new IllegalArgumentException("neuron count must be > 0, got " + neuronCount);
            }
            this.neuronCount = neuronCount;
        }

        /** Adds a slice's rows (not copied). */
        public Builder add(Slice slice, List<float[]> sliceRows) {
            int s = sliceIndex.computeIfAbsent(slice, k -> sliceIndex.size());
            for (float[] row : sliceRows) {
                if (row.length != neuronCount) {
                    throw new IllegalArgumentException("a row of " + row.length + " values for " + neuronCount
                            + " neurons");
                }
                int r = rowIndex.computeIfAbsent(row, k -> {
                    rows.add(k);
                    members.add(new long[1]);
                    return rows.size() - 1;
                });
                long[] bits = members.get(r);
                if (s >> 6 >= bits.length) {
                    bits = java.util.Arrays.copyOf(bits, (s >> 6) + 1);
                    members.set(r, bits);
                }
                bits[s >> 6] |= 1L << (s & 63);
            }
            return this;
        }

        public boolean isEmpty() {
            return rows.isEmpty();
        }

        public SlicedRows build() {
            int width = (sliceIndex.size() + 7) / 8;
            List<byte[]> membership = new ArrayList<>(rows.size());
            for (long[] bits : members) {
                byte[] out = new byte[width];
                for (int i = 0; i < width; i++) {
                    int word = i >> 3;
                    out[i] = word < bits.length ? (byte) (bits[word] >>> ((i & 7) * 8)) : 0;
                }
                membership.add(out);
            }
            return new SlicedRows(neuronCount, List.copyOf(sliceIndex.keySet()), List.copyOf(rows), membership);
        }
    }
}
