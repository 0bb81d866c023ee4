package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.TrailingWindow;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

/**
 * A monitor's evaluation and state rows: the two statements of {@link MonitorStore#write}, each checking the lease
 * ({@link MonitorStore#HOLDS_LEASE}) and the monitor's generation, and how evaluations are read back.
 */
final class EvaluationRows {

    private EvaluationRows() {
    }

    /** Stores an evaluation, or decides one stored before again: the rows written (0: the lease or monitor is gone). */
    static int insert(Connection c, MonitorStore.Lease lease, MonitorRun.Evaluation e, MonitorStatus state)
            throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor_evaluation (monitor, generation, tap, "
                + "window_end, window_start, window_observations, reference_observations, value, "
                + "threshold_applied, outcome, epoch, " + CalibrationColumns.NAMES
                + ") SELECT name, generation, ?, ?, "
                + "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM monitor WHERE name = ? AND generation = ? AND "
                // an evaluation written again is decided again (a re-decision at a new threshold, a replay after a
                // takeover): every decided column follows, or its history kept the old threshold and outcome
                // beside the new value
                + MonitorStore.HOLDS_LEASE + " ON CONFLICT (monitor, generation, tap, window_end) DO UPDATE SET "
                + "window_start = excluded.window_start, window_observations = excluded.window_observations, "
                + "reference_observations = excluded.reference_observations, value = excluded.value, "
                + "threshold_applied = excluded.threshold_applied, outcome = excluded.outcome, epoch = "
                + "excluded.epoch, " + CalibrationColumns.EXCLUDED)) {
            Sql.bind(ps, state.tap(), e.end(), e.window().start(), e.window().observations(),
                    e.referenceObservations());
            ps.setDouble(6, e.value());
            ps.setDouble(7, e.thresholdApplied());
            Sql.bindFrom(ps, 8, e.outcome().name().toLowerCase(java.util.Locale.ROOT), lease.epoch());
            CalibrationColumns.bind(ps, 10, e.calibration());
            Sql.bindFrom(ps, 10 + CalibrationColumns.COUNT, state.monitor(), state.generation(), lease.holder(),
                    lease.epoch());
            return ps.executeUpdate();
        }
    }

    /** Stores the state an evaluation leaves; returns the rows written (0: lease or monitor gone). */
    static int upsertState(Connection c, MonitorStore.Lease lease, MonitorStatus state) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO monitor_state (monitor, generation, tap, "
                + "state, since, since_lower_bound, last_evaluated, window_start, window_observations, "
                + "reference_observations, value, threshold_applied, reason, epoch, " + CalibrationColumns.NAMES
                + ") SELECT name, generation, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM monitor WHERE "
                + "name = ? AND generation = ? AND " + MonitorStore.HOLDS_LEASE + " ON CONFLICT (monitor, tap) DO "
                + "UPDATE SET generation = excluded.generation, state = excluded.state, since = excluded.since, "
                + "since_lower_bound = excluded.since_lower_bound, last_evaluated = excluded.last_evaluated, "
                + "window_start = excluded.window_start, window_observations = excluded.window_observations, "
                + "reference_observations = excluded.reference_observations, value = excluded.value, "
                + "threshold_applied = excluded.threshold_applied, reason = excluded.reason, epoch = "
                + "excluded.epoch, " + CalibrationColumns.EXCLUDED)) {
            Sql.bind(ps, state.tap(), state.state().word());
            ps.setTimestamp(3, state.since() == null ? null : Timestamp.from(state.since()));
            Sql.bindFrom(ps, 4, state.sinceLowerBound(), state.lastEvaluated(), state.windowStart(),
                    state.windowObservations(), state.referenceObservations());
            ps.setDouble(9, state.value());
            ps.setDouble(10, state.thresholdApplied());
            ps.setString(11, state.reason());
            Sql.bindFrom(ps, 12, lease.epoch());
            CalibrationColumns.bind(ps, 13, state.calibration());
            Sql.bindFrom(ps, 13 + CalibrationColumns.COUNT, state.monitor(), state.generation(), lease.holder(),
                    lease.epoch());
            return ps.executeUpdate();
        }
    }

    /** A generation's evaluations {@code which} (a condition on one bound {@code value}), oldest first. */
    static List<MonitorStore.TapEvaluation> read(Connection c, String which, String monitor, long generation,
            Object value) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT window_end, window_start, window_observations, "
                + "reference_observations, value, threshold_applied, outcome, tap, " + CalibrationColumns.NAMES
                + " FROM monitor_evaluation WHERE monitor = ? AND generation = ? AND " + which
                + " ORDER BY window_end, tap")) {
            Sql.bind(ps, monitor, generation, value);
            return Sql.list(ps, rs -> {
                Instant end = rs.getTimestamp(1).toInstant();
                MonitorRun.Outcome outcome = MonitorRun.Outcome.valueOf(rs.getString(7).toUpperCase(
                        java.util.Locale.ROOT));
                return new MonitorStore.TapEvaluation(rs.getString(8), new MonitorRun.Evaluation(end,
                        new TrailingWindow(rs.getTimestamp(2).toInstant(), end, rs.getLong(3),
                                outcome != MonitorRun.Outcome.INSUFFICIENT_DATA), rs.getLong(4), rs.getDouble(5),
                        rs.getDouble(6), outcome, null, CalibrationColumns.read(rs, 9)));
            });
        }
    }
}
