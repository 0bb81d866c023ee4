package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A true-label slice's minutes are evaluated the label-wait after they are complete, other slices' at once; a
 * label-wait the back-fill span cannot hold (or a negative one, which would evaluate minutes not complete yet) stops
 * the service at start.
 */
class LabelWaitTest {

    private static MonitorDefinition of(Slice slice) {
        return new MonitorDefinition("m", "model", "dense", "calm", slice, Divergence.Metric.KS,
                MonitorDefinition.Mode.FIXED, 0.2, 0.05, 1, 2, 200, 60);
    }

    @Test
    void onlyATrueLabelSliceWaitsForItsLabels() {
        Instant complete = Instant.parse("2026-12-06T10:30:00Z");
        assertEquals(Instant.parse("2026-12-06T09:30:00Z"),
                of(Slice.parse("label=3")).evaluableBefore(complete, Duration.ofHours(1)));
        for (String slice : List.of("all", "predicted=3", "tag:region=eu", "pair=attacked")) {
            assertEquals(complete, of(Slice.parse(slice)).evaluableBefore(complete, Duration.ofHours(1)), slice);
        }
    }

    @Test
    void aLabelWaitTheBackFillCannotHoldStopsTheStart() {
        for (Duration wait : List.of(Duration.ofMinutes(-1), Duration.ofHours(12), Duration.ofHours(13))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MonitorEvaluator(
                    null, null, null, null, null, "replica", Duration.ofSeconds(15), Duration.ofHours(12), wait,
                    List::of));
            assertTrue(e.getMessage().contains("nd.comparison.monitoring.label-wait"), e.getMessage());
        }
    }
}
