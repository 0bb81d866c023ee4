package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.monitor.CalibratedThreshold;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** A calibrated threshold's five columns, as monitor states and evaluations store them (all null when fixed). */
final class CalibrationColumns {

    private CalibrationColumns() {
    }

    /** A calibrated threshold's parts, in the order {@link #read} reads and {@link #bind} binds. */
    static final String NAMES = "minimum_effect, null_quantile, sketch_bound, alpha, "
            + "smallest_detectable_effect";

    /** The calibrated threshold whose parts start at column {@code first}; null for a fixed monitor's row. */
    static CalibratedThreshold read(ResultSet rs, int first) throws SQLException {
        double minimumEffect = rs.getDouble(first);
        if (rs.wasNull()) {
            return null;
        }
        return new CalibratedThreshold(minimumEffect, rs.getDouble(first + 1), rs.getDouble(first + 2),
                rs.getDouble(first + 3), rs.getDouble(first + 4));
    }

    static void bind(PreparedStatement ps, int first, CalibratedThreshold t)
            throws SQLException {
        double[] parts = t == null ? null : new double[] {t.minimumEffect(), t.nullQuantile(), t.sketchBound(),
            t.alpha(), t.smallestDetectableEffect()};
        for (int i = 0; i < 5; i++) {
            if (parts == null) {
                ps.setNull(first + i, java.sql.Types.DOUBLE);
            } else {
                ps.setDouble(first + i, parts[i]);
            }
        }
    }
}
