package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RangePlanTest {

    private static final Instant EPOCH = Instant.parse("2026-01-01T00:00:00Z");

    private static long count(List<RangePlan.Segment> plan, Granularity g) {
        return plan.stream().filter(s -> s.granularity() == g).count();
    }

    @Test
    void wholeDaysAndHoursAreReadAsSuchAndTheEdgesAsMinutes() {
        Instant from = Instant.parse("2026-11-26T22:30:20Z");
        Instant to = Instant.parse("2026-11-28T01:15:00Z");
        List<RangePlan.Segment> plan = RangePlan.cover(from, to, Set.of(), Set.of(), EPOCH, EPOCH);
        // 22:30..23:00 (30 minutes, the straddled 22:30 included), 23:00 (hour), the 27th (day), 00:00 (hour),
        // 01:00..01:15 (15 minutes)
        assertEquals(45, count(plan, Granularity.MINUTE));
        assertEquals(2, count(plan, Granularity.HOUR));
        assertEquals(1, count(plan, Granularity.DAY));
        assertEquals(Duration.between(Instant.parse("2026-11-26T22:30:00Z"), to), RangePlan.span(plan));
        assertEquals(new RangePlan.Segment(Granularity.DAY, Instant.parse("2026-11-27T00:00:00Z")), plan.get(31));
    }

    @Test
    void anHourWithMinutesNotRolledUpIsReadAsMinutes() {
        Instant from = Instant.parse("2026-11-28T10:00:00Z");
        Instant to = Instant.parse("2026-11-28T12:00:00Z");
        List<RangePlan.Segment> plan = RangePlan.cover(from, to, Set.of(Instant.parse("2026-11-28T11:59:00Z")),
                Set.of(), EPOCH, EPOCH);
        assertEquals(1, count(plan, Granularity.HOUR));
        assertEquals(60, count(plan, Granularity.MINUTE));
    }

    @Test
    void aDayNotBuiltYetIsReadAsItsHours() {
        // every hour of the 27th is built, its day row is not yet (its last minute is not final)
        Instant from = Instant.parse("2026-11-27T00:00:00Z");
        Instant to = Instant.parse("2026-11-28T00:00:00Z");
        List<RangePlan.Segment> plan = RangePlan.cover(from, to, Set.of(), Set.of(from), EPOCH, EPOCH);
        assertEquals(24, count(plan, Granularity.HOUR));
        assertEquals(0, count(plan, Granularity.DAY));
    }

    @Test
    void expiredMinutesWidenTheRangeToWholeHours() {
        Instant from = Instant.parse("2026-11-20T10:20:00Z");
        Instant to = Instant.parse("2026-11-20T12:40:00Z");
        List<RangePlan.Segment> plan = RangePlan.cover(from, to, Set.of(), Set.of(),
                Instant.parse("2026-11-28T00:00:00Z"), EPOCH);
        assertEquals(List.of(new RangePlan.Segment(Granularity.HOUR, Instant.parse("2026-11-20T10:00:00Z")),
                new RangePlan.Segment(Granularity.HOUR, Instant.parse("2026-11-20T11:00:00Z")),
                new RangePlan.Segment(Granularity.HOUR, Instant.parse("2026-11-20T12:00:00Z"))), plan);
    }

    @Test
    void aRangeEndingAmongAYoungDeploymentsFirstMinutesEndsThere() {
        // minutes since 18:39, nothing rolled up into an hour yet: [18:39, 18:40) is that one minute, not the hour
        Instant first = Instant.parse("2026-11-28T18:39:00Z");
        List<RangePlan.Segment> plan = RangePlan.cover(first, first.plusSeconds(60), Set.of(first), Set.of(), first,
                null);
        assertEquals(List.of(new RangePlan.Segment(Granularity.MINUTE, first)), plan);
        List<RangePlan.Segment> early = RangePlan.cover(Instant.parse("2026-11-28T18:30:00Z"), first.plusSeconds(120),
                Set.of(first, first.plusSeconds(60)), Set.of(), first, null);
        assertEquals(first.plusSeconds(60), early.get(early.size() - 1).start(), "ends with the range's last minute");
        assertEquals(Granularity.MINUTE, early.get(early.size() - 1).granularity());
    }

    @Test
    void anEmptyOrInvertedRangeIsRefused() {
        Instant t = Instant.parse("2026-11-28T10:00:00Z");
        assertThrows(IllegalArgumentException.class, () -> RangePlan.cover(t, t, Set.of(), Set.of(), EPOCH, EPOCH));
        assertThrows(IllegalArgumentException.class, () -> RangePlan.cover(t, t.minusSeconds(1), Set.of(), Set.of(),
                EPOCH, EPOCH));
    }
}
