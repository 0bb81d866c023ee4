package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * The hourly partitions of {@code window_delta}. Made ahead of the traffic, and on demand for a delta whose hour has
 * none (a replay of older records); retired by detaching and dropping them once every delta in them is folded and
 * their minutes are final, never by deleting rows.
 *
 * <p>Neither step takes an ACCESS EXCLUSIVE lock on the parent, which every flush and reader uses: a partition is
 * created as a table of its own ({@code LIKE} the parent) and attached (SHARE UPDATE EXCLUSIVE on the parent), and
 * detached {@code CONCURRENTLY}. Instances serialize on one advisory lock; every DDL statement runs under a short
 * {@code lock_timeout}, so that a busy table makes maintenance wait and retry rather than queue flushes behind it.
 */
public final class DeltaPartitions {

    /** The partitioned tables of deltas: window deltas and exemplar deltas. */
    public static final String WINDOWS = "window_delta";
    public static final String EXEMPLARS = "exemplar_delta";
    private static final DateTimeFormatter NAME = DateTimeFormatter.ofPattern("yyyyMMdd_HH").withZone(ZoneOffset.UTC);
    // creating and retiring take different locks: they never touch the same hour, and a flush waiting to create its
    // hour must not wait for a retirement pass
    private final long createLock;
    private final long retireLock;
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(5);

    private final DataSource dataSource;
    private final String table;
    // hours known to have a partition: a flush asks before every write, the database only for an hour it has not seen
    private final Set<Instant> known = ConcurrentHashMap.newKeySet();

    /** The partitions of {@code window_delta}. */
    public DeltaPartitions(DataSource dataSource) {
        this(dataSource, WINDOWS);
    }

    /** The partitions of {@code table}, one of {@link #WINDOWS} and {@link #EXEMPLARS}. */
    public DeltaPartitions(DataSource dataSource, String table) {
        if (!WINDOWS.equals(table) && !EXEMPLARS.equals(table)) {
            throw new IllegalArgumentException("not a delta table: " + table);
        }
        this.dataSource = dataSource;
        this.table = table;
        this.createLock = AdvisoryLocks.hash(table + " partitions: create");
        this.retireLock = AdvisoryLocks.hash(table + " partitions: retire");
    }

    /** The name of the partition holding {@code hour}'s window deltas. */
    public static String partitionName(Instant hour) {
        return partitionName(WINDOWS, hour);
    }

    static String partitionName(String table, Instant hour) {
        return table + "_" + NAME.format(hour);
    }

    /** Makes sure every hour in {@code [from, to]} has its partition; returns how many were created. */
    public int ensure(Instant from, Instant to) {
        int created = 0;
        for (Instant h = from.truncatedTo(ChronoUnit.HOURS); !h.isAfter(to); h = h.plus(Duration.ofHours(1))) {
            if (ensureHour(h)) {
                created++;
            }
        }
        return created;
    }

    /** Makes sure the hours of these minutes have partitions (known ones cost nothing). */
    public void ensureFor(java.util.Collection<Instant> minutes) {
        minutes.stream().map(m -> m.truncatedTo(ChronoUnit.HOURS)).distinct().forEach(this::ensureHour);
    }

    /** Forgets what it knows, after a missing partition was reported: the next write asks the database. */
    public void forgetAll() {
        known.clear();
    }

