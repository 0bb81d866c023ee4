package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
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
        FROM_CONFIG
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
                    + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'api', 1, ?, now()) ON CONFLICT (name) DO NOTHING")) {
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
     * {@link MonitorDefinition#measuresAs}) increases the generation: the monitor's state starts over.
     */
    public StoredMonitor update(MonitorDefinition d, String by) {
        return Transactions.run(dataSource, "updating monitor " + d.name(), c -> {
            StoredMonitor old = find(c, d.name(), true).orElseThrow(() -> new RefusedException(Refusal.MISSING,
                    "no monitor '" + d.name() + "'"));
            if (old.source() == StoredMonitor.Source.CONFIG) {
                throw new RefusedException(Refusal.FROM_CONFIG, "monitor '" + d.name() + "' comes from the "
                        + "comparison service's configuration: change it there");
            }
            write(c, d, old.generation() + (old.definition().measuresAs(d) ? 0 : 1), by, StoredMonitor.Source.API);
            return find(c, d.name(), false).orElseThrow();
        });
    }

    /** Deletes a monitor made through the API, and its transitions. */
    public void delete(String name, String by) {
        Transactions.run(dataSource, "deleting monitor " + name, c -> {
            StoredMonitor old = find(c, name, true).orElseThrow(() -> new RefusedException(Refusal.MISSING,
                    "no monitor '" + name + "'"));
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
                        + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'config', 1, 'config', now())")) {
                    bindDefinition(ps, d);
                    ps.executeUpdate();
                }
            } else if (!old.get().definition().equals(d) || old.get().source() != StoredMonitor.Source.CONFIG) {
                write(c, d, old.get().generation() + (old.get().definition().measuresAs(d) ? 0 : 1), "config",
                        StoredMonitor.Source.CONFIG);
            }
            return find(c, d.name(), false).orElseThrow();
        });
    }

    private static void write(Connection c, MonitorDefinition d, long generation, String by,
            StoredMonitor.Source source) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE monitor SET name = ?, model_id = ?, tap = ?, "
                + "reference = ?, slice = ?, metric = ?, mode = ?, threshold = ?, minimum_effect = ?, "
                + "false_alarm_budget = ?, windows_in_a_row = ?, min_observations = ?, max_span_minutes = ?, "
                + "generation = ?, updated_by = ?, source = ?, updated_at = now() WHERE name = ?")) {
            bindDefinition(ps, d);
            Sql.bindFrom(ps, 14, generation, by, source.word(), d.name());
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

    /**
     * Stores a transition unless the same one (monitor, generation, tap, since, state) is stored already, as when
     * two replicas found it; returns it with its id, or empty when it was there already or the monitor is gone or
     * changed since (its generation is not {@code t.generation()} any more).
     */
    public Optional<Transition> record(Transition t) {
        return Transactions.run(dataSource, "recording a transition of monitor " + t.monitor(), c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor_transition (monitor, generation, tap, "
                    + "state, previous_state, since, value, threshold_applied) SELECT name, generation, ?, ?, ?, ?, ?, "
                    + "? FROM monitor WHERE name = ? AND generation = ? ON CONFLICT DO NOTHING "
                    + "RETURNING id, recorded_at")) {
                Sql.bind(ps, t.tap(), t.state().word(), t.previous().word(), t.since());
                // a value may be NaN (a metric undefined on a side): stored as it is
                ps.setDouble(5, t.value());
                ps.setDouble(6, t.thresholdApplied());
                Sql.bindFrom(ps, 7, t.monitor(), t.generation());
                return Optional.ofNullable(Sql.first(ps, rs -> new Transition(rs.getLong(1), t.monitor(),
                        t.generation(), t.tap(), t.state(), t.previous(), t.since(), t.value(),
                        t.thresholdApplied(), rs.getTimestamp(2).toInstant())));
            }
        });
    }

    /** Deletes the transitions recorded before {@code before}; returns how many. */
    public int pruneTransitions(java.time.Instant before) {
        return Transactions.run(dataSource, "pruning monitor transitions", c -> {
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM monitor_transition WHERE recorded_at < ?")) {
                Sql.bind(ps, before);
                return ps.executeUpdate();
            }
        });
    }

    /** A monitor's transitions, newest first, at most {@code limit}. */
    public List<Transition> history(String name, int limit) {
        return Transactions.run(dataSource, "reading the history of monitor " + name, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, monitor, generation, tap, state, "
                    + "previous_state, since, value, threshold_applied, recorded_at FROM monitor_transition "
                    + "WHERE monitor = ? ORDER BY id DESC LIMIT ?")) {
                Sql.bind(ps, name, limit);
                return Sql.list(ps, rs -> new Transition(rs.getLong(1), rs.getString(2), rs.getLong(3),
                        rs.getString(4), Transition.State.of(rs.getString(5)), Transition.State.of(rs.getString(6)),
                        rs.getTimestamp(7).toInstant(), rs.getDouble(8), rs.getDouble(9),
                        rs.getTimestamp(10).toInstant()));
            }
        });
    }
}
