package ai.neuraldivergence.domain.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimelineQueryTest {

    private static final Instant T0 = Instant.parse("2026-11-02T10:17:30Z");
    private static final ModelVersion MODEL = new ModelVersion("m", "");

    private static Selection.Range range(Duration span) {
        return new Selection.Range(T0, T0.plus(span), Slice.ALL);
    }

    private static TimelineQuery query(Duration span, Granularity asked) {
        return new TimelineQuery(MODEL, List.of(), range(span), "ref", new Verdict(null, 0, 0), 0, asked);
    }

    @Test
    void theGranularityIsTheFinestThatKeepsAFewHundredPoints() {
        assertEquals(Granularity.MINUTE, query(Duration.ofHours(6), null).granularity());
        assertEquals(Granularity.HOUR, query(Duration.ofHours(6).plusSeconds(1), null).granularity());
        assertEquals(Granularity.HOUR, query(Duration.ofDays(21), null).granularity());
        assertEquals(Granularity.DAY, query(Duration.ofDays(21).plusSeconds(1), null).granularity());
        assertEquals(Granularity.DAY, query(Duration.ofDays(400), null).granularity());
    }

    @Test
    void noChosenGranularityExceedsThePointLimit() {
        for (Duration span : List.of(Duration.ofHours(6), Duration.ofDays(21), Duration.ofDays(400))) {
            TimelineQuery q = query(span, null);
            assertTrue(q.windowStarts().size() <= TimelineQuery.MAX_POINTS, span + ": " + q.windowStarts().size());
        }
    }

    @Test
    void anAskedGranularityIsKeptAndItsWindowsCoverTheRangeFromTheFirstWindowStart() {
        TimelineQuery q = query(Duration.ofMinutes(3), Granularity.MINUTE);
        assertEquals(List.of(Instant.parse("2026-11-02T10:17:00Z"), Instant.parse("2026-11-02T10:18:00Z"),
                Instant.parse("2026-11-02T10:19:00Z"), Instant.parse("2026-11-02T10:20:00Z")), q.windowStarts());
        assertEquals(4, TimelineQuery.pointCount(q.range(), Granularity.MINUTE));
    }

    @Test
    void windowsOlderThanTheStoredMinutesOrHoursArePointsOfTheirHourOrDayOnce() {
        // 10:17:30 for 2 hours: minutes stored from 11:00 on, hours from the day's start
        TimelineQuery q = query(Duration.ofHours(2), Granularity.MINUTE);
        Instant elevenOClock = Instant.parse("2026-11-02T11:00:00Z");
        List<TimelineQuery.Window> w = q.windows(elevenOClock, Instant.parse("2026-11-02T00:00:00Z"));
        // 10:17..10:59 is one hour point, not 43 minute points each holding the whole hour
        assertEquals(new TimelineQuery.Window(Instant.parse("2026-11-02T10:00:00Z"), Granularity.HOUR), w.get(0));
        assertEquals(new TimelineQuery.Window(elevenOClock, Granularity.MINUTE), w.get(1));
        assertEquals(1 + 78, w.size(), "then every minute from 11:00 to 12:17");
        // nothing stored finer than days: one day point
        assertEquals(List.of(new TimelineQuery.Window(Instant.parse("2026-11-02T00:00:00Z"), Granularity.DAY)),
                q.windows(null, null));
        // hours not built yet are read from their minutes: minutes stored are enough for hour points
        TimelineQuery hours = query(Duration.ofHours(7), Granularity.HOUR);
        assertEquals(List.of(Granularity.HOUR), hours.windows(Instant.parse("2026-11-02T10:00:00Z"), null).stream()
                .map(TimelineQuery.Window::granularity).distinct().toList());
        // everything stored: the windows asked for
        assertEquals(q.windowStarts(), q.windows(T0.minusSeconds(3_600), T0.minusSeconds(3_600)).stream()
                .map(TimelineQuery.Window::start).toList());
    }

    @Test
    void tooManyPointsAreRefusedNamingACoarserGranularity() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> query(Duration.ofDays(2), Granularity.MINUTE));
        assertTrue(e.getMessage().contains("coarser granularity"), e.getMessage());
    }

    @Test
    void tapsAreTakenOnceInTheOrderAskedAndBoundedInNumber() {
        // a tap repeated a million times (3 MB: under gRPC's message limit) was read and compared a million times
        // per window
        List<String> repeated = new java.util.ArrayList<>(java.util.Collections.nCopies(1_000_000, "dense1"));
        repeated.add(0, "conv1");
        assertEquals(List.of("conv1", "dense1"), new TimelineQuery(MODEL, repeated, range(Duration.ofHours(1)), "ref",
                new Verdict(null, 0, 0), 0, null).taps());
        List<String> many = java.util.stream.IntStream.rangeClosed(0, TimelineQuery.MAX_TAPS).mapToObj(i -> "t" + i)
                .toList();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TimelineQuery(MODEL, many,
                range(Duration.ofHours(1)), "ref", new Verdict(null, 0, 0), 0, null));
        assertEquals("at most 256 taps per timeline, got 257: name fewer, or none for every tap", e.getMessage());
        assertEquals(256, new TimelineQuery(MODEL, many.subList(0, 256), range(Duration.ofHours(1)), "ref",
                new Verdict(null, 0, 0), 0, null).taps().size());
    }

    @Test
    void aReferenceIsRequired() {
        assertThrows(IllegalArgumentException.class, () -> new TimelineQuery(MODEL, List.of(),
                range(Duration.ofHours(1)), "", new Verdict(null, 0, 0), 0, null));
    }
}
