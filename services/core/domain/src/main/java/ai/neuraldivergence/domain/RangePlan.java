package ai.neuraldivergence.domain;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Which stored windows make up a time range: the fewest windows that tile it (whole days, then whole hours, then
 * minutes at the edges), so that a month is thirty reads rather than forty thousand.
 *
 * <p>A range covers the minute windows whose start lies in {@code [from, to)} (a minute straddling {@code from} is
 * taken whole: minutes are the finest resolution). An hour or day is used only once it is built (it is built once,
 * complete, after its last minute is final; until then its minutes, or hours, are read instead); where minutes have
 * expired
 * (retention), the range widens outward to whole hours, and where hours have too, to whole days.
 */
public final class RangePlan {

    /** One stored window to read. */
    public record Segment(Granularity granularity, Instant start) {
    }

    private RangePlan() {
    }

    /**
     * @param unbuiltMinutes starts of the stored minutes whose hour is not built yet
     * @param unbuiltDays starts of the days with stored windows whose day is not built yet
     * @param earliestMinute the oldest stored minute (null when none): older minutes expired
     * @param earliestHour the oldest stored hour (null when none)
     */
    public static List<Segment> cover(Instant from, Instant to, Set<Instant> unbuiltMinutes, Set<Instant> unbuiltDays,
            Instant earliestMinute, Instant earliestHour) {
        if (!from.isBefore(to)) {
            throw new IllegalArgumentException("time range must have from < to, got [" + from + ", " + to + ")");
        }
        Instant a = Granularity.MINUTE.windowStart(from);
        Instant b = ceil(Granularity.MINUTE, to);
        if (earliestMinute == null || a.isBefore(earliestMinute)) {
            a = Granularity.HOUR.windowStart(a);
            if (earliestHour == null || a.isBefore(earliestHour)) {
                a = Granularity.DAY.windowStart(a);
            }
        }
        // widen the end only when its own last minute (then hour) expired: a young deployment's first minutes are
        // all there, and a range ending among them must not take in the rest of their hour
        if (earliestMinute == null || Granularity.MINUTE.windowStart(b.minusNanos(1)).isBefore(earliestMinute)) {
            b = ceil(Granularity.HOUR, b);
            if (earliestHour == null || Granularity.HOUR.windowStart(b.minusNanos(1)).isBefore(earliestHour)) {
                b = ceil(Granularity.DAY, b);
            }
        }
        Set<Instant> unrolledHours = new java.util.HashSet<>();
        Set<Instant> unrolledDays = new java.util.HashSet<>(unbuiltDays);
        for (Instant m : unbuiltMinutes) {
            unrolledHours.add(Granularity.HOUR.windowStart(m));
            unrolledDays.add(Granularity.DAY.windowStart(m));
        }
        List<Segment> out = new ArrayList<>();
        Instant t = a;
        while (t.isBefore(b)) {
            Granularity g;
            if (fits(Granularity.DAY, t, b) && !unrolledDays.contains(t)) {
                g = Granularity.DAY;
            } else if (fits(Granularity.HOUR, t, b) && !unrolledHours.contains(t)) {
                g = Granularity.HOUR;
            } else {
                g = Granularity.MINUTE;
            }
            out.add(new Segment(g, t));
            t = t.plus(g.length());
        }
        return out;
    }

    private static boolean fits(Granularity g, Instant t, Instant end) {
        return g.windowStart(t).equals(t) && !t.plus(g.length()).isAfter(end);
    }

    private static Instant ceil(Granularity g, Instant t) {
        Instant start = g.windowStart(t);
        return start.equals(t) ? t : start.plus(g.length());
    }

    /** The length a plan covers. */
    public static Duration span(List<Segment> segments) {
        Duration total = Duration.ZERO;
        for (Segment s : segments) {
            total = total.plus(s.granularity().length());
        }
        return total;
    }
}
