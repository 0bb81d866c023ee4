package ai.neuraldivergence.storage;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * The partitions of one table partitioned by time ({@link PartitionLayout}): made ahead of the rows and on demand,
 * retired by detaching and dropping them, never by deleting rows.
 *
 * <p>Neither step takes an ACCESS EXCLUSIVE lock on a parent that flushes and readers use: a partition is created as
 * a table of its own ({@code LIKE} the root) and then attached (SHARE UPDATE EXCLUSIVE on its parent), and detached
 * {@code CONCURRENTLY}. Instances serialize on one advisory lock per table and step; every DDL statement runs under
 * a short {@code lock_timeout}, so that a busy table makes maintenance wait and retry rather than queue flushes
 * behind it.
 *
 * <p>A table that held rows before it was partitioned is attached whole as its first partition, for everything
 * before a cutover ({@code <root>_unpartitioned}, by the migration that partitioned it): partitions made later start
 * at the cutover at the earliest, and that one is retired like any other once its policy lets it go.
 */
public final class TimePartitions {

    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(5);
    // what a detach may wait for the transactions that use the parent: it blocks none of them meanwhile (its lock
    // conflicts only with other DDL), so the running reads are let finish rather than the detach left pending
    private static final Duration DETACH_WAIT = Duration.ofMinutes(5);
    // partitions remembered as existing: past this many (a year of ten-minute partitions is 52,560), forgotten
    private static final int KNOWN_AT_MOST = 10_000;

    /** Whether a partition may go: kept within its retention, held past it (reported), or dropped. */
    public enum Verdict { KEEP, HOLD, DROP }

    /** Decides, for a table that is or was a partition, whether it may be dropped now. */
    @FunctionalInterface
    public interface Policy {
        /**
         * @param c a connection outside any transaction; {@code part.name()} names the table to look into, attached
         *     or detached
         */
        Verdict judge(Connection c, PartitionLayout.Part part) throws SQLException;
    }

    /**
     * What a retirement pass did: partitions dropped, those past their retention that had to be kept, and those a
     * step failed for (tried again at the next pass; the others went on).
     */
    public record Retired(List<String> dropped, List<String> held, List<String> failed) {
    }

    private final DataSource dataSource;
    private final PartitionLayout layout;
    private final long createLock;
    private final long retireLock;
    // partitions known to exist: a flush asks before every write, the database only for one it has not seen
    private final Set<String> known = ConcurrentHashMap.newKeySet();
    private volatile Instant floor;
    private volatile boolean floorRead;

    public TimePartitions(DataSource dataSource, PartitionLayout layout) {
        this.dataSource = dataSource;
        this.layout = layout;
        this.createLock = AdvisoryLocks.hash(layout.root() + " partitions: create");
        this.retireLock = AdvisoryLocks.hash(layout.root() + " partitions: retire");
    }

    public PartitionLayout layout() {
        return layout;
    }

    /** Makes sure every kind of partition exists for every instant of {@code [from, to]}; returns how many were made. */
    public int ensure(Instant from, Instant to) {
        int created = 0;
        for (String kind : layout.kinds()) {
            PartitionLayout.Width w = layout.width(kind);
            for (Instant t = w.floor(from); !t.isAfter(to); t = w.next(t)) {
                created += ensure(t, kind);
            }
        }
        return created;
    }

    /** Makes sure rows of {@code kind} at these instants have partitions (known ones cost nothing). */
    public void ensureFor(String kind, java.util.Collection<Instant> instants) {
        PartitionLayout.Width w = layout.width(kind);
        instants.stream().map(w::floor).distinct().forEach(t -> ensure(t, kind));
    }

    /** Forgets what it knows, after a missing partition was reported: the next write asks the database. */
    public void forgetAll() {
        known.clear();
        floorRead = false;
    }

