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
 *
 * <p>Block 0 of a tap stored in several blocks holds a part of each observation, which no feature map can take: its
 * rows come with each observation's projections on the layer statistic's directions, computed where the whole
 * observation was ({@link RandomFeatureMap#projection}), and its feature sums follow from those. A row may lack them
 * (a late label's row, joined from the recent store): a slice holding such a row has no sums, the others keep theirs.
 * Encoded as version 3: version 2, then the map's neuron count (int, the whole tap's) and per row a byte (1: its D
 * projections follow, float32).
 */
public final class SlicedRows {

    private static final byte VERSION = 2;
    /** The first byte of rows that carry their observations' projections: what a store can tell them by. */
    public static final byte PROJECTED_VERSION = 3;
    private static final int HEADER_BYTES = 1 + 4 + 4 + 4;

    private final int neuronCount;
    private final List<Slice> slices;
    private final List<float[]> rows;
    /** Per row, the indices into {@link #slices} it belongs to (bit {@code i} of byte {@code i / 8}). */
    private final List<byte[]> membership;
    /**
     * Per row, its observation's projections (D floats; a null entry for a row without them), or null when the rows
     * are whole observations.
     */
    private final List<float[]> projections;
    /** The neurons of the map the projections went through (the whole tap's); 0 without projections. */
    private final int mapNeurons;

    private SlicedRows(int neuronCount, List<Slice> slices, List<float[]> rows, List<byte[]> membership) {
        this(neuronCount, slices, rows, membership, null, 0);
    }

    private SlicedRows(int neuronCount, List<Slice> slices, List<float[]> rows, List<byte[]> membership,
            List<float[]> projections, int mapNeurons) {
        this.neuronCount = neuronCount;
        this.slices = slices;
        this.rows = rows;
        this.membership = membership;
        this.projections = projections;
        this.mapNeurons = mapNeurons;
    }

    /**
     * The neurons of the map these rows' feature sums go through: the rows' own, or the whole tap's where they
     * carry their observations' projections.
     */
    public int featureNeurons() {
        return projections == null ? neuronCount : mapNeurons;
    }

    /** Whether the rows carry their observations' projections (block 0 of a tap stored in several blocks). */
    public boolean projected() {
        return projections != null;
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
        return featureSums(map, slices.size(), (row, slice) -> in(membership.get(row), slice));
    }

    /** One slice's sums through {@code map} ({@link #featureSums}, for a reader of one slice); null as there. */
    public FeatureSums featureSumsOf(Slice slice, RandomFeatureMap map) {
        int index = slices.indexOf(slice);
        return featureSums(map, 1, (row, group) -> index >= 0 && in(membership.get(row), index))[0];
    }

    private FeatureSums[] featureSums(RandomFeatureMap map, int groups, ChunkedFeatureSums.Membership membership) {
        if (map.neurons() != featureNeurons()) {
            throw new IllegalArgumentException("a map of " + map.neurons() + " neurons for rows of "
                    + featureNeurons());
        }
        if (projections == null) {
            return ChunkedFeatureSums.sum(map, rows, false, groups, membership);
        }
        // a row without projections enters no sums, and leaves the groups it is in without any
        boolean[] incomplete = new boolean[groups];
        List<float[]> given = new ArrayList<>(rows.size());
        float[] none = new float[RandomFeatureMap.DIRECTIONS];
        for (int r = 0; r < rows.size(); r++) {
            float[] p = projections.get(r);
            given.add(p == null ? none : p);
            for (int g = 0; p == null && g < groups; g++) {
                incomplete[g] |= membership.in(r, g);
            }
        }
        FeatureSums[] out = ChunkedFeatureSums.sum(map, given, true, groups,
                (row, group) -> !incomplete[group] && membership.in(row, group));
        for (int g = 0; g < groups; g++) {
            if (incomplete[g]) {
                out[g] = null;
            }
        }
        return out;
    }

    private static boolean in(byte[] bits, int index) {
        return (bits[index >> 3] & (1 << (index & 7))) != 0;
    }

    /** The encoded size of {@code rows} rows of {@code neuronCount} values in {@code slices} slices. */
    public static long encodedBytes(int neuronCount, int rows, int slices) {
        return HEADER_BYTES + (long) rows * ((slices + 7) / 8 + 4L * neuronCount);
    }

    public long encodedBytes() {
        long bytes = encodedBytes(neuronCount, rows.size(), slices.size());
        if (projections != null) {
            bytes += 4 + rows.size();
            for (float[] p : projections) {
                bytes += p == null ? 0 : 4L * RandomFeatureMap.DIRECTIONS;
            }
        }
        return bytes;
    }

    /**
     * The heap the decoded rows hold, estimated: each row is an array of its own (and its membership and projection
     * too), with a header and padding, so a narrow tap's rows hold several times their encoded bytes. What a cache of
     * decoded rows must count (it counted the encoded bytes: 2 to 10 times under for taps of 1 to 10 neurons).
     */
    public long heapBytes() {
        long bytes = 64 + 8L * slices.size() + 16L * 3;
        for (float[] r : rows) {
            bytes += 8 + array(4L * r.length);
        }
        for (byte[] m : membership) {
            bytes += 8 + array(m.length);
        }
        if (projections != null) {
            for (float[] p : projections) {
                bytes += 8 + (p == null ? 0 : array(4L * p.length));
            }
        }
        return bytes;
    }

    /** An array's heap: a 16-byte header and its data, padded to 8 bytes. */
    private static long array(long dataBytes) {
        return (16 + dataBytes + 7) / 8 * 8;
    }

    public byte[] encode() {
        long size = encodedBytes();
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(rows.size() + " rows of " + neuronCount + " values do not fit a row");
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(projections == null ? VERSION : PROJECTED_VERSION).putInt(neuronCount).putInt(rows.size())
                .putInt(slices.size());
        membership.forEach(out::put);
        RawRows.putRows(out, rows);
        if (projections != null) {
            out.putInt(mapNeurons);
            for (float[] p : projections) {
                out.put((byte) (p == null ? 0 : 1));
                if (p != null) {
                    RawRows.putRows(out, List.of(p));
                }
            }
        }
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
        boolean projected = bytes.length > 0 && bytes[0] == PROJECTED_VERSION;
        ByteBuffer in = RawRows.open(bytes, HEADER_BYTES, projected ? PROJECTED_VERSION : VERSION, "sliced rows");
        int neurons = in.getInt();
        int count = in.getInt();
        int sliceCount = in.getInt();
        long rowBytes = encodedBytes(neurons, count, sliceCount);
        if (neurons <= 0 || count < 0 || sliceCount != slices.size()
                || (projected ? rowBytes + 4 + count > bytes.length : rowBytes != bytes.length)) {
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
        List<float[]> rows = RawRows.getRows(in, neurons, count);
        if (!projected) {
            return new SlicedRows(neurons, List.copyOf(slices), rows, membership);
        }
        int mapNeurons = in.getInt();
        if (mapNeurons <= neurons || mapNeurons > DistributionCodec.MAX_MAP_NEURONS) {
            throw new DistributionCodec.CorruptDistributionException("projections through a map of " + mapNeurons
                    + " neurons beside rows of " + neurons + " (block 0 of a wider tap)");
        }
        List<float[]> projections = new ArrayList<>(count);
        for (int r = 0; r < count; r++) {
            if (!in.hasRemaining()) {
                throw new DistributionCodec.CorruptDistributionException("projections of " + r + " of " + count
                        + " rows in " + bytes.length + " bytes");
            }
            byte flag = in.get();
            if (flag == 0) {
                projections.add(null);
            } else if (flag == 1 && in.remaining() >= 4 * RandomFeatureMap.DIRECTIONS) {
                projections.add(RawRows.getRows(in, RandomFeatureMap.DIRECTIONS, 1).get(0));
            } else {
                throw new DistributionCodec.CorruptDistributionException("projections of row " + r + ": flag "
                        + flag + ", " + in.remaining() + " bytes left");
            }
        }
        if (in.hasRemaining()) {
            throw new DistributionCodec.CorruptDistributionException(in.remaining() + " bytes after the projections");
        }
        return new SlicedRows(neurons, List.copyOf(slices), rows, membership,
                java.util.Collections.unmodifiableList(projections), mapNeurons);
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
        private final int mapNeurons;
        // per row its projections where the rows are block 0 of a wider tap; each slice of such a minute brings them
        private final List<float[]> projections;

        public Builder(int neuronCount) {
            this(neuronCount, 0);
        }

        /**
         * Rows of block 0 of a tap of {@code mapNeurons} neurons stored in several blocks, each added with its
         * observation's projections (0: rows of whole observations, without projections).
         */
        public Builder(int neuronCount, int mapNeurons) {
            if (neuronCount <= 0) {
                throw new IllegalArgumentException("neuron count must be > 0, got " + neuronCount);
            }
            if (mapNeurons != 0 && mapNeurons <= neuronCount) {
                throw new IllegalArgumentException("projections through a map of " + mapNeurons + " neurons for "
                        + "rows of " + neuronCount + ": only a wider tap's block 0 carries them");
            }
            this.neuronCount = neuronCount;
            this.mapNeurons = mapNeurons;
            this.projections = mapNeurons == 0 ? null : new ArrayList<>();
        }

        /** Adds a slice's rows (not copied). */
        public Builder add(Slice slice, List<float[]> sliceRows) {
            return add(slice, sliceRows, null);
        }

        /**
         * Adds a slice's rows (not copied) with their observations' projections, in row order (a null entry: a
         * row without them, which leaves the slices it is in without sums): given exactly when the builder was made
         * for projections.
         */
        public Builder add(Slice slice, List<float[]> sliceRows, List<float[]> sliceProjections) {
            if ((projections == null) != (sliceProjections == null)
                    || (sliceProjections != null && sliceProjections.size() != sliceRows.size())) {
                throw new IllegalArgumentException("rows of block 0 of a wide tap come with one projection each, "
                        + "and only they do");
            }
            int s = sliceIndex.computeIfAbsent(slice, k -> sliceIndex.size());
            for (int i = 0; i < sliceRows.size(); i++) {
                float[] row = sliceRows.get(i);
                if (row.length != neuronCount) {
                    throw new IllegalArgumentException("a row of " + row.length + " values for " + neuronCount
                            + " neurons");
                }
                float[] projection = sliceProjections == null ? null : sliceProjections.get(i);
                if (projection != null && projection.length != RandomFeatureMap.DIRECTIONS) {
                    throw new IllegalArgumentException("row " + i + " has " + projection.length
                            + " projections, not " + RandomFeatureMap.DIRECTIONS);
                }
                int r = rowIndex.computeIfAbsent(row, k -> {
                    rows.add(k);
                    members.add(new long[1]);
                    if (projections != null) {
                        projections.add(projection);
                    }
                    return rows.size() - 1;
                });
                if (projection != null && projections.get(r) == null) {
                    // the same observation added first by a slice that had no projections for it
                    projections.set(r, projection);
                }
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
            return new SlicedRows(neuronCount, List.copyOf(sliceIndex.keySet()), List.copyOf(rows), membership,
                    projections == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(projections)),
                    mapNeurons);
        }
    }
}
