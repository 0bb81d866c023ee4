package ai.neuraldivergence.detection;

import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.monitor.MinuteEvaluation;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.TrailingWindow;
import ai.neuraldivergence.domain.monitor.Transition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * One simulated stream of traffic and every method's monitor on it, minute by minute: the minute's distributions
 * are drawn, then each monitor evaluates each tap through {@link MinuteEvaluation} (the class the comparison service
 * evaluates with) and records it in its {@link MonitorRun} per tap. An alarm is a monitor going from no tap drifting
 * to one. Each monitor also runs at a matched threshold when one is set: an evaluation is over when its value passes
 * its own threshold by more than the method's shift. A stream forks at an attack's onset: the fork shares the past
 * and goes on with another mix.
 */
final class Stream {

    /** The first simulated minute: any fixed instant on a minute boundary. */
    static final Instant START = Instant.parse("2026-01-05T00:00:00Z");

    /** A monitor on every tap: its runs, how many taps drift, and the minutes it raised alarms at. */
    private static final class Monitor {
        final MonitorRun[] runs;
        int drifting;
        final List<Integer> alarms = new ArrayList<>();
        final Typical windows = new Typical();

        Monitor(int taps, int windowsInARow) {
            runs = new MonitorRun[taps];
            for (int t = 0; t < taps; t++) {
                runs[t] = new MonitorRun(windowsInARow);
            }
        }

        Monitor(Monitor from) {
            runs = new MonitorRun[from.runs.length];
            for (int t = 0; t < runs.length; t++) {
                runs[t] = from.runs[t].copy();
            }
            drifting = from.drifting;
        }

        void record(int tap, MonitorRun.Evaluation e, int minute) {
            var change = runs[tap].record(e);
            if (change.isEmpty()) {
                return;
            }
            if (change.get().state() == Transition.State.DRIFTING) {
                if (drifting++ == 0) {
                    alarms.add(minute);
                }
            } else if (change.get().previous() == Transition.State.DRIFTING) {
                drifting--;
            }
        }
    }

    private final Traffic traffic;
    private final Reference reference;
    private final double rate;
    private final SplittableRandom random;
    private final Timeline timeline;
    private final Traffic.Mix mix;
    private final Map<Method, Double> shifts;
    private final Map<Method, Monitor> own = new EnumMap<>(Method.class);
    private final Map<Method, Monitor> matched = new EnumMap<>(Method.class);
    private final Map<Method, MonitorDefinition> definitions = new EnumMap<>(Method.class);
    /** Per method and tap, each minute's margin (value less threshold; NaN without a verdict), when recorded. */
    private final Map<Method, List<FloatList>> margins;
    private final Set<Method> active = EnumSet.allOf(Method.class);

    /**
     * @param shifts each method's matched-threshold shift, or null for none
     * @param recordMargins whether to keep every evaluation's margin (to set matched thresholds from)
     */
    Stream(Traffic traffic, Reference reference, double rate, long seed, Map<Method, Double> shifts,
            boolean recordMargins) {
        this.traffic = traffic;
        this.reference = reference;
        this.rate = rate;
        this.random = new SplittableRandom(seed);
        this.timeline = new Timeline(traffic.taps().size());
        this.mix = Traffic.Mix.BENIGN;
        this.shifts = shifts;
        int taps = traffic.taps().size();
        for (Method m : Method.values()) {
            MonitorDefinition d = m.definition(traffic.recording().modelId(), reference.name());
            definitions.put(m, d);
            own.put(m, new Monitor(taps, d.windowsInARow()));
            if (shifts != null) {
                matched.put(m, new Monitor(taps, d.windowsInARow()));
            }
        }
        if (recordMargins) {
            margins = new EnumMap<>(Method.class);
            for (Method m : Method.values()) {
                List<FloatList> perTap = new ArrayList<>();
                for (int t = 0; t < taps; t++) {
                    perTap.add(new FloatList());
                }
                margins.put(m, perTap);
            }
        } else {
            margins = null;
        }
    }

    private Stream(Stream parent, Traffic.Mix mix, long seed) {
        this.traffic = parent.traffic;
        this.reference = parent.reference;
        this.rate = parent.rate;
        this.random = new SplittableRandom(seed);
        this.timeline = parent.timeline.fork();
        this.mix = mix;
        this.shifts = parent.shifts;
        this.definitions.putAll(parent.definitions);
        parent.own.forEach((m, monitor) -> own.put(m, new Monitor(monitor)));
        parent.matched.forEach((m, monitor) -> matched.put(m, new Monitor(monitor)));
        this.margins = null;
    }

    /** A stream going on from this one's present with {@code mix}; this one must not advance while it runs. */
    Stream fork(Traffic.Mix mix, long seed) {
        return new Stream(this, mix, seed);
    }

    int minutes() {
        return timeline.size();
    }

    /** Simulates the next minute and evaluates every active method on it. */
    void step() {
        int i = timeline.size();
        timeline.add(traffic.minute(random, rate, mix));
        Instant end = START.plusSeconds(60L * (i + 1));
        NavigableMap<Instant, Long> counts = new TreeMap<>();
        for (int j = Math.max(0, i - MonitorDefinition.MAX_SPAN_MINUTES + 1); j <= i; j++) {
            long c = timeline.count(j);
            if (c > 0) {
                counts.put(START.plusSeconds(60L * j), c);
            }
        }
        List<TapDescriptor> taps = traffic.taps();
        for (int t = 0; t < taps.size(); t++) {
            evaluateTap(t, taps.get(t), i, end, counts);
        }
    }

