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
            throw new IllegalArgumentException("metric must be ks, wasserstein, jensen_shannon, psi or mean_shift; "
                    + "got '" + word + "'");
        }
    }

    static String word(Metric m) {
        return m.name().substring("METRIC_".length()).toLowerCase(Locale.ROOT);
    }

    static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * share);
    }
}
