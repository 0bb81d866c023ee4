package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.monitor.Transition;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.List;
import java.util.Optional;

/** A monitor transition's row: its columns, how one is read, and the insert that stores one once. */
final class TransitionRows {

    private TransitionRows() {
    }

    static final String COLUMNS = "id, monitor, generation, tap, state, previous_state, since, "
            + "since_lower_bound, value, threshold_applied, reason, window_start, window_end, slice, top_neurons, "
            + "recorded_at";

    /**
     * Stores {@code t} unless the same one is stored already, or its monitor is gone or changed since; with a lease,
     * only while it is held.
     */
    static Optional<Transition> insert(Connection c, Transition t, MonitorStore.Lease lease) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor_transition (monitor, generation, tap, "
                + "state, previous_state, since, since_lower_bound, value, threshold_applied, reason, window_start, "
                + "window_end, slice, top_neurons) SELECT name, generation, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM "
                + "monitor WHERE name = ? AND generation = ?"
                + (lease == null ? "" : " AND " + MonitorStore.HOLDS_LEASE)
                + " ON CONFLICT DO NOTHING RETURNING " + COLUMNS)) {
            Sql.bind(ps, t.tap(), t.state().word(), t.previous().word(), t.since(), t.sinceLowerBound());
            // a value may be NaN (a metric undefined on a side): stored as it is
            ps.setDouble(6, t.value());
            ps.setDouble(7, t.thresholdApplied());
            ps.setString(8, t.reason());
            ps.setTimestamp(9, t.windowStart() == null ? null : Timestamp.from(t.windowStart()));
            ps.setTimestamp(10, t.windowEnd() == null ? null : Timestamp.from(t.windowEnd()));
            ps.setString(11, t.slice());
            ps.setArray(12, c.createArrayOf("integer", t.topNeurons().toArray()));
            Sql.bindFrom(ps, 13, t.monitor(), t.generation());
            if (lease != null) {
                Sql.bindFrom(ps, 15, lease.holder(), lease.epoch());
            }
            return Optional.ofNullable(Sql.first(ps, TransitionRows::read));
        }
    }

    static Transition read(ResultSet rs) throws SQLException {
        Timestamp from = rs.getTimestamp(12);
        Timestamp to = rs.getTimestamp(13);
        Integer[] top = (Integer[]) rs.getArray(15).getArray();
        return new Transition(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getString(4),
                Transition.State.of(rs.getString(5)), Transition.State.of(rs.getString(6)),
                rs.getTimestamp(7).toInstant(), rs.getBoolean(8), rs.getDouble(9), rs.getDouble(10), rs.getString(11),
                from == null ? null : from.toInstant(), to == null ? null : to.toInstant(), rs.getString(14),
                List.of(top), rs.getTimestamp(16).toInstant());
    }
}
