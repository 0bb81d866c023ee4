package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.LayerNull;
import ai.neuraldivergence.domain.LayerNullTable;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.domain.SampledMeanKsNull;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Sealed references' layer nulls (V20): which are due, a claim on one while an aggregator computes it, the computed
 * table, and the reads of the comparison service. A claim lapses after its lease, so that a replica that dies while
 * computing leaves the work to another; only the holder of a claim's token may store its result, so that a
 * computation that outlived its claim (or its reference, deleted and made again under the same name) writes nothing.
 *
 * <p>Two statistics have a null per tap: the layer statistic's ({@link #MMD2}), whose row carries the claim, and the
 * mean KS's ({@link #MEAN_KS}), stored beside it under the same claim and in the same transaction. Each has its own
 * construction ({@link LayerNullTable#CONSTRUCTION}, {@link SampledMeanKsNull#CONSTRUCTION}): a tap is due while
 * either is missing or of another, and only that one is computed again, so that a new mean KS's null leaves the layer
 * nulls stored before alone (a reference frozen from hours past their retention could not compute its layer null
 * again).
 */
public final class LayerNullStore {

    /** The layer statistic's null (V20): its row carries the claim, and its computation is what makes a tap due. */
    static final String MMD2 = "mmd2";
    /**
     * The tap's mean KS's null, resampled from the sample's neuron values (V23): stored with the layer statistic's, in
     * the columns V20 made for it. Its quantiles are per bucket [bucket, 5 summaries], its eigenvalues empty.
     */
    static final String MEAN_KS = "mean_ks";
    /** The slice whose nulls are stored: another slice's is resampled when asked (comparison's LayerNulls). */
    static final String ALL = "all";
    /** The summary kept per grid point and bucket: quantiles at 0.5, 0.9, 0.99, 0.999 and mean + 3 standard errors. */
    private static final int SUMMARY = 5;

    private final DataSource dataSource;

    public LayerNullStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** A tap of a sealed reference. */
    public record Key(String modelId, String modelVersion, String reference, String tap) {
    }

    /**
     * A tap's mean KS's null as stored: the sampled members with neuron values it was resampled from, and per
     * effective-size bucket (16, 32 ...) the {@link ResampledNull#summaryLength} summaries of
     * {@link ResampledNull#quantiles}; no bucket when the sample was too small to resample (the analytic bound
     * answers for good).
     */
    public record MeanKs(int sampleSize, SortedMap<Integer, double[]> buckets) {
    }

    /**
     * A tap of a sealed reference whose null is due, and where its sample lives: the reference's own (tagged), or the
     * hours {@code [sourceFrom, sourceTo)} of slice {@code sourceSlice} it was frozen from (all null for a tagged one).
     */
    public record Due(Key key, Instant sourceFrom, Instant sourceTo, String sourceSlice) {
    }

    /**
     * Sealed references' taps without both nulls stored of today's constructions: calibrating. Bound by
     * {@link #bindCalibrating}.
     */
    private static final String CALIBRATING = "FROM reference r JOIN tap t ON t.model_id = r.model_id AND "
            + "t.model_version = r.model_version LEFT JOIN layer_null n ON n.model_id = r.model_id AND "
            + "n.model_version = r.model_version AND n.reference = r.name AND n.tap = t.tap AND n.slice = ? AND "
            + "n.statistic = ? LEFT JOIN layer_null k ON k.model_id = r.model_id AND k.model_version = "
            + "r.model_version AND k.reference = r.name AND k.tap = t.tap AND k.slice = ? AND k.statistic = ? "
            + "WHERE r.sealed_at IS NOT NULL AND (n.model_id IS NULL OR n.computed_at IS NULL OR "
            + "n.construction IS DISTINCT FROM ? OR k.model_id IS NULL OR k.computed_at IS NULL OR "
            + "k.construction IS DISTINCT FROM ?)";

    /** Binds {@link #CALIBRATING}'s parameters; returns the next parameter's index. */
    private static int bindCalibrating(PreparedStatement ps) throws SQLException {
        Sql.bind(ps, ALL, MMD2, ALL, MEAN_KS, LayerNullTable.CONSTRUCTION, SampledMeanKsNull.CONSTRUCTION);
        return 7;
    }

    /**
     * Up to {@code limit} taps of sealed references with a null missing or of another construction (either statistic)
     * and not claimed now, oldest seal first.
     */
    public List<Due> due(int limit) {
        return Transactions.run(dataSource, "listing the layer nulls due", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT r.model_id, r.model_version, r.name, t.tap, "
                    + "r.source_from, r.source_to, r.source_slice " + CALIBRATING + " AND (n.claimed_until IS NULL "
                    + "OR n.claimed_until < now()) ORDER BY r.sealed_at, r.model_id, r.name, t.tap_index LIMIT ?")) {
                ps.setInt(bindCalibrating(ps), limit);
                return Sql.list(ps, rs -> new Due(new Key(rs.getString(1), rs.getString(2), rs.getString(3),
                        rs.getString(4)), instant(rs, 5), instant(rs, 6), rs.getString(7)));
            }
        });
    }

    /**
     * Taps of sealed references calibrating now, claimed or not: what stays above 0 for long says no aggregator
     * stores them.
     */
    public long calibrating() {
        return Transactions.run(dataSource, "counting the layer nulls calibrating", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT count(*) " + CALIBRATING)) {
                bindCalibrating(ps);
                return Sql.one(ps, rs -> rs.getLong(1));
            }
        });
    }

    private static Instant instant(ResultSet rs, int column) throws SQLException {
        java.sql.Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }

    /**
     * Claims a tap's due nulls for {@code lease} under {@code token}, which only this claim holds: false when both are
     * stored, it is claimed by another whose lease runs, or its reference is gone (or not sealed). The claim is held on
     * the layer null's row, whether that null or only the mean KS's is due.
     */
    public boolean claim(Key key, String token, Duration lease) {
        return Transactions.run(dataSource, "claiming the layer null of " + key, c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO layer_null (model_id, model_version, "
                    + "reference, tap, slice, statistic, claimed_until, claimed_by) SELECT model_id, model_version, "
                    + "name, ?, ?, ?, now() + make_interval(secs => ?), ? FROM reference WHERE model_id = ? AND "
                    + "model_version = ? AND name = ? AND sealed_at IS NOT NULL ON CONFLICT (model_id, model_version, "
                    + "reference, tap, slice, statistic) DO UPDATE SET claimed_until = excluded.claimed_until, "
                    + "claimed_by = excluded.claimed_by WHERE (layer_null.computed_at IS NULL OR "
                    + "layer_null.construction IS DISTINCT FROM ? OR NOT EXISTS (SELECT 1 FROM layer_null k WHERE "
                    + "k.model_id = layer_null.model_id AND k.model_version = layer_null.model_version AND "
                    + "k.reference = layer_null.reference AND k.tap = layer_null.tap AND k.slice = layer_null.slice "
                    + "AND k.statistic = ? AND k.computed_at IS NOT NULL AND k.construction = ?)) AND "
                    + "(layer_null.claimed_until IS NULL OR layer_null.claimed_until < now())")) {
                Sql.bind(ps, key.tap(), ALL, MMD2, (double) lease.toSeconds(), token, key.modelId(),
                        key.modelVersion(), key.reference(), LayerNullTable.CONSTRUCTION, MEAN_KS,
                        SampledMeanKsNull.CONSTRUCTION);
                return ps.executeUpdate() == 1;
            }
        });
    }

    /**
     * Stores a tap's nulls computed under the claim {@code token}, in one transaction: both or neither. A null
     * {@code table} keeps the layer null stored (of today's construction: false otherwise), when only the mean KS's
     * was due; a null {@code meanKs} stores none (the tap stays due for it). False, and nothing stored, when the
     * claim is not held any more: lapsed and taken by another, or its reference deleted (and perhaps made again under
     * the same name) meanwhile, or the nulls stored already.
     */
    public boolean store(Key key, String token, LayerNullTable table, MeanKs meanKs) {
        return Transactions.run(dataSource, "storing the layer null of " + key, c -> {
            if (!(table == null ? release(c, key, token) : storeTable(c, key, token, table))) {
                return false;
            }
            if (meanKs != null) {
                storeMeanKs(c, key, meanKs);
            }
            return true;
        });
    }

    /** The layer null's row updated with its table, the claim {@code token} ended: false when it was not held. */
    private static boolean storeTable(Connection c, Key key, String token, LayerNullTable table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE layer_null SET computed_at = now(), construction = ?, "
                + "sample_size = ?, quantiles = ?, eigenvalues = ?, claimed_until = NULL, claimed_by = NULL "
                + "WHERE model_id = ? AND model_version = ? AND reference = ? AND tap = ? AND slice = ? AND "
                + "statistic = ? AND claimed_by = ?")) {
            ps.setString(1, LayerNullTable.CONSTRUCTION);
            ps.setInt(2, table.sampleSize());
            ps.setArray(3, doubles(c, flatten(table.summaries())));
            ps.setArray(4, doubles(c, flatten(table.eigenvalues())));
            Sql.bindFrom(ps, 5, key.modelId(), key.modelVersion(), key.reference(), key.tap(), ALL, MMD2, token);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * The claim {@code token} ended on a layer null's row left as stored: false when the claim was not held, or the
     * stored null is not of today's construction (it was due too, and keeping it would leave it so).
     */
    private static boolean release(Connection c, Key key, String token) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE layer_null SET claimed_until = NULL, claimed_by = NULL "
                + "WHERE model_id = ? AND model_version = ? AND reference = ? AND tap = ? AND slice = ? AND "
                + "statistic = ? AND claimed_by = ? AND computed_at IS NOT NULL AND construction = ?")) {
            Sql.bind(ps, key.modelId(), key.modelVersion(), key.reference(), key.tap(), ALL, MMD2, token,
                    LayerNullTable.CONSTRUCTION);
            return ps.executeUpdate() == 1;
        }
    }

    /**
     * Upserts the mean KS's row of a tap whose layer null the caller's transaction has just stored under its claim:
     * that claim is what guards it (the row itself is never claimed), and it replaces one of an older construction.
     */
    private static void storeMeanKs(Connection c, Key key, MeanKs meanKs) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO layer_null (model_id, model_version, reference, "
                + "tap, slice, statistic, computed_at, construction, sample_size, quantiles, eigenvalues) VALUES (?, "
                + "?, ?, ?, ?, ?, now(), ?, ?, ?, ?) ON CONFLICT (model_id, model_version, reference, tap, slice, "
                + "statistic) DO UPDATE SET computed_at = excluded.computed_at, construction = excluded.construction, "
                + "sample_size = excluded.sample_size, quantiles = excluded.quantiles, eigenvalues = "
                + "excluded.eigenvalues, claimed_until = NULL, claimed_by = NULL")) {
            Sql.bind(ps, key.modelId(), key.modelVersion(), key.reference(), key.tap(), ALL, MEAN_KS,
                    SampledMeanKsNull.CONSTRUCTION, meanKs.sampleSize());
            ps.setArray(9, doubles(c, flatten(meanKs.buckets())));
            ps.setArray(10, doubles(c, new double[0]));
            ps.executeUpdate();
        }
    }

    /**
     * Gives up a claim that failed: the null is due again after {@code retryAfter}, to this aggregator or another
     * (not at once: a tap that fails every time would otherwise be tried at every check).
     */
    public void release(Key key, String token, Duration retryAfter) {
        Transactions.run(dataSource, "releasing the layer null of " + key, c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE layer_null SET claimed_until = now() + "
                    + "make_interval(secs => ?), claimed_by = NULL WHERE model_id = ? AND model_version = ? AND "
                    + "reference = ? AND tap = ? AND slice = ? AND statistic = ? AND claimed_by = ?")) {
                Sql.bind(ps, (double) retryAfter.toSeconds(), key.modelId(), key.modelVersion(), key.reference(),
                        key.tap(), ALL, MMD2, token);
                return ps.executeUpdate();
            }
        });
    }

    /**
     * A tap's stored null: empty while it is calibrating (not computed yet, of another construction, or its
     * reference not sealed).
     */
    public Optional<LayerNullTable> read(Key key) {
        return computed(key, MMD2, LayerNullTable.CONSTRUCTION, "the layer null",
                rs -> table(key, rs.getInt(1), unboxed(rs.getArray(2)), unboxed(rs.getArray(3))));
    }

    /**
     * A tap's stored mean KS's null of today's construction; empty while it is calibrating (not computed yet, of
     * another construction, or its reference not sealed). One computed without a sample of neuron values has no
     * bucket: the analytic bound answers for good.
     *
     * @throws IllegalArgumentException when the stored row is not of the shape {@link #store} writes
     */
    public Optional<MeanKs> readMeanKs(Key key) {
        return computed(key, MEAN_KS, SampledMeanKsNull.CONSTRUCTION, "the mean KS's null",
                rs -> new MeanKs(rs.getInt(1), buckets(key, unboxed(rs.getArray(2)))));
    }

    /** A tap's computed row of {@code statistic} and {@code construction}: its size, quantiles, eigenvalues. */
    private <T> Optional<T> computed(Key key, String statistic, String construction, String what, Sql.Row<T> row) {
        return Transactions.run(dataSource, "reading " + what + " of " + key, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT sample_size, quantiles, eigenvalues FROM layer_null "
                    + "WHERE model_id = ? AND model_version = ? AND reference = ? AND tap = ? AND slice = ? AND "
                    + "statistic = ? AND computed_at IS NOT NULL AND construction = ?")) {
                Sql.bind(ps, key.modelId(), key.modelVersion(), key.reference(), key.tap(), ALL, statistic,
                        construction);
                return Optional.ofNullable(Sql.first(ps, row));
            }
        });
    }

    /**
     * Per bucket, [bucket, summaries...], in ascending bucket order: the buckets resampled depend on the sample's
     * size, so each is stored with its summaries.
     */
    private static double[] flatten(SortedMap<Integer, double[]> buckets) {
        int width = 1 + ResampledNull.summaryLength();
        double[] out = new double[buckets.size() * width];
        int at = 0;
        // ascending whatever the map's own order: read back, the buckets must ascend
        for (var b : new TreeMap<>(buckets).entrySet()) {
            if (b.getValue().length != width - 1) {
                throw new IllegalArgumentException("bucket " + b.getKey() + " holds " + b.getValue().length
                        + " summaries, not " + (width - 1));
            }
            out[at] = b.getKey();
            System.arraycopy(b.getValue(), 0, out, at + 1, width - 1);
            at += width;
        }
        return out;
    }

    /** {@link #flatten(SortedMap)} read back: buckets strictly ascending powers of two from the smallest resampled. */
    private static SortedMap<Integer, double[]> buckets(Key key, double[] flat) {
        int width = 1 + ResampledNull.summaryLength();
        if (flat.length % width != 0) {
            throw new IllegalArgumentException("the stored mean KS's null of " + key + " holds " + flat.length
                    + " values, not a multiple of " + width);
        }
        SortedMap<Integer, double[]> out = new TreeMap<>();
        int previous = 0;
        for (int at = 0; at < flat.length; at += width) {
            double b = flat[at];
            if (b != Math.rint(b) || b < ResampledNull.SMALLEST_BUCKET || b > Integer.MAX_VALUE
                    || Integer.bitCount((int) b) != 1 || b <= previous) {
                throw new IllegalArgumentException("the stored mean KS's null of " + key + " has bucket " + b
                        + " after " + previous + ": not an ascending power of two from "
                        + ResampledNull.SMALLEST_BUCKET);
            }
            previous = (int) b;
            double[] summaries = java.util.Arrays.copyOfRange(flat, at + 1, at + width);
            for (double q : summaries) {
                // a KS quantile lies in [0, 1]: anything else would set a threshold no window can reach, or one below 0
                if (!(q >= 0 && q <= 1)) {
                    throw new IllegalArgumentException("the stored mean KS's null of " + key + " has summary " + q
                            + " at bucket " + previous + ": not in [0, 1]");
                }
            }
            out.put(previous, summaries);
        }
        return out;
    }

    private static LayerNullTable table(Key key, int sampleSize, double[] quantiles, double[] eigenvalues) {
        int buckets = LayerNull.buckets().length;
        int perGrid = buckets * SUMMARY;
        if (quantiles.length % perGrid != 0) {
            throw new IllegalArgumentException("the stored layer null of " + key + " holds " + quantiles.length
                    + " quantiles, not a multiple of " + perGrid);
        }
        int grid = quantiles.length / perGrid;
        if (grid == 0 ? eigenvalues.length != 0 : eigenvalues.length % grid != 0) {
            throw new IllegalArgumentException("the stored layer null of " + key + " holds " + eigenvalues.length
                    + " eigenvalues for " + grid + " grid points");
        }
        double[][][] summaries = new double[grid][buckets][];
        double[][] spectra = new double[grid][];
        int dims = grid == 0 ? 0 : eigenvalues.length / grid;
        for (int g = 0; g < grid; g++) {
            for (int b = 0; b < buckets; b++) {
                int from = (g * buckets + b) * SUMMARY;
                summaries[g][b] = java.util.Arrays.copyOfRange(quantiles, from, from + SUMMARY);
            }
            spectra[g] = java.util.Arrays.copyOfRange(eigenvalues, g * dims, (g + 1) * dims);
        }
        return LayerNullTable.of(sampleSize, summaries, spectra);
    }

    private static double[] flatten(double[][][] values) {
        return java.util.Arrays.stream(values).flatMap(java.util.Arrays::stream)
                .flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    private static double[] flatten(double[][] values) {
        return java.util.Arrays.stream(values).flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    private static Array doubles(Connection c, double[] values) throws SQLException {
        Double[] boxed = new Double[values.length];
        for (int i = 0; i < values.length; i++) {
            boxed[i] = values[i];
        }
        return c.createArrayOf("float8", boxed);
    }

    private static double[] unboxed(Array array) throws SQLException {
        if (array == null) {
            return new double[0];
        }
        Object[] values = (Object[]) array.getArray();
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = ((Number) values[i]).doubleValue();
        }
        return out;
    }
}
