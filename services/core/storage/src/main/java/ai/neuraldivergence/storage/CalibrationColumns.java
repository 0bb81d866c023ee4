package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.monitor.CalibratedThreshold;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** A calibrated threshold's six columns, as monitor states and evaluations store them (all null when fixed). */
final class CalibrationColumns {

    private CalibrationColumns() {
    }

    /** A calibrated threshold's parts, in the order {@link #read} reads and {@link #bind} binds. */
    static final String NAMES = "minimum_effect, null_quantile, sketch_bound, alpha, "
            + "smallest_detectable_effect, calibrating";
    /** How many columns {@link #NAMES} lists. */
    static final int COUNT = 6;
    /** {@code excluded.} of each, for an upsert's update. */
    static final String EXCLUDED = "minimum_effect = excluded.minimum_effect, null_quantile = excluded.null_quantile, "
            + "sketch_bound = excluded.sketch_bound, alpha = excluded.alpha, smallest_detectable_effect = "
            + "excluded.smallest_detectable_effect, calibrating = excluded.calibrating";

    /** The calibrated threshold whose parts start at column {@code first}; null for a fixed monitor's row. */
    static CalibratedThreshold read(ResultSet rs, int first) throws SQLException {
        double minimumEffect = rs.getDouble(first);
        if (rs.wasNull()) {
            return null;
        }
        // rows stored before the column read as not calibrating
        return new CalibratedThreshold(minimumEffect, rs.getDouble(first + 1), rs.getDouble(first + 2),
                rs.getDouble(first + 3), rs.getDouble(first + 4), rs.getBoolean(first + 5));
    }

    static void bind(PreparedStatement ps, int first, CalibratedThreshold t)
            throws SQLException {
        double[] parts = t == null ? null : new double[] {t.minimumEffect(), t.nullQuantile(), t.sketchBound(),
            t.alpha(), t.smallestDetectableEffect()};
        for (int i = 0; i < COUNT - 1; i++) {
            if (parts == null) {
                ps.setNull(first + i, java.sql.Types.DOUBLE);
            } else {
                ps.setDouble(first + i, parts[i]);
            }
        }
        if (t == null) {
            ps.setNull(first + COUNT - 1, java.sql.Types.BOOLEAN);
        } else {
            ps.setBoolean(first + COUNT - 1, t.calibrating());
        }
    }
}