    private boolean ensureHour(Instant hour) {
        if (known.contains(hour)) {
            return false;
        }
        String name = partitionName(table, hour);
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                execute(c, "SET LOCAL lock_timeout = '" + LOCK_TIMEOUT.toMillis() + "ms'");
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                    ps.setLong(1, createLock);
                    ps.executeQuery().close();
                }
                boolean created = false;
                if (!attached(c, name)) {
                    try (Statement s = c.createStatement()) {
                        // a table left unattached by an interrupted attempt is taken as it is (it is empty)
                        s.execute("CREATE TABLE IF NOT EXISTS " + name + " (LIKE " + table
                                + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)");
                        s.execute("ALTER TABLE " + table + " ATTACH PARTITION " + name + " FOR VALUES FROM ('"
                                + hour + "') TO ('" + hour.plus(Duration.ofHours(1)) + "')");
                    }
                    created = true;
                }
                c.commit();
                known.add(hour);
                return created;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StorageException("creating the delta partition " + name, e);
        }
    }

    private boolean attached(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_inherits i JOIN pg_class p ON p.oid = "
                + "i.inhparent JOIN pg_class ch ON ch.oid = i.inhrelid WHERE p.relname = ? AND ch.relname = ? AND "
                + "pg_table_is_visible(ch.oid)")) {
            ps.setString(1, table);
            ps.setString(2, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** An attached partition and the hour it holds. */
    public record Partition(String name, Instant hour, boolean detachPending) {
    }

    /** The attached partitions, oldest first. */
    public List<Partition> list() {
        try (Connection c = dataSource.getConnection();
                PreparedStatement ps = c.prepareStatement("SELECT ch.relname, i.inhdetachpending FROM pg_inherits i "
                        + "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class ch ON ch.oid = i.inhrelid WHERE "
                        + "p.relname = ? AND pg_table_is_visible(p.oid) ORDER BY 1")) {
            ps.setString(1, table);
            List<Partition> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String name = rs.getString(1);
                    Instant hour = hourOf(name);
                    if (hour != null) {
                        out.add(new Partition(name, hour, rs.getBoolean(2)));
                    }
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StorageException("listing the delta partitions", e);
        }
    }

    /** Tables of ours that are no partition any more: detached, and left there. */
    private List<Partition> detached(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT "
                + "relispartition AND starts_with(relname, ?) AND pg_table_is_visible(oid) ORDER BY 1")) {
            ps.setString(1, table + "_");
            List<Partition> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Instant hour = hourOf(rs.getString(1));
                    if (hour != null) {
                        out.add(new Partition(rs.getString(1), hour, false));
                    }
                }
            }
            return out;
        }
    }

    private Instant hourOf(String name) {
        try {
            return java.time.LocalDateTime.parse(name.substring(table.length() + 1),
                    DateTimeFormatter.ofPattern("yyyyMMdd_HH")).toInstant(ZoneOffset.UTC);
        } catch (RuntimeException e) {
            return null; // not one of ours
        }
    }

    /** What a retirement pass did. */
    public record Retired(int dropped, List<String> keptUnfolded) {
    }

    /**
     * Detaches and drops every partition whose hour ended before {@code finalBefore} (its minutes are final: no
     * delta can reach them any more) and whose deltas are all folded. One that holds an unfolded delta is kept and
     * reported; one found to hold one after its detach (a flush that slipped in) is attached again and reported.
     * A detach interrupted earlier (by a crash) is finished first. Only one instance retires at a time.
     */
    public Retired retire(Instant finalBefore) {
        List<String> kept = new ArrayList<>();
        int dropped = 0;
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            if (!tryLock(c)) {
                return new Retired(0, kept);
            }
            try {
                // a session setting (DETACH CONCURRENTLY runs outside a transaction): reset before the connection
                // goes back to the pool
                execute(c, "SET lock_timeout = '" + LOCK_TIMEOUT.toMillis() + "ms'");
                // detached but not dropped: a crash between the two (the detach itself finished)
                for (Partition p : detached(c)) {
                    if (dropUnlessUnfolded(c, p, kept)) {
                        dropped++;
                    }
                }
                for (Partition p : list()) {
                    if (p.detachPending()) {
                        execute(c, "ALTER TABLE " + table + " DETACH PARTITION " + p.name() + " FINALIZE");
                        dropUnlessUnfolded(c, p, kept);
                        continue;
                    }
                    if (p.hour().plus(Duration.ofHours(1)).isAfter(finalBefore)) {
                        continue;
                    }
                    if (hasUnfolded(c, p.name())) {
                        kept.add(p.name());
                        continue;
                    }
                    // CONCURRENTLY: the parent stays usable by flushes and readers while it detaches
                    execute(c, "ALTER TABLE " + table + " DETACH PARTITION " + p.name() + " CONCURRENTLY");
                    known.remove(p.hour());
                    if (dropUnlessUnfolded(c, p, kept)) {
                        dropped++;
                    }
                }
            } finally {
                execute(c, "RESET lock_timeout");
                unlock(c);
            }
        } catch (SQLException e) {
            throw new StorageException("retiring delta partitions", e);
        }
        return new Retired(dropped, kept);
    }

    private boolean dropUnlessUnfolded(Connection c, Partition p, List<String> kept) throws SQLException {
        if (hasUnfolded(c, p.name())) {
            // checked again once detached: a delta written between the check and the detach must not be lost
            execute(c, "ALTER TABLE " + table + " ATTACH PARTITION " + p.name() + " FOR VALUES FROM ('" + p.hour()
                    + "') TO ('" + p.hour().plus(Duration.ofHours(1)) + "')");
            kept.add(p.name());
            return false;
        }
        execute(c, "DROP TABLE " + p.name());
        return true;
    }

    private static boolean hasUnfolded(Connection c, String partition) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT EXISTS (SELECT 1 FROM " + partition + " WHERE NOT folded)")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private boolean tryLock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
            ps.setLong(1, retireLock);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private void unlock(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(?)")) {
            ps.setLong(1, retireLock);
            ps.executeQuery().close();
        }
    }

    private static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The hour of the oldest attached partition; null when there is none. */
    public Instant oldest() {
        return list().stream().map(Partition::hour).min(Instant::compareTo).orElse(null);
    }
}
