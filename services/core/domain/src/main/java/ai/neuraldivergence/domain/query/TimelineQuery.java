package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Granularity;
import java.time.Instant;
import java.util.List;

/**
 * Each window of a range against a reference, per tap (every tap of the version when {@code taps} is empty). The
 * windows' granularity is the one asked for, or {@link #granularityFor}'s when none is.
 */
public record TimelineQuery(ModelVersion model, List<String> taps, Selection.Range range, String reference,
        Verdict verdict, double onsetShare, Granularity granularity) {

    /** Points a timeline may hold; a longer one must ask for a coarser granularity. */
    public static final int MAX_POINTS = 1500;

    /** Taps a timeline may name: a model has at most this many (the inference service's limit). */
    public static final int MAX_TAPS = 256;

    public TimelineQuery {
        // each tap once, in the order asked: a tap named twice was read and compared twice per window
        taps = taps == null ? List.of() : List.copyOf(new java.util.LinkedHashSet<>(taps));
        if (taps.size() > MAX_TAPS) {
            throw new IllegalArgumentException("at most " + MAX_TAPS + " taps per timeline, got " + taps.size()
                    + ": name fewer, or none for every tap");
        }
        if (range == null) {
            throw new IllegalArgumentException("range is required");
        }
        Queries.requireText(reference, "reference");
        onsetShare = Verdict.onsetShare(onsetShare);
        granularity = granularity == null ? granularityFor(range) : granularity;
        long points = pointCount(range, granularity);
        if (points > MAX_POINTS) {
            throw new IllegalArgumentException("the range holds " + points + " windows of a " + granularity.word()
                    + ", more than " + MAX_POINTS + ": ask for a coarser granularity or a shorter range");
        }
    }

    /**
     * The finest granularity that keeps a timeline within a few hundred points: minutes up to 6 hours (360), hours
     * up to 21 days (504), days beyond (400 at most, the longest range).
     */
    public static Granularity granularityFor(Selection.Range range) {
        java.time.Duration span = java.time.Duration.between(range.from(), range.to());
        if (span.compareTo(java.time.Duration.ofHours(6)) <= 0) {
            return Granularity.MINUTE;
        }
        return span.compareTo(java.time.Duration.ofDays(21)) <= 0 ? Granularity.HOUR : Granularity.DAY;
    }

    /** The windows of a granularity that overlap a range: the first starts at or before its start. */
    public static long pointCount(Selection.Range range, Granularity g) {
        return java.time.Duration.between(g.windowStart(range.from()), range.to()).toSeconds()
                / g.length().toSeconds() + 1;
    }

    /** One point's window: where it starts and how long it is. */
    public record Window(Instant start, Granularity granularity) {
    }

    /**
     * The timeline's windows, each of the granularity asked where windows of it are still stored, coarser where
     * retention has dropped them (minutes older than {@code earliestMinute}, hours older than {@code earliestHour}:
     * null when none is stored). Read at the finer granularity, such a point would be its whole hour (or day) read
     * again for each of its minutes (or hours), every one showing the hour's counts; one point for it says what the
     * data can tell. In order, each window once.
     */
    public List<Window> windows(Instant earliestMinute, Instant earliestHour) {
        List<Window> out = new java.util.ArrayList<>();
        for (Instant t : windowStarts()) {
            Granularity g = granularity;
            if (g == Granularity.MINUTE && !stored(t, earliestMinute)) {
                g = Granularity.HOUR;
            }
            // an hour not built is read from its minutes, so its minutes stored are enough
            if (g == Granularity.HOUR && !stored(g.windowStart(t), earliestHour)
                    && !stored(g.windowStart(t), earliestMinute)) {
                g = Granularity.DAY;
            }
            Window w = new Window(g.windowStart(t), g);
            if (out.isEmpty() || !out.get(out.size() - 1).equals(w)) {
                out.add(w);
            }
        }
        return out;
    }

    private static boolean stored(Instant start, Instant earliest) {
        return earliest != null && !start.isBefore(earliest);
    }

    /** The start of each window the timeline holds, in order. */
    public List<Instant> windowStarts() {
        List<Instant> out = new java.util.ArrayList<>();
        for (Instant t = granularity.windowStart(range.from()); t.isBefore(range.to()); t = t.plus(
                granularity.length())) {
            out.add(t);
        }
        return out;
    }
}
