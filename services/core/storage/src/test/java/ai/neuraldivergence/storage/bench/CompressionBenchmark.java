package ai.neuraldivergence.storage.bench;

import ai.neuraldivergence.domain.DistributionCodec;
import ai.neuraldivergence.domain.TapDistribution;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.ToLongFunction;
import java.util.stream.IntStream;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * How should stored distributions be compressed (issue 15)? Writes the same rows through each option into its own
 * scratch table {@code (id bigserial primary key, window_start timestamptz, payload bytea)} of a fresh database and
 * measures what each costs:
 * <ul>
 *   <li>options: {@code STORAGE EXTERNAL} (no compression, today's {@code tap_window.distributions}),
 *       {@code STORAGE EXTENDED} with {@code COMPRESSION pglz}, with {@code COMPRESSION lz4} where the server has it,
 *       and compression in the codec (java.util.zip deflate at BEST_SPEED; LZ4 from lz4-java) on an EXTERNAL
 *       column;</li>
 *   <li>payloads: sketch rows ({@link DistributionCodec#encode} of a tap of 2,000 neurons, k = 200: 24 hour rows of
 *       72,000 observations and 60 minute rows of 1,200, i.e. 24 h of one tap at 20 observations/s) and raw delta rows
 *       (float32 little-endian, 10 observations x 2,000 neurons, a 4-byte row count in front);</li>
 *   <li>activations: post-ReLU (about half exactly 0, the rest a half-normal of a per-neuron scale) and dense (a
 *       normal of a per-neuron mean and spread, no zeros).</li>
 * </ul>
 * Per option: bytes stored (pg_total_relation_size), WAL written (insert-LSN difference around each flush, summed),
 * flush latency p50/p95 (codec compression + INSERT + COMMIT, each row its own committed transaction, as a flush
 * is; the codec's encode is left out, being the same for all), CPU time of the codec step, and the time to read the
 * rows back in window order, decompress and decode them (the median of {@value #READ_REPEATS} reads, three times as
 * many for the quick raw rows; the first also checks every row's bytes, untimed). Options are interleaved row by
 * row, so that a checkpoint or a busy disk falls on all of them alike, after {@value #WARMUP_ROUNDS} untimed rounds
 * into tables of their own. Then applies the rule: the option with the least WAL whose flush p95 and read
 * time stay within 10 % of uncompressed (a WAL saving under 1 % counts as none), the default being one that works
 * without lz4; see {@link #recommend}.
 *
 * <pre>CompressionBenchmark [--embedded] [--jdbc-url URL [--user USER] [--password PASSWORD] [--label TEXT]]...
 *                      [--neurons N] [--samples FILE.csv]</pre>
 *
 * Measures each server named, in order, on the same generated rows. {@code --embedded} (the default when none is
 * named) starts an embedded PostgreSQL (the tests' zonky binaries, pglz only) with durable commits ({@code fsync=on},
 * {@code synchronous_commit=on}, unlike the tests' server). On a server named by URL it creates and drops a database
 * of its own, so the user needs CREATEDB. {@code --samples} writes every flush and read timing as CSV. Run it with
 * deploy/benchmark-compression.sh.
 */
public final class CompressionBenchmark {

    static final int SKETCH_K = 200;
    static final int OBSERVATIONS_PER_MINUTE = 1_200; // one minute at 20 observations/s
    static final int HOUR_ROWS = 24;
    static final int MINUTE_ROWS = 60;
    /** Distinct minute payloads per activation kind, cycled over the minute rows (each row compresses alone). */
    static final int DISTINCT_MINUTES = 6;
    static final int RAW_OBSERVATIONS_PER_ROW = 10;
    static final int RAW_ROWS = 240;
    static final int READ_REPEATS = 3;
    /** Untimed rounds of flushes (one row per option) before the timed ones. */
    static final int WARMUP_ROUNDS = 4;
    static final double TOLERANCE = 1.10;

    /** Compression done in the codec, before the bytes reach PostgreSQL. */
    interface Codec {
        byte[] compress(byte[] bytes);

        byte[] decompress(byte[] bytes);
    }

    static final Codec IDENTITY = new Codec() {
        @Override
        public byte[] compress(byte[] bytes) {
            return bytes;
        }

        @Override
        public byte[] decompress(byte[] bytes) {
            return bytes;
        }
    };

    /** zlib (deflate, level 1) behind the original length as a little-endian int. */
    static final class DeflateCodec implements Codec {
        private final Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        private final Inflater inflater = new Inflater();

        @Override
        public byte[] compress(byte[] bytes) {
            deflater.reset();
            deflater.setInput(bytes);
            deflater.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 2 + 64);
            out.writeBytes(lengthPrefix(bytes.length));
            byte[] buffer = new byte[64 * 1024];
            while (!deflater.finished()) {
                out.write(buffer, 0, deflater.deflate(buffer));
            }
            return out.toByteArray();
        }

        @Override
        public byte[] decompress(byte[] bytes) {
            byte[] out = new byte[originalLength(bytes)];
            inflater.reset();
            inflater.setInput(bytes, 4, bytes.length - 4);
            try {
                int n = 0;
                while (n < out.length && !inflater.finished()) {
                    n += inflater.inflate(out, n, out.length - n);
                }
                if (n != out.length) {
                    throw new IllegalStateException("inflated " + n + " of " + out.length + " bytes");
                }
            } catch (DataFormatException e) {
                throw new IllegalStateException(e);
            }
            return out;
        }
    }

    /** LZ4 block format (lz4-java, the fastest implementation it finds) behind the original length. */
    static final class Lz4Codec implements Codec {
        private final LZ4Compressor compressor = LZ4Factory.fastestInstance().fastCompressor();
        private final LZ4SafeDecompressor decompressor = LZ4Factory.fastestInstance().safeDecompressor();

        @Override
        public byte[] compress(byte[] bytes) {
            byte[] out = new byte[4 + compressor.maxCompressedLength(bytes.length)];
            System.arraycopy(lengthPrefix(bytes.length), 0, out, 0, 4);
            int n = compressor.compress(bytes, 0, bytes.length, out, 4, out.length - 4);
            return Arrays.copyOf(out, 4 + n);
        }

        @Override
        public byte[] decompress(byte[] bytes) {
            byte[] out = new byte[originalLength(bytes)];
            int n = decompressor.decompress(bytes, 4, bytes.length - 4, out, 0, out.length);
            if (n != out.length) {
                throw new IllegalStateException("decompressed " + n + " of " + out.length + " bytes");
            }
            return out;
        }
    }

    static byte[] lengthPrefix(int length) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(length).array();
    }

    static int originalLength(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 0, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    enum Option {
        NONE("none", "EXTERNAL", null, false, false),
        PGLZ("pglz", "EXTENDED", "pglz", false, false),
        LZ4("lz4", "EXTENDED", "lz4", false, true),
        DEFLATE("deflate", "EXTERNAL", null, true, false),
        LZ4_CODEC("lz4codec", "EXTERNAL", null, true, false);

        final String table;
        final String storage;
        final String serverCompression;
        final boolean inCodec;
        final boolean needsServerLz4;

        Option(String table, String storage, String serverCompression, boolean inCodec, boolean needsServerLz4) {
            this.table = table;
            this.storage = storage;
            this.serverCompression = serverCompression;
            this.inCodec = inCodec;
            this.needsServerLz4 = needsServerLz4;
        }

        String label() {
            return switch (this) {
                case NONE -> "none: STORAGE EXTERNAL";
                case PGLZ -> "server pglz: EXTENDED";
                case LZ4 -> "server lz4: EXTENDED";
                case DEFLATE -> "codec deflate-1, EXTERNAL";
                case LZ4_CODEC -> "codec lz4 (lz4-java), EXTERNAL";
            };
        }

        Codec newCodec() {
            return switch (this) {
                case DEFLATE -> new DeflateCodec();
                case LZ4_CODEC -> new Lz4Codec();
                default -> IDENTITY;
            };
        }
    }

    enum Activation {
        POST_RELU("post-ReLU", "relu"),
        DENSE("dense", "dense");

        final String label;
        final String table;

        Activation(String label, String table) {
            this.label = label;
            this.table = table;
        }
    }

    enum Payload {
        SKETCH("sketch"),
        RAW("raw");

        final String label;

        Payload(String label) {
            this.label = label;
        }
    }

    /** One row to store: its window and its uncompressed bytes. */
    record Row(Instant windowStart, byte[] bytes) {
    }

    /** What one option cost on one workload. */
    static final class Result {
        final Option option;
        long logicalBytes;
        long relationBytes;
        long valueBytes;
        long walBytes;
        long codecCpuNanos;
        final List<Long> flushNanos = new ArrayList<>();
        final List<Long> readNanos = new ArrayList<>();

        Result(Option option) {
            this.option = option;
        }

        double flushP(double q) {
            return percentile(flushNanos, q) / 1e6;
        }

        double readMillis() {
            return percentile(readNanos, 0.5) / 1e6;
        }
    }

    /** A payload kind on one activation kind: its rows, how a row is decoded, and how many observations they hold. */
    record Workload(Payload payload, Activation activation, List<Row> rows, ToLongFunction<byte[]> decoder,
            long observations) {
        String name() {
            return payload.label + " " + activation.label;
        }
    }

    /** What each option cost on one workload, on one server. */
    record Measured(Workload workload, Map<Option, Result> results) {
    }

    /** A server to measure: a JDBC URL (null: an embedded PostgreSQL started here), login and a name for the report. */
    record Target(String url, String user, String password, String label) {
    }

    static final String USAGE = "usage: CompressionBenchmark [--embedded] [--jdbc-url URL [--user USER] "
            + "[--password PASSWORD] [--label TEXT]]... [--neurons N] [--samples FILE.csv]";

    /** Every flush and read timing, for a closer look, when --samples names a file. */
    static PrintWriter samples;

    public static void main(String[] args) throws Exception {
        List<Target> targets = new ArrayList<>();
        int neurons = 2_000;
        String samplesFile = null;
        for (int i = 0; i < args.length; i++) {
            Target last = targets.isEmpty() ? null : targets.get(targets.size() - 1);
            switch (args[i]) {
                case "--embedded" -> targets.add(new Target(null, "postgres", "postgres", "embedded (zonky)"));
                case "--jdbc-url" -> targets.add(new Target(args[++i], "postgres", "", args[i]));
                case "--user", "--password", "--label" -> {
                    if (last == null || last.url == null) {
                        throw new IllegalArgumentException(args[i] + " belongs after --jdbc-url; " + USAGE);
                    }
                    String value = args[++i];
                    targets.set(targets.size() - 1, switch (args[i - 1]) {
                        case "--user" -> new Target(last.url, value, last.password, last.label);
                        case "--password" -> new Target(last.url, last.user, value, last.label);
                        default -> new Target(last.url, last.user, last.password, value);
                    });
                }
                case "--neurons" -> neurons = Integer.parseInt(args[++i]);
                case "--samples" -> samplesFile = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + "; " + USAGE);
            }
        }
        if (targets.isEmpty()) {
            targets.add(new Target(null, "postgres", "postgres", "embedded (zonky)"));
        }
        if (samplesFile != null) {
            samples = new PrintWriter(Files.newBufferedWriter(Path.of(samplesFile)));
            samples.println("server,rows,option,what,index,window,nanos,wal_bytes,epoch_ms");
        }
        long started = System.nanoTime();
        System.out.printf(Locale.ROOT, "workload: %d neurons; sketch rows: k=%d, %d hour rows (%,d obs) + %d minute "
                + "rows (%,d obs); raw rows: %d x %d observations, float32 LE%n", neurons, SKETCH_K, HOUR_ROWS,
                60 * OBSERVATIONS_PER_MINUTE, MINUTE_ROWS, OBSERVATIONS_PER_MINUTE, RAW_ROWS,
                RAW_OBSERVATIONS_PER_ROW);
        System.out.printf("client: %d cores, Java %s, max heap %d MB%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), Runtime.getRuntime().maxMemory() >> 20);
        // generated once for every server: the hour rows' 72,000 observations take seconds
        List<Workload> workloads = new ArrayList<>();
        for (Activation a : Activation.values()) {
            long t0 = System.nanoTime();
            workloads.add(new Workload(Payload.SKETCH, a, sketchRows(a, neurons),
                    b -> DistributionCodec.decode(b).observationCount(),
                    (long) HOUR_ROWS * 60 * OBSERVATIONS_PER_MINUTE + (long) MINUTE_ROWS * OBSERVATIONS_PER_MINUTE));
            workloads.add(new Workload(Payload.RAW, a, rawRows(a, neurons), CompressionBenchmark::rawRowCount,
                    (long) RAW_ROWS * RAW_OBSERVATIONS_PER_ROW));
            System.out.printf(Locale.ROOT, "generated %s rows (%.1f MB sketch, %.1f MB raw) in %.1f s%n", a.label,
                    logicalBytes(workloads.get(workloads.size() - 2).rows) / 1e6,
                    logicalBytes(workloads.get(workloads.size() - 1).rows) / 1e6, (System.nanoTime() - t0) / 1e9);
        }
        try {
            for (Target target : targets) {
                System.out.println();
                if (target.url != null) {
                    run(target, workloads);
                    continue;
                }
                long t0 = System.nanoTime();
                // durable commits, as a production server has them: zonky starts PostgreSQL with fsync and
                // synchronous_commit off (a later -c overrides its -F)
                try (EmbeddedPostgres postgres = EmbeddedPostgres.builder().setServerConfig("fsync", "on")
                        .setServerConfig("synchronous_commit", "on").start()) {
                    System.out.printf(Locale.ROOT, "embedded PostgreSQL started in %d ms%n",
                            (System.nanoTime() - t0) / 1_000_000);
                    run(new Target("jdbc:postgresql://localhost:" + postgres.getPort() + "/postgres", target.user,
                            target.password, target.label), workloads);
                }
            }
        } finally {
            if (samples != null) {
                samples.close();
            }
        }
        System.out.printf(Locale.ROOT, "%ntotal %.0f s%n", (System.nanoTime() - started) / 1e9);
    }

    static void run(Target target, List<Workload> workloads) throws Exception {
        long started = System.nanoTime();
        PGSimpleDataSource admin = dataSource(target.url, target.user, target.password, null);
        String database = "nd_compression_bench_" + ProcessHandle.current().pid();
        try (Connection c = admin.getConnection(); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + database);
            s.execute("CREATE DATABASE " + database);
        }
        try (Connection c = dataSource(target.url, target.user, target.password, database).getConnection()) {
            printServer(c, target.label);
            boolean lz4 = serverHasLz4(c);
            List<Option> options = new ArrayList<>();
            for (Option o : Option.values()) {
                if (!o.needsServerLz4 || lz4) {
                    options.add(o);
                }
            }
            System.out.printf("server lz4 (SET COMPRESSION lz4): %s%n", lz4 ? "available"
                    : "not available on this server");
            List<Measured> measured = new ArrayList<>();
            for (Workload w : workloads) {
                long t0 = System.nanoTime();
                measured.add(new Measured(w, measure(c, target.label, w, options)));
                System.out.printf(Locale.ROOT, "measured %s in %.1f s%n", w.name(), (System.nanoTime() - t0) / 1e9);
            }
            printTable(measured, options);
            printRatios(measured, options);
            recommend(measured, options, lz4);
        } finally {
            try (Connection c = admin.getConnection(); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + database);
            }
        }
        System.out.printf(Locale.ROOT, "%s: %.0f s%n", target.label, (System.nanoTime() - started) / 1e9);
    }

    static PGSimpleDataSource dataSource(String url, String user, String password, String database) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(url);
        if (database != null) {
            ds.setDatabaseName(database);
        }
        ds.setUser(user);
        ds.setPassword(password);
        // bytea in binary from the first execution, as the aggregator's repeated statements get it after five
        ds.setPrepareThreshold(-1);
        return ds;
    }

    static void printServer(Connection c, String label) throws SQLException {
        StringBuilder settings = new StringBuilder();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name, setting, unit "
                + "FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', "
                + "'wal_compression', 'shared_buffers', 'max_wal_size', 'default_toast_compression') ORDER BY name")) {
            while (rs.next()) {
                settings.append(' ').append(rs.getString(1)).append('=').append(rs.getString(2));
                if (rs.getString(3) != null) {
                    settings.append(" (").append(rs.getString(3)).append(')');
                }
            }
        }
        System.out.printf("server: %s, %s%n  %s%n", label, c.getMetaData().getDatabaseProductVersion(),
                settings.toString().trim());
    }

    /** Whether this server stores values with lz4: asking for it is the only reliable test. */
    static boolean serverHasLz4(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE lz4_probe (payload bytea)");
            try {
                s.execute("ALTER TABLE lz4_probe ALTER COLUMN payload SET COMPRESSION lz4");
                return true;
            } catch (SQLException e) {
                System.out.println("  SET COMPRESSION lz4 refused: " + e.getMessage().lines().findFirst().orElse(""));
                return false;
            } finally {
                s.execute("DROP TABLE lz4_probe");
            }
        }
    }

    // ---- rows ----

    /** Per-neuron parameters of one activation kind, and observations drawn from them. */
    static final class Activations {
        final Activation kind;
        final float[] location;
        final float[] scale;
        final long seed;

        Activations(Activation kind, int neurons, long seed) {
            this.kind = kind;
            this.seed = seed;
            SplittableRandom r = new SplittableRandom(seed);
            location = new float[neurons];
            scale = new float[neurons];
            for (int j = 0; j < neurons; j++) {
                if (kind == Activation.POST_RELU) {
                    // a pre-activation bias near 0: about half the values are cut to exactly 0
                    location[j] = (float) (0.25 * r.nextGaussian());
                    scale[j] = (float) Math.exp(0.5 * r.nextGaussian());
                } else {
                    location[j] = (float) r.nextGaussian();
                    scale[j] = (float) Math.exp(0.5 * r.nextGaussian());
                }
            }
        }

        /** Observation number {@code index} (deterministic in the seed and index, so rows fill in parallel). */
        void fill(float[] row, long index) {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
            for (int j = 0; j < row.length; j++) {
                double z = r.nextGaussian();
                row[j] = kind == Activation.POST_RELU ? (float) (scale[j] * Math.max(0, z + location[j]))
                        : (float) (location[j] + scale[j] * z);
            }
        }

        List<float[]> observations(int count, long firstIndex) {
            float[][] rows = new float[count][location.length];
            IntStream.range(0, count).parallel().forEach(i -> fill(rows[i], firstIndex + i));
            return Arrays.asList(rows);
        }
    }

    static List<Row> sketchRows(Activation kind, int neurons) {
        Activations source = new Activations(kind, neurons, kind.ordinal() + 1);
        long next = 0;
        // one hour row of 72,000 observations, stored for each of the 24 hours: every row is compressed on its
        // own, so 24 copies cost what 24 different hours would
        TapDistribution hour = new TapDistribution(neurons, SKETCH_K);
        for (int m = 0; m < 60; m++) {
            hour.addAll(source.observations(OBSERVATIONS_PER_MINUTE, next));
            next += OBSERVATIONS_PER_MINUTE;
        }
        byte[] hourBytes = DistributionCodec.encode(hour);
        byte[][] minutes = new byte[DISTINCT_MINUTES][];
        for (int m = 0; m < DISTINCT_MINUTES; m++) {
            TapDistribution minute = new TapDistribution(neurons, SKETCH_K);
            minute.addAll(source.observations(OBSERVATIONS_PER_MINUTE, next));
            next += OBSERVATIONS_PER_MINUTE;
            minutes[m] = DistributionCodec.encode(minute);
        }
        Instant now = Instant.parse("2026-12-01T00:00:00Z");
        List<Row> rows = new ArrayList<>();
        for (int h = HOUR_ROWS; h >= 1; h--) {
            rows.add(new Row(now.minus(h, ChronoUnit.HOURS), hourBytes));
        }
        for (int m = MINUTE_ROWS; m >= 1; m--) {
            rows.add(new Row(now.minus(m, ChronoUnit.MINUTES), minutes[m % DISTINCT_MINUTES]));
        }
        return rows;
    }

    static List<Row> rawRows(Activation kind, int neurons) {
        Activations source = new Activations(kind, neurons, 100 + kind.ordinal());
        Instant start = Instant.parse("2026-12-01T00:00:00Z");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < RAW_ROWS; i++) {
            List<float[]> observations = source.observations(RAW_OBSERVATIONS_PER_ROW,
                    (long) i * RAW_OBSERVATIONS_PER_ROW);
            ByteBuffer b = ByteBuffer.allocate(4 + 4 * RAW_OBSERVATIONS_PER_ROW * neurons)
                    .order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(RAW_OBSERVATIONS_PER_ROW);
            for (float[] o : observations) {
                for (float v : o) {
                    b.putFloat(v);
                }
            }
            // 20 observations/s: a row of 10 every half second
            rows.add(new Row(start.plusMillis(500L * i), b.array()));
        }
        return rows;
    }

    /** Decodes a raw row into observations x neurons; returns the number of observations. */
    static long rawRowCount(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int count = b.getInt();
        int neurons = (bytes.length - 4) / 4 / count;
        float[][] rows = new float[count][neurons];
        for (float[] row : rows) {
            b.asFloatBuffer().get(row);
            b.position(b.position() + 4 * neurons);
        }
        return rows.length;
    }

    static long logicalBytes(List<Row> rows) {
        return rows.stream().mapToLong(r -> r.bytes.length).sum();
    }

    // ---- measuring ----

    static Map<Option, Result> measure(Connection c, String server, Workload w, List<Option> options)
            throws SQLException {
        String prefix = w.payload.label + "_" + w.activation.table + "_";
        Map<Option, Result> results = new EnumMap<>(Option.class);
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
            for (Option o : options) {
                for (String table : List.of(prefix + o.table, "warmup_" + prefix + o.table)) {
                    s.execute("CREATE TABLE " + table
                            + " (id bigserial PRIMARY KEY, window_start timestamptz NOT NULL, payload bytea NOT NULL)");
                    s.execute("ALTER TABLE " + table + " ALTER COLUMN payload SET STORAGE " + o.storage);
                    if (o.serverCompression != null) {
                        s.execute("ALTER TABLE " + table + " ALTER COLUMN payload SET COMPRESSION "
                                + o.serverCompression);
                    }
                }
                results.put(o, new Result(o));
            }
            // start every workload from a clean checkpoint: a checkpoint inside it adds full-page images
            s.execute("CHECKPOINT");
        }
        Map<Option, Codec> codecs = new EnumMap<>(Option.class);
        Map<Option, PreparedStatement> inserts = new EnumMap<>(Option.class);
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        try (PreparedStatement lsn = c.prepareStatement("SELECT pg_current_wal_insert_lsn()::text")) {
            for (Option o : options) {
                codecs.put(o, o.newCodec());
            }
            c.setAutoCommit(false);
            // untimed warm-up rounds into tables of their own: the first flushes after the checkpoint are several
            // times slower than the rest for every option alike (new WAL files, the JIT), and would otherwise be the
            // p95 of every option
            for (Option o : options) {
                inserts.put(o, c.prepareStatement("INSERT INTO warmup_" + prefix + o.table
                        + " (window_start, payload) VALUES (?, ?)"));
            }
            for (int i = 0; i < Math.min(WARMUP_ROUNDS, w.rows.size()); i++) {
                for (Option o : options) {
                    PreparedStatement insert = inserts.get(o);
                    insert.setTimestamp(1, Timestamp.from(w.rows.get(i).windowStart));
                    insert.setBytes(2, codecs.get(o).compress(w.rows.get(i).bytes));
                    insert.executeUpdate();
                    c.commit();
                }
            }
            for (PreparedStatement p : inserts.values()) {
                p.close();
            }
            for (Option o : options) {
                inserts.put(o, c.prepareStatement("INSERT INTO " + prefix + o.table
                        + " (window_start, payload) VALUES (?, ?)"));
            }
            List<Row> rows = w.rows;
            for (int i = 0; i < rows.size(); i++) {
                Row row = rows.get(i);
                for (int j = 0; j < options.size(); j++) {
                    // rotate the order, so that no option always follows the same one
                    Option o = options.get((i + j) % options.size());
                    Result r = results.get(o);
                    String before = walPosition(lsn, c);
                    long t0 = System.nanoTime();
                    long cpu0 = cpu.getCurrentThreadCpuTime();
                    byte[] stored = codecs.get(o).compress(row.bytes);
                    r.codecCpuNanos += cpu.getCurrentThreadCpuTime() - cpu0;
                    PreparedStatement insert = inserts.get(o);
                    insert.setTimestamp(1, Timestamp.from(row.windowStart));
                    insert.setBytes(2, stored);
                    insert.executeUpdate();
                    c.commit();
                    long nanos = System.nanoTime() - t0;
                    long wal = walDifference(c, before);
                    r.flushNanos.add(nanos);
                    r.logicalBytes += row.bytes.length;
                    r.walBytes += wal;
                    sample(server, w, o, "flush", i, window(w, i), nanos, wal);
                }
            }
        } finally {
            for (PreparedStatement p : inserts.values()) {
                p.close();
            }
            c.setAutoCommit(true);
        }
        try (Statement s = c.createStatement()) {
            for (Option o : options) {
                Result r = results.get(o);
                try (ResultSet rs = s.executeQuery("SELECT pg_total_relation_size('" + prefix + o.table
                        + "'), (SELECT sum(pg_column_size(payload)) FROM " + prefix + o.table + ")")) {
                    rs.next();
                    r.relationBytes = rs.getLong(1);
                    r.valueBytes = rs.getLong(2);
                }
            }
        }
        // a day of raw rows reads in tens of milliseconds: more reads for a steady median
        int reads = w.payload == Payload.RAW ? 3 * READ_REPEATS : READ_REPEATS;
        for (int rep = 0; rep < reads; rep++) {
            for (int j = 0; j < options.size(); j++) {
                Option o = options.get((rep + j) % options.size());
                long[] nanos = new long[1];
                // the first read also checks every row's bytes (untimed)
                long decoded = read(c, prefix + o.table, codecs.get(o), w.decoder, rep == 0 ? w.rows : null, nanos);
                results.get(o).readNanos.add(nanos[0]);
                sample(server, w, o, "read", rep, "all", nanos[0], 0);
                if (decoded != w.observations) {
                    throw new IllegalStateException(o + " read back " + decoded + " observations, wrote "
                            + w.observations);
                }
            }
        }
        try (Statement s = c.createStatement()) {
            for (Option o : options) {
                s.execute("DROP TABLE " + prefix + o.table + ", warmup_" + prefix + o.table);
            }
        }
        return results;
    }

    static String window(Workload w, int row) {
        return w.payload == Payload.RAW ? "raw" : row < HOUR_ROWS ? "hour" : "minute";
    }

    static void sample(String server, Workload w, Option o, String what, int index, String window, long nanos,
            long wal) {
        if (samples != null) {
            samples.printf(Locale.ROOT, "\"%s\",%s,%s,%s,%d,%s,%d,%d,%d%n", server.replace("\"", "'"), w.name(),
                    o.table, what, index, window, nanos, wal, System.currentTimeMillis());
        }
    }

    static String walPosition(PreparedStatement lsn, Connection c) throws SQLException {
        try (ResultSet rs = lsn.executeQuery()) {
            rs.next();
            String position = rs.getString(1);
            c.commit();
            return position;
        }
    }

    static long walDifference(Connection c, String before) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(
                "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), ?::pg_lsn)::bigint")) {
            p.setString(1, before);
            try (ResultSet rs = p.executeQuery()) {
                rs.next();
                long diff = rs.getLong(1);
                c.commit();
                return diff;
            }
        }
    }

    /**
     * Reads the table in window order, as a day of one tap is read, and decodes each row; returns the observations
     * decoded. With {@code written}, also checks that every row gives back exactly the bytes written, and leaves the
     * time that takes out of {@code nanos[0]}, the read's time.
     */
    static long read(Connection c, String table, Codec codec, ToLongFunction<byte[]> decoder, List<Row> written,
            long[] nanos) throws SQLException {
        long t0 = System.nanoTime();
        long checking = 0;
        c.setAutoCommit(false);
        long observations = 0;
        int i = 0;
        // ties (the last hour and the first minute start together) in the order written
        try (PreparedStatement p = c.prepareStatement("SELECT payload FROM " + table + " ORDER BY window_start, id")) {
            // a few rows at a time: a day of sketch rows is hundreds of megabytes
            p.setFetchSize(8);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    byte[] bytes = codec.decompress(rs.getBytes(1));
                    if (written != null) {
                        long t1 = System.nanoTime();
                        if (i >= written.size() || !Arrays.equals(bytes, written.get(i).bytes)) {
                            throw new IllegalStateException(table + ": row " + i + " reads back other bytes");
                        }
                        checking += System.nanoTime() - t1;
                    }
                    i++;
                    observations += decoder.applyAsLong(bytes);
                }
            }
        } finally {
            c.commit();
            c.setAutoCommit(true);
        }
        if (written != null && i != written.size()) {
            throw new IllegalStateException(table + ": " + i + " rows, wrote " + written.size());
        }
        nanos[0] = System.nanoTime() - t0 - checking;
        return observations;
    }

    static double percentile(List<Long> values, double q) {
        long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
        // nearest rank
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    // ---- reporting ----

    static void printTable(List<Measured> workloads, List<Option> options) {
        System.out.println();
        String header = String.format(Locale.ROOT, "%-16s %-31s %9s %9s %6s %9s %6s %8s %8s %6s %8s %9s %6s %s",
                "rows", "option", "logical", "stored", "ratio", "WAL", "WAL", "flush", "flush", "p95", "codec",
                "read", "read", "within");
        String units = String.format(Locale.ROOT, "%-16s %-31s %9s %9s %6s %9s %6s %8s %8s %6s %8s %9s %6s %s",
                "", "", "MB", "MB", "", "MB", "/none", "p50 ms", "p95 ms", "/none", "ms/row", "ms", "/none", "10 %");
        System.out.println(header);
        System.out.println(units);
        for (Measured w : workloads) {
            Result none = w.results.get(Option.NONE);
            for (Option o : options) {
                Result r = w.results.get(o);
                System.out.printf(Locale.ROOT,
                        "%-16s %-31s %9.1f %9.1f %6.3f %9.1f %6.3f %8.1f %8.1f %6.2f %8.2f %9.0f %6.2f %s%n",
                        w.workload.name(), o.label(), r.logicalBytes / 1e6, r.relationBytes / 1e6,
                        (double) r.relationBytes / none.relationBytes, r.walBytes / 1e6,
                        (double) r.walBytes / none.walBytes, r.flushP(0.5), r.flushP(0.95),
                        r.flushP(0.95) / none.flushP(0.95), r.codecCpuNanos / 1e6 / r.flushNanos.size(),
                        r.readMillis(), r.readMillis() / none.readMillis(), within(r, none) ? "yes" : "no");
            }
        }
        System.out.println("ratio: pg_total_relation_size / none's. WAL: insert-LSN difference around each flush, "
                + "summed. flush: codec compression + INSERT + COMMIT of one row (encode excluded: the same for all). "
                + "codec: CPU of the compression step in this JVM. read: all rows in window order, fetched, "
                + "decompressed and decoded, median of " + READ_REPEATS + " (raw rows: " + 3 * READ_REPEATS + ").");
    }

    static boolean within(Result r, Result none) {
        return r.flushP(0.95) <= TOLERANCE * none.flushP(0.95) && r.readMillis() <= TOLERANCE * none.readMillis();
    }

    static void printRatios(List<Measured> workloads, List<Option> options) {
        System.out.println();
        System.out.println("compressed value size / uncompressed (sum of pg_column_size over the logical bytes):");
        StringBuilder head = new StringBuilder(String.format("%-16s", "rows"));
        for (Option o : options) {
            head.append(String.format(" %9s", o.table));
        }
        System.out.println(head);
        for (Measured w : workloads) {
            Result none = w.results.get(Option.NONE);
            StringBuilder line = new StringBuilder(String.format("%-16s", w.workload.name()));
            for (Option o : options) {
                line.append(String.format(Locale.ROOT, " %9.3f", (double) w.results.get(o).valueBytes
                        / none.valueBytes));
            }
            System.out.println(line);
        }
    }

    /**
     * The rule of issue 15: among the options whose flush p95 and read time stay within 10 % of uncompressed, the one
     * with the least WAL; the default from those that need no lz4 on the server. Applied to each activation kind on
     * its own (a deployment may have only one), and to both pooled (one column holding both: the flushes of both
     * kinds together, the reads of both added up); the strict reading, every kind within 10 %, decides. WAL that
     * differs by under 1 % of uncompressed WAL is taken as equal: no reason to compress, nor to need lz4 on the server.
     */
    static void recommend(List<Measured> workloads, List<Option> options, boolean serverLz4) {
        System.out.println();
        for (Measured w : workloads) {
            Option best = pick(List.of(w), options, true, false);
            System.out.printf("least WAL within 10 %%, %-16s: %s (%s %% of uncompressed WAL)%n", w.workload.name(),
                    best.label(), walPercent(List.of(w), best));
        }
        // the distributions' line last: it is the one the issue asks for
        for (Payload p : List.of(Payload.RAW, Payload.SKETCH)) {
            List<Measured> of = workloads.stream().filter(w -> w.workload.payload == p).toList();
            Option strict = pick(of, options, false, false);
            Option pooled = pick(of, options, false, true);
            Option strictLz4 = pick(of, options, true, false);
            String lz4Clause;
            if (!serverLz4) {
                lz4Clause = "server lz4 not available on this server";
            } else if (strictLz4 == strict) {
                lz4Clause = "server lz4 does not beat it by 1 % of uncompressed WAL here";
            } else {
                lz4Clause = "where the server has lz4: " + strictLz4.label() + " (" + walPercent(of, strictLz4)
                        + " % of uncompressed WAL)";
            }
            System.out.printf("%s: %s (%s %% of uncompressed WAL; flush p95 and read within 10 %% on each kind); "
                    + "both kinds pooled: %s (%s %%); %s.%n", p == Payload.SKETCH
                    ? "RECOMMENDATION for distributions (sketch rows)" : "raw rows", strict.label(),
                    walPercent(of, strict), pooled.label(), walPercent(of, pooled), lz4Clause);
        }
    }

    static Option pick(List<Measured> of, List<Option> options, boolean lz4Allowed, boolean pooled) {
        long none = of.stream().mapToLong(w -> w.results.get(Option.NONE).walBytes).sum();
        Option best = Option.NONE;
        long bestWal = none;
        for (Option o : options) {
            if (o.needsServerLz4 && !lz4Allowed) {
                continue;
            }
            boolean ok = pooled ? within(pool(of, o), pool(of, Option.NONE))
                    : of.stream().allMatch(w -> within(w.results.get(o), w.results.get(Option.NONE)));
            long wal = of.stream().mapToLong(w -> w.results.get(o).walBytes).sum();
            // a saving under 1 % of uncompressed WAL is no reason to compress
            if (ok && wal < bestWal && wal < none - none / 100) {
                best = o;
                bestWal = wal;
            }
        }
        // nor to need lz4 on the server
        if (best.needsServerLz4) {
            for (Option o : options) {
                long wal = of.stream().mapToLong(w -> w.results.get(o).walBytes).sum();
                boolean ok = pooled ? within(pool(of, o), pool(of, Option.NONE))
                        : of.stream().allMatch(w -> within(w.results.get(o), w.results.get(Option.NONE)));
                if (!o.needsServerLz4 && o != Option.NONE && ok && wal < bestWal + none / 100) {
                    return o;
                }
            }
        }
        return best;
    }

    /** One option's flushes on several workloads together, and their reads added up (median of each). */
    static Result pool(List<Measured> of, Option o) {
        Result pooled = new Result(o);
        long read = 0;
        for (Measured w : of) {
            Result r = w.results.get(o);
            pooled.flushNanos.addAll(r.flushNanos);
            pooled.walBytes += r.walBytes;
            read += (long) percentile(r.readNanos, 0.5);
        }
        pooled.readNanos.add(read);
        return pooled;
    }

    static String walPercent(List<Measured> of, Option o) {
        long wal = of.stream().mapToLong(w -> w.results.get(o).walBytes).sum();
        long none = of.stream().mapToLong(w -> w.results.get(Option.NONE).walBytes).sum();
        return String.format(Locale.ROOT, "%.0f", 100.0 * wal / none);
    }
}
