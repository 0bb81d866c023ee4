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
        return word(m, "METRIC_");
    }

    /**
     * A contract enum's value as a word: its name without the enum's prefix, in lower case ({@code
     * REFERENCE_ORIGIN_FROZEN} is {@code frozen}). A value this CLI was built before is {@code unknown}: a newer
     * service adding one must not make an older CLI fail on the whole listing.
     */
    static String word(Enum<?> value, String prefix) {
        String name = value.name();
        return name.startsWith(prefix) ? name.substring(prefix.length()).toLowerCase(Locale.ROOT) : "unknown";
    }

    /**
     * A word as a shell reads it back unchanged: as it is when plain, else in single quotes (POSIX). One holding a
     * character a terminal does not show as itself ({@link VisibleWriter}: a bidirectional override, a zero-width
     * character) is written in bash's and zsh's {@code $'...'} form with that character escaped, so that the line
     * shows what it holds and still pastes as the same word.
     */
    static String shellWord(String word) {
        if (word.matches("[A-Za-z0-9._:/@=+,%-]+")) {
            return word;
        }
        if (word.codePoints().noneMatch(VisibleWriter::invisible)) {
            return "'" + word.replace("'", "'\\''") + "'";
        }
        StringBuilder b = new StringBuilder("$'");
        word.codePoints().forEach(cp -> {
            if (cp == '\\' || cp == '\'') {
                b.append('\\').append((char) cp);
            } else if (VisibleWriter.invisible(cp)) {
                b.append(String.format(cp <= 0xFFFF ? "\\u%04x" : "\\U%08x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.append('\'').toString();
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
