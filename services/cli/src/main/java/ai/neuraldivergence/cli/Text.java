package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.Metric;
import java.util.Locale;

/** Metrics and shares as a user types and reads them: {@code ks}, {@code jensen_shannon}, {@code 12.5%}. */
final class Text {

    private Text() {
    }

    static Metric metric(String word) {
        try {
            return Metric.valueOf("METRIC_" + word.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("metric must be ks, wasserstein, jensen_shannon, psi, mean_shift or "
                    + "mmd (monitors); got '" + word + "'");
        }
    }

    static String word(Metric m) {
        return m.name().substring("METRIC_".length()).toLowerCase(Locale.ROOT);
    }

    static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * share);
    }

    /**
     * A tap's layer statistic in one line: "layer: MMD² 0.0051 > threshold 0.0032 (minimum effect 0.0010 + null
     * 0.0022 resampled, bandwidth 5.66): drifted", or why it is unavailable. The null is "resampled" (from side A's
     * calibration sample), "analytic", or "analytic, calibrating" (A's reference was sealed moments ago).
     */
    static String layer(ai.neuraldivergence.proto.v1.LayerDrift l) {
        if (!l.getAvailable()) {
            return "layer: unavailable (" + l.getUnavailableReason() + ")";
        }
        String nullSource = l.getNullResampled() ? "resampled" : l.getCalibrating() ? "analytic, calibrating"
                : "analytic";
        return String.format(Locale.ROOT, "layer: MMD² %.4f %s threshold %.4f (minimum effect %.4f + null %.4f %s, "
                + "bandwidth %.2f): %s", l.getMmd(), l.getDrifted() ? ">" : "<=", l.getThreshold(),
                l.getMinimumEffect(), l.getNullQuantile(), nullSource, l.getBandwidth(),
                l.getDrifted() ? "drifted" : "not drifted");
    }

    /** A layer statistic as a table cell: "drifted", "ok" or "n/a". */
    static String layerCell(ai.neuraldivergence.proto.v1.LayerDrift l) {
        return !l.getAvailable() ? "n/a" : l.getDrifted() ? "drifted" : "ok";
    }
}
