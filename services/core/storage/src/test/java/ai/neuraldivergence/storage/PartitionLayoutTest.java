package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Partition names and bounds: every name parses back to the part it was made for, whatever the year. */
class PartitionLayoutTest {

    private static final List<Instant> TIMES = List.of(Instant.parse("2026-12-01T10:20:00Z"),
            Instant.parse("2026-02-28T23:59:00Z"), Instant.parse("+12000-01-01T00:00:00Z"),
            Instant.parse("-0044-03-15T12:00:00Z"), Instant.parse("0001-01-01T00:00:00Z"));

    @Test
    void everyNameParsesBackToItsPart() {
        for (String table : PartitionLayout.TABLES) {
            PartitionLayout layout = PartitionLayout.of(table);
            for (String kind : layout.kinds()) {
                for (Instant t : TIMES) {
                    for (PartitionLayout.Part p : layout.path(t, kind)) {
                        assertEquals(p, layout.parse(p.name()).orElseThrow(() -> new AssertionError(p.name())),
                                p.name());
                        assertTrue(p.name().length() <= 63, p.name() + ": PostgreSQL cuts names at 63 bytes");
                        assertTrue(p.name().matches("[a-z0-9_]+"), p.name());
                    }
                    PartitionLayout.Part leaf = layout.path(t, kind).get(layout.path(t, kind).size() - 1);
                    assertTrue(!leaf.from().isAfter(t) && leaf.to().isAfter(t), leaf + " holds " + t);
                }
            }
        }
    }

    @Test
    void namesThatAreNotPartitionsAreNotTakenForOnes() {
        PartitionLayout recent = PartitionLayout.of("recent_observation");
        assertTrue(recent.parse("recent_observation_in").isEmpty(), "the flush's staging table");
        assertTrue(recent.parse("recent_observation_20261301_1000").isEmpty(), "month 13");
        assertTrue(recent.parse("recent_observation_20261201_1005").isEmpty(), "not on a ten-minute boundary");
        assertTrue(PartitionLayout.of("window_delta").parse("window_delta_20260230_10").isEmpty(), "30 February");
        assertEquals(PartitionLayout.LEGACY, recent.parse("recent_observation_unpartitioned").orElseThrow().kind());
        PartitionLayout windows = PartitionLayout.windows();
        assertEquals("month", windows.parse("tap_window_202612").orElseThrow().kind());
        assertEquals("minutes", windows.parse("tap_window_202612_minute").orElseThrow().kind());
        assertEquals("day", windows.parse("tap_window_202612_day").orElseThrow().kind());
        assertTrue(windows.parse("tap_window_202612_week").isEmpty());
    }

    @Test
    void literalsAreWhatPostgreSqlReads() {
        assertEquals("'2026-12-01 10:20:00.000000+00'", PartitionLayout.literal(Instant.parse("2026-12-01T10:20:00Z")));
        assertEquals("'12000-01-01 00:00:00.000000+00'",
                PartitionLayout.literal(Instant.parse("+12000-01-01T00:00:00Z")));
        // ISO year -44 is 45 BC
        assertEquals("'0045-03-15 12:00:00.000000+00 BC'",
                PartitionLayout.literal(Instant.parse("-0044-03-15T12:00:00Z")));
    }
}
