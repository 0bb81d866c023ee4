package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Drift monitors and their transitions; the one owner of monitor storage. Every replica of the comparison service
 * reads the same definitions, so a monitor created through one is evaluated and listed by all.
 */
public final class MonitorStore {

    /** Why a write was refused; the API maps each to its status. */
    public enum Refusal {
        /** create: the name is taken */
        EXISTS,
        /** update, delete: no monitor of that name */
        MISSING,
        /** update, delete: the monitor comes from configuration, and changes only there */
        FROM_CONFIG,
        /** update, delete: the caller may not change the monitor's model */
        NOT_GRANTED
    }

    /** A write the store refused, and why. */
    public static final class RefusedException extends RuntimeException {
        private final Refusal refusal;

        RefusedException(Refusal refusal, String message) {
            super(message);
            this.refusal = refusal;
        }

        public Refusal refusal() {
            return refusal;
        }
    }

    private static final String COLUMNS = "name, model_id, tap, reference, slice, metric, mode, threshold, "
            + "minimum_effect, false_alarm_budget, windows_in_a_row, min_observations, max_span_minutes, source, "
            + "generation, updated_by, updated_at";

    private final DataSource dataSource;

    public MonitorStore(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Every monitor, by name (of one model when {@code modelId} is not null). */
    public List<StoredMonitor> list(String modelId) {
        return Transactions.run(dataSource, "listing monitors", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM monitor"
                    + (modelId == null ? "" : " WHERE model_id = ?") + " ORDER BY name")) {
                if (modelId != null) {
                    Sql.bind(ps, modelId);
                }
                return Sql.list(ps, MonitorStore::monitor);
            }
        });
    }

    public Optional<StoredMonitor> find(String name) {
        return Transactions.run(dataSource, "reading monitor " + name, c -> find(c, name, false));
    }

    private static Optional<StoredMonitor> find(Connection c, String name, boolean forUpdate) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM monitor WHERE name = ?"
                + (forUpdate ? " FOR UPDATE" : ""))) {
            Sql.bind(ps, name);
            return Optional.ofNullable(Sql.first(ps, MonitorStore::monitor));
        }
    }

    /** Creates a monitor through the API; refused ({@link Refusal#EXISTS}) when the name is taken. */
    public StoredMonitor create(MonitorDefinition d, String by) {
        return Transactions.run(dataSource, "creating monitor " + d.name(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor (" + COLUMNS + ") VALUES (?, ?, ?, "
                    + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'api', nextval('monitor_generation'), ?, now()) "
                    + "ON CONFLICT (name) DO NOTHING")) {
                bindDefinition(ps, d);
                Sql.bindFrom(ps, 14, by);
                if (ps.executeUpdate() == 0) {
                    throw new RefusedException(Refusal.EXISTS, "monitor '" + d.name() + "' exists");
                }
            }
            return find(c, d.name(), false).orElseThrow();
        });
    }

    /**
     * Replaces a monitor's definition through the API. A definition that measures something else (see
     * {@link MonitorDefinition#measuresAs}) takes a new generation (from one sequence: a generation is never used
     * twice, not even by a monitor deleted and made again under its name): the monitor's state starts over.
     */
    public StoredMonitor update(MonitorDefinition d, String by) {
        return update(d, by, model -> true);
    }

    /**
     * Replaces a monitor made through the API, when {@code mayChange} admits the model it watches now (checked on
     * the row this transaction locks, so that a monitor deleted and made again for another model meanwhile is
     * refused too).
     */
    public StoredMonitor update(MonitorDefinition d, String by, java.util.function.Predicate<String> mayChange) {
        return Transactions.run(dataSource, "updating monitor " + d.name(), c -> {
            StoredMonitor old = find(c, d.name(), true).orElseThrow(() -> new RefusedException(Refusal.MISSING,
                    "no monitor '" + d.name() + "'"));
            refuseUngranted(old, mayChange);
            if (old.source() == StoredMonitor.Source.CONFIG) {
                throw new RefusedException(Refusal.FROM_CONFIG, "monitor '" + d.name() + "' comes from the "
                        + "comparison service's configuration: change it there");
            }
            write(c, d, !old.definition().measuresAs(d), by, StoredMonitor.Source.API);
            return find(c, d.name(), false).orElseThrow();
        });
    }

    /** Deletes a monitor made through the API, and its transitions. */
    public void delete(String name, String by) {
        delete(name, by, model -> true);
    }

    /** Deletes a monitor made through the API and its transitions, when {@code mayChange} admits its model. */
    public void delete(String name, String by, java.util.function.Predicate<String> mayChange) {
        Transactions.run(dataSource, "deleting monitor " + name, c -> {
            StoredMonitor old = find(c, name, true).orElseThrow(() -> new RefusedException(Refusal.MISSING,
                    "no monitor '" + name + "'"));
            refuseUngranted(old, mayChange);
            if (old.source() == StoredMonitor.Source.CONFIG) {
                throw new RefusedException(Refusal.FROM_CONFIG, "monitor '" + name + "' comes from the comparison "
                        + "service's configuration: remove it there");
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM monitor WHERE name = ?")) {
                Sql.bind(ps, name);
                ps.executeUpdate();
            }
            return null;
        });
    }

    private static void refuseUngranted(StoredMonitor old, java.util.function.Predicate<String> mayChange) {
        if (!mayChange.test(old.definition().modelId())) {
            // names the monitor, not its model: a confined caller learns nothing of models it is not granted
            throw new RefusedException(Refusal.NOT_GRANTED, "monitor '" + old.definition().name()
                    + "' watches a model this token is not granted");
        }
    }

    /** Deletes a configuration monitor that the configuration no longer holds (at a start), and its transitions. */
    public void deleteFromConfig(String name) {
        Transactions.run(dataSource, "deleting configured monitor " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "DELETE FROM monitor WHERE name = ? AND source = 'config'")) {
                Sql.bind(ps, name);
                return ps.executeUpdate();
            }
        });
    }

    /**
     * Upserts a monitor of the configuration by name (replicas starting together write it once each, the same
     * row); it becomes a configuration monitor if the API had made one of that name. Unchanged, nothing is written.
     */
    public StoredMonitor upsertFromConfig(MonitorDefinition d) {
        return Transactions.run(dataSource, "storing configured monitor " + d.name(), c -> {
            AdvisoryLocks.lock(c, "monitor", List.of(d.name()));
            Optional<StoredMonitor> old = find(c, d.name(), true);
            if (old.isEmpty()) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor (" + COLUMNS + ") VALUES (?, ?, "
                        + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'config', nextval('monitor_generation'), 'config', "
                        + "now())")) {
                    bindDefinition(ps, d);
                    ps.executeUpdate();
                }
            } else if (!old.get().definition().equals(d) || old.get().source() != StoredMonitor.Source.CONFIG) {
                write(c, d, !old.get().definition().measuresAs(d), "config", StoredMonitor.Source.CONFIG);
            }
            return find(c, d.name(), false).orElseThrow();
        });
    }

    /** @param newGeneration the definition measures something else: its state starts over under a new generation */
    private static void write(Connection c, MonitorDefinition d, boolean newGeneration, String by,
            StoredMonitor.Source source) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE monitor SET name = ?, model_id = ?, tap = ?, "
                + "reference = ?, slice = ?, metric = ?, mode = ?, threshold = ?, minimum_effect = ?, "
                + "false_alarm_budget = ?, windows_in_a_row = ?, min_observations = ?, max_span_minutes = ?, "
                + "generation = CASE WHEN ? THEN nextval('monitor_generation') ELSE generation END, updated_by = ?, "
                + "source = ?, updated_at = now() WHERE name = ?")) {
            bindDefinition(ps, d);
            Sql.bindFrom(ps, 14, newGeneration, by, source.word(), d.name());
            ps.executeUpdate();
        }
    }

    private static void bindDefinition(PreparedStatement ps, MonitorDefinition d) throws SQLException {
        Sql.bind(ps, d.name(), d.modelId(), d.tap(), d.reference(), d.slice().key(),
                MonitorDefinition.metricWord(d.metric()), d.mode().word(), d.threshold(), d.minimumEffect(),
                d.falseAlarmBudget(), d.windowsInARow(), d.minObservations(), d.maxSpanMinutes());
    }

    private static StoredMonitor monitor(ResultSet rs) throws SQLException {
        MonitorDefinition d = new MonitorDefinition(rs.getString(1), rs.getString(2), rs.getString(3),
                rs.getString(4), Slice.parse(rs.getString(5)), MonitorDefinition.metric(rs.getString(6)),
                MonitorDefinition.mode(rs.getString(7)), rs.getDouble(8), rs.getDouble(9), rs.getDouble(10),
                rs.getInt(11), rs.getLong(12), rs.getInt(13));
        return new StoredMonitor(d, StoredMonitor.Source.valueOf(rs.getString(14).toUpperCase(java.util.Locale.ROOT)),
                rs.getLong(15), rs.getString(16), rs.getTimestamp(17).toInstant());
    }

    /** The lease every write of the evaluating replica checks, in the write's own statement. */
    static final String HOLDS_LEASE = "EXISTS (SELECT 1 FROM monitor_lease WHERE name = 'monitors' AND "
            + "holder = ? AND epoch = ? AND expires_at > now())";

    /**
     * Stores a transition unless the same one (monitor, generation, tap, since, state) is stored already; returns it
     * with its id, or empty when it was there already or the monitor is gone or changed since (its generation is not
     * {@code t.generation()} any more).
     */
    public Optional<Transition> record(Transition t) {
        return Transactions.run(dataSource, "recording a transition of monitor " + t.monitor(),
                c -> TransitionRows.insert(c, t, null));
    }

    /** Deletes the transitions recorded before {@code before}; returns how many. */
    public int pruneTransitions(Instant before) {
        return delete("DELETE FROM monitor_transition WHERE recorded_at < ?", before);
    }

    /** Deletes the evaluations of minutes that ended before {@code before}; returns how many. */
    public int pruneEvaluations(Instant before) {
        return delete("DELETE FROM monitor_evaluation WHERE window_end < ?", before);
    }

    private int delete(String sql, Instant before) {
        return Transactions.run(dataSource, "pruning monitors' history", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql)) {
                Sql.bind(ps, before);
                return ps.executeUpdate();
            }
        });
    }

    /**
     * A monitor's transitions of one generation, newest first, at most {@code limit}: what it recorded since it last
     * started over (a change of model always starts it over, so none of these is of another model).
     */
    public List<Transition> history(String name, long generation, int limit) {
        return Transactions.run(dataSource, "reading the history of monitor " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + TransitionRows.COLUMNS
                    + " FROM monitor_transition WHERE monitor = ? AND generation = ? ORDER BY id DESC LIMIT ?")) {
                Sql.bind(ps, name, generation, limit);
                return Sql.list(ps, TransitionRows::read);
            }
        });
    }

    /** A monitor's transitions, newest first, at most {@code limit}. */
    public List<Transition> history(String name, int limit) {
        return Transactions.run(dataSource, "reading the history of monitor " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + TransitionRows.COLUMNS
                    + " FROM monitor_transition WHERE monitor = ? ORDER BY id DESC LIMIT ?")) {
                Sql.bind(ps, name, limit);
                return Sql.list(ps, TransitionRows::read);
            }
        });
    }

    /** The transitions stored after id {@code after}, in order, at most {@code limit}: what a replica pushes next. */
    public List<Transition> transitionsAfter(long after, int limit) {
        return Transactions.run(dataSource, "reading monitor transitions", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + TransitionRows.COLUMNS
                    + " FROM monitor_transition WHERE id > ? ORDER BY id LIMIT ?")) {
                Sql.bind(ps, after, limit);
                return Sql.list(ps, TransitionRows::read);
            }
        });
    }

    /** The newest transition's id (0 when none): a replica starting pushes what comes after it. */
    public long newestTransitionId() {
        return Transactions.run(dataSource, "reading monitor transitions", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(max(id), 0) FROM monitor_transition")) {
                return Sql.one(ps, rs -> rs.getLong(1));
            }
        });
    }

    // ------------------------------------------------------------------ the evaluating replica's lease

    /** A held lease: who holds it, and the epoch every write checks. */
    public record Lease(String holder, long epoch) {
    }

    /**
     * Takes the lease, or renews it when {@code holder} holds it, for {@code ttl}: empty while another holds it
     * unexpired. A new holder (or a holder whose lease had expired) gets a higher epoch, which its writes carry.
     */
    public Optional<Lease> acquire(String holder, java.time.Duration ttl) {
        return Transactions.run(dataSource, "taking the monitors' lease", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor_lease (name, holder, epoch, expires_at) "
                    + "VALUES ('monitors', ?, 1, now() + make_interval(secs => ?)) ON CONFLICT (name) DO UPDATE SET "
                    + "holder = excluded.holder, epoch = CASE WHEN monitor_lease.holder = excluded.holder AND "
                    + "monitor_lease.expires_at > now() THEN monitor_lease.epoch ELSE monitor_lease.epoch + 1 END, "
                    + "expires_at = excluded.expires_at WHERE monitor_lease.holder = excluded.holder "
                    + "OR monitor_lease.expires_at <= now() RETURNING epoch")) {
                ps.setString(1, holder);
                ps.setDouble(2, ttl.toMillis() / 1000.0);
                return Optional.ofNullable(Sql.first(ps, rs -> new Lease(holder, rs.getLong(1))));
            }
        });
    }

    /**
     * Whether {@code lease} is still held: a write that stored nothing was refused either for the lease or because
     * its monitor changed meanwhile, and only the first stops this replica's evaluations.
     */
    public boolean holds(Lease lease) {
        return Transactions.run(dataSource, "reading the monitors' lease", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + HOLDS_LEASE)) {
                Sql.bind(ps, lease.holder(), lease.epoch());
                return Boolean.TRUE.equals(Sql.first(ps, rs -> rs.getBoolean(1)));
            }
        });
    }

    /** Gives the lease up (a clean stop): another replica takes it at once instead of after its time to live. */
    public void release(Lease lease) {
        Transactions.run(dataSource, "releasing the monitors' lease", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE monitor_lease SET expires_at = now() WHERE "
                    + "name = 'monitors' AND holder = ? AND epoch = ?")) {
                Sql.bind(ps, lease.holder(), lease.epoch());
                return ps.executeUpdate();
            }
        });
    }

    // ------------------------------------------------------------------ states and evaluations

    /** Every monitor's state per tap, of each monitor's current generation. */
    public List<MonitorStatus> states() {
        return Transactions.run(dataSource, "reading monitor states", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT s.monitor, s.generation, s.tap, s.state, s.since, "
                    + "s.since_lower_bound, s.last_evaluated, s.window_start, s.window_observations, "
                    + "s.reference_observations, s.value, s.threshold_applied, s.reason, s.minimum_effect, "
                    + "s.null_quantile, s.sketch_bound, s.alpha, s.smallest_detectable_effect, s.calibrating "
                    + "FROM monitor_state s "
                    + "JOIN monitor m ON m.name = s.monitor AND m.generation = s.generation "
                    + "ORDER BY s.monitor, s.tap")) {
                return Sql.list(ps, rs -> {
                    Timestamp since = rs.getTimestamp(5);
                    return new MonitorStatus(rs.getString(1), rs.getLong(2), rs.getString(3),
                            Transition.State.of(rs.getString(4)), since == null ? null : since.toInstant(),
                            rs.getBoolean(6), rs.getTimestamp(7).toInstant(), rs.getTimestamp(8).toInstant(),
                            rs.getLong(9), rs.getLong(10), rs.getDouble(11), rs.getDouble(12),
                            CalibrationColumns.read(rs, 14), rs.getString(13));
                });
            }
        });
    }

    /** An evaluation of a monitor on one of its taps. */
    public record TapEvaluation(String tap, MonitorRun.Evaluation evaluation) {
    }

    /** The stored evaluations of a monitor's generation on a tap, oldest first. */
    public List<MonitorRun.Evaluation> evaluations(String monitor, long generation, String tap) {
        return readEvaluations("tap = ?", monitor, generation, tap).stream().map(TapEvaluation::evaluation).toList();
    }

    /**
     * The newest transition of a monitor's generation on a tap whose state began before {@code before}: the state
     * that held then (none: ok since the generation began).
     */
    public Optional<Transition> stateBefore(String monitor, long generation, String tap, Instant before) {
        return Transactions.run(dataSource, "reading the state of monitor " + monitor, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + TransitionRows.COLUMNS + " FROM "
                    + "monitor_transition WHERE monitor = ? AND generation = ? AND tap = ? AND since < ? ORDER BY "
                    + "since DESC, id DESC LIMIT 1")) {
                Sql.bind(ps, monitor, generation, tap, before);
                return Sql.list(ps, TransitionRows::read).stream().findFirst();
            }
        });
    }

    /** The stored evaluations of a monitor's generation on every tap, of minutes ending after {@code after}. */
    public List<TapEvaluation> evaluations(String monitor, long generation, Instant after) {
        return readEvaluations("window_end > ?", monitor, generation, after);
    }

    private List<TapEvaluation> readEvaluations(String which, String monitor, long generation, Object value) {
        return Transactions.run(dataSource, "reading evaluations of monitor " + monitor,
                c -> EvaluationRows.read(c, which, monitor, generation, value));
    }

    /**
     * Writes one evaluation, the state it leaves, and the transition it caused (if any), in one transaction whose
     * every statement checks the lease: false, and nothing written, when {@code lease} is not held any more (or the
     * monitor was changed or deleted meanwhile).
     *
     * @return the transition as stored (with its id), or empty when there was none; null when nothing was written
     */
    public Optional<Transition> write(Lease lease, MonitorRun.Evaluation e, MonitorStatus state,
            Transition transition) {
        return Transactions.run(dataSource, "writing an evaluation of monitor " + state.monitor(), c -> {
            // the lease row held (shared) to the commit: another replica taking the lease waits for this write
            // instead of taking it between its statements, where the transition was dropped as if stored before
            // while the evaluation and state it decided were committed (the new holder then never recorded it)
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM monitor_lease WHERE name = 'monitors' "
                    + "AND holder = ? AND epoch = ? AND expires_at > now() FOR SHARE")) {
                Sql.bind(ps, lease.holder(), lease.epoch());
                if (Sql.first(ps, rs -> rs.getInt(1)) == null) {
                    return null;
                }
            }
            int written = EvaluationRows.insert(c, lease, e, state) + EvaluationRows.upsertState(c, lease, state);
            if (written != 2) {
                c.rollback();
                return null;
            }
            if (transition == null) {
                return Optional.<Transition>empty();
            }
            Optional<Transition> stored = TransitionRows.insert(c, transition, lease);
            return stored;
        });
    }
}