    /** Makes sure the partition holding rows of {@code kind} at {@code t} exists; returns how many tables it made. */
    public int ensure(Instant t, String kind) {
        List<PartitionLayout.Part> path = layout.path(t, kind);
        String leaf = path.get(path.size() - 1).name();
        if (known.contains(leaf)) {
            return 0;
        }
        Instant cutover = floor();
        if (cutover != null && !path.get(0).to().isAfter(cutover)) {
            // before the cutover: the table as it was before partitioning holds it
            known.add(leaf);
            return 0;
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                execute(c, "SET LOCAL lock_timeout = '" + LOCK_TIMEOUT.toMillis() + "ms'");
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                    ps.setLong(1, createLock);
                    ps.executeQuery().close();
                }
                int created = 0;
                for (PartitionLayout.Part p : path) {
                    if (!known.contains(p.name()) && !isPartition(c, p.name())) {
                        if (exists(c, p.name()) && any(c, p.name(), "true")) {
                            // detached by a retirement that has not dropped it yet (or a crash in between): never
                            // taken back with what it holds; the retirement drops it or attaches it again
                            throw new SQLException("the partition " + p.name() + " is being retired", "55006");
                        }
                        // a table left unattached by an interrupted attempt, empty, is taken as it is
                        execute(c, "CREATE TABLE IF NOT EXISTS " + p.name() + " (LIKE " + layout.root()
                                + " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
                                + (p.partitionBy() == null ? "" : " PARTITION BY " + p.partitionBy()));
                        attach(c, p);
                        created++;
                    }
                }
                c.commit();
                if (known.size() > KNOWN_AT_MOST) {
                    known.clear();
                }
                path.forEach(p -> known.add(p.name()));
                return created;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StorageException("creating the partition " + leaf, e);
        }
    }

    private void attach(Connection c, PartitionLayout.Part p) throws SQLException {
        execute(c, "ALTER TABLE " + p.parent() + " ATTACH PARTITION " + p.name() + " " + bound(p));
    }

    /** The part's bound; one of the root's starts at the cutover at the earliest (it must not overlap the legacy). */
    private String bound(PartitionLayout.Part p) {
        if (p.listValue() != null) {
            return "FOR VALUES IN ('" + p.listValue() + "')";
        }
        Instant cutover = floor();
        if (p.from() == null) {
            return "FOR VALUES FROM (MINVALUE) TO (" + PartitionLayout.literal(p.to()) + ")";
        }
        Instant from = p.parent().equals(layout.root()) && cutover != null && p.from().isBefore(cutover) ? cutover
                : p.from();
        return "FOR VALUES FROM (" + PartitionLayout.literal(from) + ") TO (" + PartitionLayout.literal(p.to())
                + ")";
    }

    /** The end of the legacy partition (everything stored before partitioning), or null when there is none. */
    public Instant floor() {
        if (!floorRead) {
            try (Connection c = dataSource.getConnection();
                    PreparedStatement ps = c.prepareStatement("SELECT (regexp_match(pg_get_expr(c.relpartbound, "
                            + "c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz FROM pg_class c WHERE c.relname = ? "
                            + "AND c.relispartition AND pg_table_is_visible(c.oid)")) {
                ps.setString(1, layout.legacyName());
                try (ResultSet rs = ps.executeQuery()) {
                    floor = rs.next() && rs.getTimestamp(1) != null ? rs.getTimestamp(1).toInstant() : null;
                }
                floorRead = true;
            } catch (SQLException e) {
                throw new StorageException("reading the partitions of " + layout.root(), e);
            }
        }
        return floor;
    }

    /** Whether a table of this name exists (and is visible). */
    static boolean exists(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
            ps.setString(1, name);
            return Sql.one(ps, rs -> rs.getBoolean(1));
        }
    }

    private static boolean isPartition(Connection c, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_class WHERE relname = ? AND relispartition "
                + "AND pg_table_is_visible(oid)")) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** An attached table of the tree below the root, as the layout names it. */
    public record Attached(PartitionLayout.Part part, boolean detachPending) {
    }

    /** Every attached table of the tree (partitioned ones included), oldest first. */
    public List<Attached> list() {
        try (Connection c = dataSource.getConnection()) {
            return list(c);
        } catch (SQLException e) {
            throw new StorageException("listing the partitions of " + layout.root(), e);
        }
    }

    private List<Attached> list(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("WITH RECURSIVE tree(oid, pending) AS (SELECT i.inhrelid, "
                + "i.inhdetachpending FROM pg_inherits i WHERE i.inhparent = ?::regclass UNION ALL SELECT i.inhrelid, "
                + "i.inhdetachpending FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid) SELECT c.relname, "
                + "t.pending FROM tree t JOIN pg_class c ON c.oid = t.oid WHERE c.relkind IN ('r', 'p')")) {
            ps.setString(1, layout.root());
            List<Attached> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Optional<PartitionLayout.Part> p = layout.parse(rs.getString(1)).map(this::withFloor);
                    if (p.isPresent()) {
                        out.add(new Attached(p.get(), rs.getBoolean(2)));
                    }
                }
            }
            out.sort(Comparator.comparing((Attached a) -> a.part().from() == null ? Instant.MIN : a.part().from()));
            return out;
        }
    }

    /** The legacy part with its end, the cutover; any other part as it is. */
    private PartitionLayout.Part withFloor(PartitionLayout.Part p) {
        if (!PartitionLayout.LEGACY.equals(p.kind())) {
            return p;
        }
        return new PartitionLayout.Part(p.name(), p.parent(), p.kind(), null, floor(), null, null);
    }

    /** How many leaves of the layout's first kind start after {@code now}: the partitions made ahead. */
    public long ahead(Instant now) {
        String kind = layout.kinds().get(0);
        return list().stream().map(Attached::part).filter(p -> p.partitionBy() == null && kind.equals(p.kind())
                && p.from() != null && p.from().isAfter(now)).count();
    }

    /**
     * Detaches and drops every retirement unit of the layout that {@code policy} lets go, oldest first. One it holds
     * is kept and reported; one found, once detached, to hold what must stay (a row that slipped in) is attached
     * again and reported. A detach interrupted earlier is finished first, and a table a crash left detached is
     * dropped or attached again. Only one instance retires a table at a time (the others skip the pass).
     */
    public Retired retire(Policy policy) {
        List<String> dropped = new ArrayList<>();
        List<String> held = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(true);
            if (!tryLock(c, retireLock)) {
                return new Retired(dropped, held, failed);
            }
            try {
                // a session setting (DETACH CONCURRENTLY runs outside a transaction): reset before the connection
                // goes back to the pool
                execute(c, "SET lock_timeout = '" + LOCK_TIMEOUT.toMillis() + "ms'");
                for (PartitionLayout.Part p : detached(c)) {
                    step(p, failed, () -> settle(c, p, policy, dropped, held, true));
                }
                for (Attached a : list(c)) {
                    if (a.detachPending()) {
                        step(a.part(), failed, () -> {
                            detach(c, a.part(), "FINALIZE");
                            settle(c, a.part(), policy, dropped, held, false);
                        });
                    }
                }
                // oldest end first, and a partition's own partitions before it (a month after its hours)
                List<Attached> units = new ArrayList<>(list(c).stream().filter(a -> !a.detachPending()
                        && layout.retiredWhole(a.part())).toList());
                units.sort(Comparator.comparing((Attached a) -> a.part().to() == null ? Instant.MIN : a.part().to())
                        .thenComparing(a -> a.part().partitionBy() != null));
                for (Attached a : units) {
                    PartitionLayout.Part p = a.part();
                    step(p, failed, () -> {
                        Verdict v = policy.judge(c, p);
                        if (v == Verdict.HOLD) {
                            held.add(p.name());
                        }
                        if (v == Verdict.DROP) {
                            // CONCURRENTLY: the parent stays usable by flushes and readers while it detaches
                            detach(c, p, "CONCURRENTLY");
                            forget(p);
                            settle(c, p, policy, dropped, held, false);
                        }
                    });
                }
            } finally {
                execute(c, "RESET lock_timeout");
                unlock(c, retireLock);
            }
        } catch (SQLException e) {
            throw new StorageException("retiring partitions of " + layout.root(), e);
        }
        return new Retired(dropped, held, failed);
    }

    private interface Step {
        void run() throws SQLException;
    }

    /** One partition's step; a failure is recorded and the pass goes on with the next one. */
    private static void step(PartitionLayout.Part p, List<String> failed, Step step) {
        try {
            step.run();
        } catch (SQLException | RuntimeException e) {
            failed.add(p.name() + ": " + e.getMessage());
        }
    }

    private void detach(Connection c, PartitionLayout.Part p, String how) throws SQLException {
        // the server answers a detach only once its wait is over: a read bound (ReadTimeout) shorter than the wait
        // would give up on a detach still legitimately waiting, and leave it pending
        int readTimeout = c.getNetworkTimeout();
        int detachRead = Math.toIntExact(DETACH_WAIT.plusMinutes(1).toMillis());
        if (readTimeout != 0 && readTimeout < detachRead) {
            c.setNetworkTimeout(Runnable::run, detachRead);
        }
        execute(c, "SET lock_timeout = '" + DETACH_WAIT.toMillis() + "ms'");
        try {
            execute(c, "ALTER TABLE " + p.parent() + " DETACH PARTITION " + p.name() + " " + how);
        } finally {
            execute(c, "SET lock_timeout = '" + LOCK_TIMEOUT.toMillis() + "ms'");
            if (c.getNetworkTimeout() != readTimeout) {
                c.setNetworkTimeout(Runnable::run, readTimeout);
            }
        }
    }

    private void forget(PartitionLayout.Part p) {
        known.removeIf(name -> name.equals(p.name()) || name.startsWith(p.name() + "_")
                || layout.parse(name).map(q -> p.name().equals(q.parent())).orElse(false));
        if (p.from() == null) {
            // the legacy table goes: its range is free for partitions of their own from now on
            forgetAll();
        }
    }

    /**
     * Drops a detached table, or attaches it again when, judged once more, it holds what must stay (a row written
     * between the first look and the detach). Under the create lock, so that no write makes it again meanwhile.
     * {@code crashed}: found detached at the start of a pass, left so by a crash.
     */
    private void settle(Connection c, PartitionLayout.Part p, Policy policy, List<String> dropped, List<String> held,
            boolean crashed) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_lock(?)")) {
            ps.setLong(1, createLock);
            ps.executeQuery().close();
        }
        try {
            if (isPartition(c, p.name())) {
                return; // made anew, empty, by a write since its detach: a partition in use again
            }
            // the table from before partitioning is only ever detached once its policy let it go: one a crash left
            // detached (its bound no longer known) is dropped
            boolean legacy = PartitionLayout.LEGACY.equals(p.kind());
            if (legacy && crashed || policy.judge(c, p) == Verdict.DROP) {
                execute(c, "DROP TABLE " + p.name());
                dropped.add(p.name());
                return;
            }
            attach(c, p);
            held.add(p.name());
        } finally {
            unlock(c, createLock);
        }
    }

    /** Tables of this layout that are no partition any more: detached, and left there by a crash. */
    private List<PartitionLayout.Part> detached(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND "
                + "NOT relispartition AND starts_with(relname, ?) AND pg_table_is_visible(oid) ORDER BY 1")) {
            ps.setString(1, layout.root() + "_");
            List<PartitionLayout.Part> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    layout.parse(rs.getString(1)).filter(layout::retiredWhole).map(this::withFloor).ifPresent(out::add);
                }
            }
            return out;
        }
    }

    /** Rows in one table (a partition, attached or not): a name the layout made, never input. */
    public static long count(Connection c, String table) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT count(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Whether a table (a partition, attached or not) holds a row matching {@code condition}, SQL made of constants
     * and of instants this code formats, in which the row is {@code r}.
     */
    public static boolean any(Connection c, String table, String condition) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT EXISTS (SELECT 1 FROM " + table + " r WHERE " + condition
                        + ")")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static boolean tryLock(Connection c, long lock) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
            ps.setLong(1, lock);
            return Sql.one(ps, rs -> rs.getBoolean(1));
        }
    }

    private static void unlock(Connection c, long lock) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock(?)")) {
            ps.setLong(1, lock);
            ps.executeQuery().close();
        }
    }

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
