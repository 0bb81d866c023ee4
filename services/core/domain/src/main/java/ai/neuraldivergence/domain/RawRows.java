package ai.neuraldivergence.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Observations of one tap as they arrived: rows of float32 activations, stored as a window's delta until it is
 * folded into the window's sketches. Raw values rather than a sketch: a flush holds a few rows per window, and a
 * sketch of k = 200 floats per neuron would be larger than the values it summarizes (and would be rewritten at every
 * merge). Encoded as a version byte, the neuron and row counts, then the values row by row, little-endian.
 *
 * <p>Also a {@link TapDelta}: the rows go straight into a stored distribution's sketches.
 */
public final class RawRows implements TapDelta {

    private static final byte VERSION = 1;
    private static final int HEADER_BYTES = 1 + 4 + 4;

    private final int neuronCount;
    private final List<float[]> rows;

    /** Rows of {@code neuronCount} values each (not copied). */
    public RawRows(int neuronCount, List<float[]> rows) {
        if (neuronCount <= 0) {
            throw new IllegalArgumentException("neuron count must be > 0, got " + neuronCount);
        }
        for (float[] row : rows) {
            if (row.length != neuronCount) {
                throw new IllegalArgumentException("a row of " + row.length + " values for " + neuronCount
                        + " neurons");
            }
        }
        this.neuronCount = neuronCount;
        this.rows = rows;
    }

    public List<float[]> rows() {
        return rows;
    }

    @Override
    public int neuronCount() {
        return neuronCount;
    }

    @Override
    public long observationCount() {
        return rows.size();
    }

    @Override
    public void addTo(TapDistribution target) {
        target.addAll(rows);
    }

    @Override
    public TapDistribution toDistribution(int sketchK) {
        TapDistribution d = new TapDistribution(neuronCount, sketchK);
        if (rows.size() > sketchK) {
            d.startSketches();
        }
        d.addAll(rows);
        return d;
    }

    /** The encoded size of {@code rows} rows of {@code neuronCount} values. */
    public static long encodedBytes(int neuronCount, int rows) {
        return HEADER_BYTES + 4L * neuronCount * rows;
    }

    public static byte[] encode(int neuronCount, List<float[]> rows) {
        long size = encodedBytes(neuronCount, rows.size());
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException(rows.size() + " rows of " + neuronCount + " values do not fit a row");
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.put(VERSION).putInt(neuronCount).putInt(rows.size());
        for (float[] row : rows) {
            if (row.length != neuronCount) {
                throw new IllegalArgumentException("a row of " + row.length + " values for " + neuronCount
                        + " neurons");
            }
        }
        putRows(out, rows);
        return out.array();
    }

    /** Writes rows of float32 values, row by row, at the buffer's position (little-endian buffers). */
    static void putRows(ByteBuffer out, List<float[]> rows) {
        for (float[] row : rows) {
            out.asFloatBuffer().put(row);
            out.position(out.position() + 4 * row.length);
        }
    }

    /**
     * An encoding of rows ({@code what}), read past its version byte.
     *
     * @throws DistributionCodec.CorruptDistributionException when it is shorter than its header or of another version
     */
    static ByteBuffer open(byte[] bytes, int headerBytes, byte version, String what) {
        if (bytes.length < headerBytes || bytes[0] != version) {
            throw new DistributionCodec.CorruptDistributionException("not a " + what + " encoding (" + bytes.length
                    + " bytes" + (bytes.length > 0 ? ", version " + bytes[0] : "") + ")");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        in.get();
        return in;
    }

    /** Reads {@code count} rows of {@code neurons} float32 values from the buffer's position. */
    static List<float[]> getRows(ByteBuffer in, int neurons, int count) {
        List<float[]> rows = new ArrayList<>(count);
        for (int r = 0; r < count; r++) {
            float[] row = new float[neurons];
            in.asFloatBuffer().get(row);
            in.position(in.position() + 4 * neurons);
            rows.add(row);
        }
        return rows;
    }

    /**
     * Decodes what {@link #encode} wrote.
     *
     * @throws DistributionCodec.CorruptDistributionException when the bytes are not such rows (the store's fault)
     */
    public static RawRows decode(byte[] bytes) {
        ByteBuffer in = open(bytes, HEADER_BYTES, VERSION, "raw rows");
        int neurons = in.getInt();
        int count = in.getInt();
        if (neurons <= 0 || count < 0 || encodedBytes(neurons, count) != bytes.length) {
            throw new DistributionCodec.CorruptDistributionException("raw rows of " + count + " x " + neurons
                    + " values in " + bytes.length + " bytes");
        }
        return new RawRows(neurons, getRows(in, neurons, count));
    }
}