    private void evaluateTap(int t, TapDescriptor tap, int i, Instant end, NavigableMap<Instant, Long> counts) {
        Map<Integer, TapDistribution> windows = new HashMap<>();
        Function<TrailingWindow, TapDistribution> read = w -> windows.computeIfAbsent(minuteOf(w.start()),
                from -> timeline.window(t, from, i + 1));
        TapDistribution ref = reference.distribution(t);
        int taps = traffic.taps().size();
        if (active.contains(Method.FIXED_010) || active.contains(Method.FIXED_015) || active.contains(Method.SIGMA3)) {
            // one evaluation of the fixed monitor gives the window and mean KS all three read
            MonitorRun.Evaluation e = MinuteEvaluation.of(definitions.get(Method.FIXED_010), Double.NaN, tap, ref,
                    counts, end, read, null, null).evaluation();
            record(Method.FIXED_010, t, e, i);
            record(Method.FIXED_015, t, rethreshold(e, 0.15), i);
            double sigma = decided(e) ? reference.sigmaThreshold(t, e.window().observations()) : Double.NaN;
            record(Method.SIGMA3, t, Double.isNaN(sigma) ? new MonitorRun.Evaluation(end, e.window(),
                    e.referenceObservations(), e.value(), Double.NaN, MonitorRun.Outcome.INSUFFICIENT_DATA,
                    "fewer than " + Reference.MIN_CHUNKS + " reference chunks of the window's size")
                    : rethreshold(e, sigma), i);
        }
        for (Method m : List.of(Method.CALIBRATED, Method.CALIBRATED_DAILY, Method.LAYER, Method.LAYER_DAILY)) {
            if (active.contains(m)) {
                boolean layer = m == Method.LAYER || m == Method.LAYER_DAILY;
                record(m, t, MinuteEvaluation.of(definitions.get(m), m.alpha(taps), tap, ref, counts, end, read,
                        layer ? reference.layerNull(t) : null, layer ? null : reference.meanKsNull(t)).evaluation(),
                        i);
            }
        }
    }

    private static boolean decided(MonitorRun.Evaluation e) {
        return e.outcome() == MonitorRun.Outcome.OVER || e.outcome() == MonitorRun.Outcome.UNDER;
    }

    private static MonitorRun.Evaluation rethreshold(MonitorRun.Evaluation e, double threshold) {
        return decided(e) ? MonitorRun.Evaluation.of(e.end(), e.window(), e.referenceObservations(), e.value(),
                threshold) : e;
    }

    private void record(Method m, int tap, MonitorRun.Evaluation e, int minute) {
        if (!active.contains(m)) {
            return;
        }
        double margin = decided(e) ? e.value() - e.thresholdApplied() : Double.NaN;
        if (decided(e)) {
            own.get(m).windows.add(e.window().minutes(), e.value(), e.thresholdApplied());
        }
        own.get(m).record(tap, e, minute);
        Monitor at = matched.get(m);
        if (at != null) {
            at.record(tap, Double.isNaN(margin) ? e : new MonitorRun.Evaluation(e.end(), e.window(),
                    e.referenceObservations(), e.value(), e.thresholdApplied() + shifts.get(m),
                    margin > shifts.get(m) ? MonitorRun.Outcome.OVER : MonitorRun.Outcome.UNDER, null), minute);
        }
        if (margins != null) {
            margins.get(m).get(tap).add((float) margin);
        }
    }

    private static int minuteOf(Instant t) {
        return (int) ((t.getEpochSecond() - START.getEpochSecond()) / 60);
    }

    /** Stops evaluating a method (a fork whose question about it is answered). */
    void retire(Method m) {
        active.remove(m);
    }

    boolean anyActive() {
        return !active.isEmpty();
    }

    /** The minutes a method's monitor raised alarms at, at its own threshold or the matched one. */
    List<Integer> alarms(Method m, boolean matchedThreshold) {
        Monitor monitor = (matchedThreshold ? matched : own).get(m);
        return monitor == null ? List.of() : monitor.alarms;
    }

    /** What a method's decided evaluations read on average: window minutes, value, threshold. */
    Typical typical(Method m) {
        return own.get(m).windows;
    }

    /** Means of the decided evaluations' window length, value and threshold. */
    static final class Typical {
        private long count;
        private double minutes;
        private double value;
        private double threshold;

        void add(int windowMinutes, double v, double t) {
            count++;
            minutes += windowMinutes;
            value += v;
            threshold += t;
        }

        double minutes() {
            return count == 0 ? Double.NaN : minutes / count;
        }

        double value() {
            return count == 0 ? Double.NaN : value / count;
        }

        double threshold() {
            return count == 0 ? Double.NaN : threshold / count;
        }
    }

    /** Per tap, every minute's margin of method {@code m} (recorded streams only). */
    List<float[]> margins(Method m) {
        return margins.get(m).stream().map(FloatList::toArray).toList();
    }

    /** A growable float array. */
    static final class FloatList {
        private float[] values = new float[1024];
        private int size;

        void add(float v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(values, size);
        }
    }
}
