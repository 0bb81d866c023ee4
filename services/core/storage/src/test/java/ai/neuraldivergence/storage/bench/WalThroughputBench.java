package ai.neuraldivergence.storage.bench;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How fast one PostgreSQL takes bytea rows, for the capacity model (docs/capacity-model.md): rows of 4 KB to 5 MB (a
 * delta row of one observation of a 1,024-neuron block, up to a wide tap's minute row) inserted into a table shaped
 * like a delta table (bytea stored out of line, uncompressed, as {@code tap_window.distributions} is), in transactions
 * of about 4 MB (a flush), each size for a fixed time. Reports payload MB/s, WAL MB/s (differences of
 * {@code pg_current_wal_lsn()}), WAL and on-disk bytes per payload byte, rows and commits per second, then the rate at
 * which the rows are read back (what a fold reads; at most 1 GB of them, in binary). Prints the server's durability
 * settings and the machine's load first: they decide the numbers.
 *
 * <p>Not a test: a main class, run against a PostgreSQL it may create and drop tables in (the local launcher's, via
 * deploy/benchmark-infrastructure.sh):
 *
 * <pre>WalThroughputBench JDBC_URL USER PASSWORD [SECONDS_PER_SIZE] [WRITERS]
 * WalThroughputBench durable [SECONDS_PER_SIZE] [WRITERS]</pre>
 *
 * <p>The launcher's PostgreSQL (zonky's defaults) runs with {@code fsync} and {@code synchronous_commit} off, which
 * suits a laptop and not a capacity figure, and they are set on its command line, where ALTER SYSTEM cannot change
 * them. {@code durable} starts a PostgreSQL 14 of the same build (zonky) in a temporary folder with both on, as a
 * production server has them, and measures that one.
 */
public final class WalThroughputBench {

    private static final int[] ROW_BYTES = {4 << 10, 8 << 10, 32 << 10, 100 << 10, 1 << 20, 5 << 20};
    private static final int TRANSACTION_BYTES = 4 << 20;

