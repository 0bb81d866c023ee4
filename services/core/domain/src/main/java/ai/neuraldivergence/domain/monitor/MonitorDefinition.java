package ai.neuraldivergence.domain.monitor;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a drift monitor watches (a model's tap, or every tap, against a reference, in a slice, by a metric) and when
 * it fires. Checked whole on construction, so that the API, the configuration and the store share one rule.
 *
 * @param tap a tap name, or {@link #EVERY_TAP}
 * @param threshold fixed mode: the value above which an evaluation counts as drifted
 * @param minimumEffect calibrated mode: the smallest effect worth an alert (δ), in the metric's unit: mean KS or MMD²
 * @param falseAlarmBudget calibrated mode: false alarms allowed per monitor (all its taps) per 30 days
 * @param windowsInARow consecutive evaluations over (or back under) the threshold before the state changes
 * @param minObservations observations an evaluation needs; its window grows from one minute until it holds them
 * @param maxSpanMinutes the longest that window may grow
 */
public record MonitorDefinition(String name, String modelId, String tap, String reference, Slice slice,
        Divergence.Metric metric, Mode mode, double threshold, double minimumEffect, double falseAlarmBudget,
        int windowsInARow, long minObservations, int maxSpanMinutes) {

    public static final String EVERY_TAP = "*";
    public static final String DEFAULT_REFERENCE = "training";
    public static final double DEFAULT_THRESHOLD = 0.15;
    public static final double DEFAULT_MINIMUM_EFFECT = 0.05;
    /** A layer monitor's (metric mmd) fixed threshold by default, in MMD². */
    public static final double DEFAULT_LAYER_THRESHOLD = 0.005;

    /** The threshold a monitor of {@code metric} takes by default: 0.15 of a mean, 0.005 of MMD². */
    public static double defaultThreshold(Divergence.Metric metric) {
        return metric == Divergence.Metric.MMD ? DEFAULT_LAYER_THRESHOLD : DEFAULT_THRESHOLD;
    }

    /** The minimum effect a calibrated monitor of {@code metric} takes by default: 0.05 of mean KS, 0.001 of MMD². */
    public static double defaultMinimumEffect(Divergence.Metric metric) {
        return metric == Divergence.Metric.MMD ? ai.neuraldivergence.domain.LayerDrift.DEFAULT_MINIMUM_EFFECT
                : DEFAULT_MINIMUM_EFFECT;
    }
    public static final double DEFAULT_FALSE_ALARM_BUDGET = 1;
    public static final int DEFAULT_WINDOWS_IN_A_ROW = 2;
    public static final long DEFAULT_MIN_OBSERVATIONS = 200;
    public static final int DEFAULT_MAX_SPAN_MINUTES = 60;
    public static final int MAX_WINDOWS_IN_A_ROW = 60;
    public static final long MAX_MIN_OBSERVATIONS = 10_000_000;
    /** A day: evaluations read at most a day of minute rows per tap. */
    public static final int MAX_SPAN_MINUTES = 1_440;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    /** Model ids, taps and references are keys of stored rows: printable, without spaces, bounded. */
    private static final Pattern KEY = Pattern.compile("[\\x21-\\x7e]{1,256}");

    /** How the threshold is set. */
    public enum Mode {
        FIXED, CALIBRATED;

        /** The word stored and configured: fixed, calibrated. */
        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public MonitorDefinition {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("monitor name must be 1..63 characters of letters, digits, '.', '_' "
                    + "and '-', starting with a letter or digit");
        }
        requireKey(modelId, "model_id");
        requireKey(tap, "tap");
        requireKey(reference, "reference");
        Objects.requireNonNull(slice, "slice");
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(mode, "mode");
        if (mode == Mode.CALIBRATED && metric != Divergence.Metric.KS && metric != Divergence.Metric.MMD) {
            // a calibrated threshold needs the statistic's null: the mean KS's (MeanKsNull) and the layer
            // statistic's (LayerDrift) are known, no other metric's is
            throw new IllegalArgumentException("mode calibrated needs metric ks or mmd, got "
                    + metric.name().toLowerCase(java.util.Locale.ROOT));
        }
        requireRange(threshold, 0, 1e6, "threshold");
        requireRange(minimumEffect, 0, 1, "minimum_effect");
        requireRange(falseAlarmBudget, 1e-6, 1e6, "false_alarm_budget");
        if (windowsInARow < 1 || windowsInARow > MAX_WINDOWS_IN_A_ROW) {
            throw new IllegalArgumentException("windows_in_a_row must be 1.." + MAX_WINDOWS_IN_A_ROW + ", got "
                    + windowsInARow);
        }
        if (minObservations < 1 || minObservations > MAX_MIN_OBSERVATIONS) {
            throw new IllegalArgumentException("min_observations must be 1.." + MAX_MIN_OBSERVATIONS + ", got "
                    + minObservations);
        }
        if (maxSpanMinutes < 1 || maxSpanMinutes > MAX_SPAN_MINUTES) {
            throw new IllegalArgumentException("max_span_minutes must be 1.." + MAX_SPAN_MINUTES + ", got "
                    + maxSpanMinutes);
        }
    }

    private static void requireKey(String value, String field) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(field + " is required");
        }
        if (!KEY.matcher(value).matches()) {
            throw new IllegalArgumentException(field + " must be 1..256 printable characters without spaces");
        }
    }

    private static void requireRange(double value, double min, double max, String field) {
        // NaN fails both comparisons' negation: checked as out of range
        if (!(value >= min && value <= max)) {
            throw new IllegalArgumentException(field + " must be " + min + ".." + max + ", got " + value);
        }
    }

    public boolean everyTap() {
        return EVERY_TAP.equals(tap);
    }

    /** Whether this monitor watches that tap of its model. */
    public boolean watches(String tapName) {
        return everyTap() || tap.equals(tapName);
    }

    /**
     * Whether {@code other} measures the same thing (model, tap, reference, slice, metric, mode): if not, a monitor
     * changed into it starts its state over; if so, its evaluations stand and only the verdict is read again. A change
     * of mode starts over: a calibrated monitor's window and threshold are not a fixed one's.
     */
    public boolean measuresAs(MonitorDefinition other) {
        return modelId.equals(other.modelId) && tap.equals(other.tap) && reference.equals(other.reference)
                && slice.equals(other.slice) && metric == other.metric && mode == other.mode;
    }

    public boolean calibrated() {
        return mode == Mode.CALIBRATED;
    }

    /**
     * The start of the first minute this monitor may not evaluate yet, where every minute before {@code complete}
     * is complete: a true-label slice's minute takes late labels for {@code labelWait} after its end (as long as its
     * observations are kept to join them), so it waits that much longer. Evaluated at once, it read only the labels
     * in by then, and was never read again.
     */
    public java.time.Instant evaluableBefore(java.time.Instant complete, java.time.Duration labelWait) {
        return slice.kind() == Slice.Kind.TRUE_LABEL
                ? ai.neuraldivergence.domain.Granularity.MINUTE.windowStart(complete.minus(labelWait)) : complete;
    }

    /** The metric's word, as stored and configured: ks, wasserstein, jensen_shannon, psi, mean_shift, mmd. */
    public static String metricWord(Divergence.Metric metric) {
        return metric.name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Divergence.Metric metric(String word) {
        try {
            return Divergence.Metric.valueOf(word.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("monitor metric must be ks, wasserstein, jensen_shannon, psi, "
                    + "mean_shift or mmd, got '" + word + "'");
        }
    }

    public static Mode mode(String word) {
        try {
            return Mode.valueOf(word.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("monitor mode must be fixed or calibrated, got '" + word + "'");
        }
    }
}
