package ai.neuraldivergence.comparison.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.query.LayerQuery;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.Metric;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The edge checks a request once, before any query runs: no store is needed to refuse a malformed one. */
class RequestsTest {

    private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");

    private static ai.neuraldivergence.proto.v1.Selection range(Instant from, Instant to) {
        return ai.neuraldivergence.proto.v1.Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                .setFrom(Timestamp.newBuilder().setSeconds(from.getEpochSecond()))
                .setTo(Timestamp.newBuilder().setSeconds(to.getEpochSecond()))).build();
    }

    private static final LayerOverviewRequest GOOD = LayerOverviewRequest.newBuilder().setModelId("m")
            .setA(ai.neuraldivergence.proto.v1.Selection.newBuilder().setReference("training"))
            .setB(range(T, T.plusSeconds(600))).setMetric(Metric.METRIC_PSI).build();

    @Test
    void aLayerOverviewRequestBecomesItsQueryWithDefaultsResolved() {
        LayerQuery q = Requests.layerOverview(GOOD);
        assertEquals("m", q.model().modelId());
        assertTrue(q.model().newest());
        assertEquals(new Selection.Reference("training", Slice.ALL), q.a());
        assertEquals(new Selection.Range(T, T.plusSeconds(600), Slice.ALL), q.b());
        assertEquals(Divergence.Metric.PSI, q.verdict().metric());
        assertEquals(0.1, q.verdict().threshold());
        assertEquals(0.05, q.onsetShare());
    }

    @Test
    void everyMalformedArgumentIsRefusedNamingIt() {
        assertRefused(GOOD.toBuilder().setModelId("").build(), "model_id is required");
        assertRefused(GOOD.toBuilder().clearA().build(), "selection a is required");
        assertRefused(GOOD.toBuilder().setB(range(T, T)).build(), "selection b: time range must have from < to");
        assertRefused(GOOD.toBuilder().setB(range(T, T.plusSeconds(401L * 86400))).build(), "at most 400 days");
        assertRefused(GOOD.toBuilder().setDriftThreshold(1.5).build(), "drift_threshold must lie in (0, 1)");
        assertRefused(GOOD.toBuilder().setOnsetShare(-0.1).build(), "onset_share must lie in (0, 1)");
        assertRefused(GOOD.toBuilder().setA(ai.neuraldivergence.proto.v1.Selection.newBuilder().setReference(""))
                .build(), "selection a: reference name is empty");
        assertRefused(GOOD.toBuilder().setA(ai.neuraldivergence.proto.v1.Selection.getDefaultInstance()).build(),
                "selection a needs a reference or a time_range");
    }

    private static void assertRefused(LayerOverviewRequest request, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Requests.layerOverview(request));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