    public static void main(String[] args) throws Exception {
        if (args[0].equals("durable")) {
            Path dir = Files.createTempDirectory("nd-wal-bench");
            try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(true)
                    .setServerConfig("fsync", "on").setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on").start()) {
                run(pg.getJdbcUrl("postgres", "postgres"), "postgres", "postgres",
                        Arrays.copyOfRange(args, 1, args.length));
            }
        } else {
            run(args[0], args[1], args[2], Arrays.copyOfRange(args, 3, args.length));
        }
    }

    private static void run(String url, String user, String password, String[] options) throws Exception {
        double seconds = options.length > 0 ? Double.parseDouble(options[0]) : 15;
        int writers = options.length > 1 ? Integer.parseInt(options[1]) : 1;
        System.out.println("load average before: " + Files.readString(Path.of("/proc/loadavg")).trim());
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            for (String setting : new String[] {"server_version", "fsync", "synchronous_commit", "full_page_writes",
                    "wal_compression", "wal_level", "shared_buffers", "max_wal_size", "checkpoint_timeout",
                    "wal_buffers"}) {
                try (ResultSet rs = s.executeQuery("SHOW " + setting)) {
                    rs.next();
                    System.out.printf(Locale.ROOT, "%s = %s%n", setting, rs.getString(1));
                }
            }
            s.execute("DROP TABLE IF EXISTS bench_delta");
            s.execute("CREATE TABLE bench_delta (model_id text NOT NULL, tap text NOT NULL, block integer NOT NULL, "
                    + "slice text NOT NULL, window_start timestamptz NOT NULL, flush_id bigint NOT NULL, "
                    + "observation_count integer NOT NULL, vals bytea NOT NULL)");
            s.execute("ALTER TABLE bench_delta ALTER COLUMN vals SET STORAGE EXTERNAL");
        }
        System.out.printf(Locale.ROOT, "%d writer(s), %.0f s per size, transactions of ~%d MB%n", writers, seconds,
                TRANSACTION_BYTES >> 20);
        System.out.printf(Locale.ROOT, "%9s %11s %9s %9s %9s %9s %9s %11s%n", "row B", "payload MB/s", "WAL MB/s",
                "WAL/pay", "disk/pay", "rows/s", "commit/s", "read MB/s");
        for (int rowBytes : ROW_BYTES) {
            try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
                s.execute("TRUNCATE bench_delta");
                checkpoint(s);
                String lsn0 = lsn(s);
                long t0 = System.nanoTime();
                long deadline = t0 + (long) (seconds * 1e9);
                AtomicLong rows = new AtomicLong();
                AtomicLong commits = new AtomicLong();
                List<Thread> threads = new ArrayList<>();
                for (int w = 0; w < writers; w++) {
                    int writer = w;
                    Thread t = new Thread(() -> write(url, user, password, rowBytes, writer, deadline, rows, commits));
                    t.start();
                    threads.add(t);
                }
                for (Thread t : threads) {
                    t.join();
                }
                double elapsed = (System.nanoTime() - t0) / 1e9;
                double wal = walBytes(s, lsn0);
                double payload = (double) rows.get() * rowBytes;
                long disk;
                try (ResultSet rs = s.executeQuery("SELECT pg_total_relation_size('bench_delta')")) {
                    rs.next();
                    disk = rs.getLong(1);
                }
                long r0 = System.nanoTime();
                long read = readBack(url, user, password, rowBytes);
                double readSeconds = (System.nanoTime() - r0) / 1e9;
                System.out.printf(Locale.ROOT, "%,9d %11.1f %9.1f %9.3f %9.3f %,9.0f %9.1f %11.1f%n", rowBytes,
                        payload / elapsed / 1e6, wal / elapsed / 1e6, wal / payload, disk / payload,
                        rows.get() / elapsed, commits.get() / elapsed, read / readSeconds / 1e6);
            }
        }
        try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
            s.execute("DROP TABLE bench_delta");
        }
        System.out.println("load average after: " + Files.readString(Path.of("/proc/loadavg")).trim());
    }

    private static void write(String url, String user, String password, int rowBytes, int writer, long deadline,
            AtomicLong rows, AtomicLong commits) {
        byte[] value = new byte[rowBytes];
        Random random = new Random(rowBytes + writer);
        random.nextBytes(value);
        int perTransaction = Math.max(1, TRANSACTION_BYTES / rowBytes);
        try (Connection c = DriverManager.getConnection(url, user, password);
                PreparedStatement insert = c.prepareStatement(
                        "INSERT INTO bench_delta VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            c.setAutoCommit(false);
            long flush = 0;
            Timestamp minute = new Timestamp(1_796_000_000_000L);
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < perTransaction; i++) {
                    // every row differs, as activations do
                    value[0] = (byte) i;
                    value[1] = (byte) flush;
                    insert.setString(1, "model-" + (i % 1000));
                    insert.setString(2, "tap" + (i % 5));
                    insert.setInt(3, i % 2);
                    insert.setString(4, "predicted=" + (i % 10));
                    insert.setTimestamp(5, minute);
                    insert.setLong(6, flush);
                    insert.setInt(7, rowBytes / 8_000 + 1);
                    insert.setBytes(8, value);
                    insert.addBatch();
                }
                insert.executeBatch();
                c.commit();
                rows.addAndGet(perTransaction);
                commits.incrementAndGet();
                flush++;
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads the rows back in order, a cursor of about 16 MB a fetch (as a fold reads a delta partition). */
    private static long readBack(String url, String user, String password, int rowBytes) throws SQLException {
        long read = 0;
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        // bytea in binary, as a running fold's server-prepared statement gets it (text would be hex, twice the bytes)
        p.setProperty("prepareThreshold", "-1");
        try (Connection c = DriverManager.getConnection(url, p);
                PreparedStatement s = c.prepareStatement("SELECT vals FROM bench_delta LIMIT ?")) {
            c.setAutoCommit(false);
            s.setFetchSize(Math.max(1, (16 << 20) / rowBytes));
            // at most 1 GB: enough for a rate, and the table may hold several
            s.setInt(1, Math.max(1, (1 << 30) / rowBytes));
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    read += rs.getBytes(1).length;
                }
            }
            c.commit();
        }
        return read;
    }

    /** A checkpoint before each size, so that each starts alike; only a superuser may ask for one. */
    private static void checkpoint(Statement s) {
        try {
            s.execute("CHECKPOINT");
        } catch (SQLException e) {
            System.out.println("(no CHECKPOINT: " + e.getMessage() + ")");
        }
    }

    private static String lsn(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static double walBytes(Statement s, String from) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '" + from + "'::pg_lsn)")) {
            rs.next();
            return rs.getDouble(1);
        }
    }
}
