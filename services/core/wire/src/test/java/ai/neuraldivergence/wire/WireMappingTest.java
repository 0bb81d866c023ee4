package ai.neuraldivergence.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.NonFiniteCounts;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Slices, instants, enums and counts to the wire and back. */
class WireMappingTest {

    @Test
    void everyKindOfSliceSurvivesTheWire() {
        for (Slice s : List.of(Slice.ALL, Slice.predictedClass(3), Slice.trueLabel(0), Slice.tag("eps", "0.1"),
                Slice.pairRole(PairRole.BENIGN), Slice.pairRole(PairRole.ATTACKED))) {
            assertEquals(s, WireMapping.slice(WireMapping.slice(s)));
        }
        assertEquals(Slice.ALL, WireMapping.slice(ai.neuraldivergence.proto.v1.Slice.getDefaultInstance()));
    }

    @Test
    void anUnspecifiedPairRoleIsRefusedInASlice() {
        var s = ai.neuraldivergence.proto.v1.Slice.newBuilder()
                .setPairRole(ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_UNSPECIFIED).build();
        assertThrows(IllegalArgumentException.class, () -> WireMapping.slice(s));
    }

    @Test
    void storedInstantsOutsideWhatATimestampHoldsAreClampedToItsBounds() {
        Instant inside = Instant.parse("2026-11-28T10:00:00.123456789Z");
        assertEquals(inside, WireMapping.instant(WireMapping.timestamp(inside)));
        // PostgreSQL's timestamptz goes from 4713 BC to 294276 AD
        Timestamp late = WireMapping.timestamp(Instant.parse("+287168-03-01T12:00:00Z"));
        assertEquals(Timestamp.newBuilder().setSeconds(253_402_300_799L).setNanos(999_999_999).build(), late);
        assertEquals("9999-12-31T23:59:59.999999999Z", Timestamps.toString(late));
        Timestamp early = WireMapping.timestamp(Instant.parse("-4000-01-01T00:00:00Z"));
        assertEquals("0001-01-01T00:00:00Z", Timestamps.toString(early));
        for (Timestamp t : new Timestamp[] {late, early, WireMapping.timestamp(WireMapping.MAX_TIMESTAMP),
            WireMapping.timestamp(WireMapping.MIN_TIMESTAMP)}) {
            assertTrue(Timestamps.isValid(t), t.toString());
        }
        assertEquals(WireMapping.MAX_TIMESTAMP, WireMapping.instant(WireMapping.timestamp(WireMapping.MAX_TIMESTAMP)));
    }

    @Test
    void aRequestedTimestampOutsideItsRangeIsMalformed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WireMapping.instant(Timestamp.newBuilder().setSeconds(Long.MAX_VALUE).build()));
        assertTrue(e.getMessage().contains("must lie in 0001-01-01"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> WireMapping.instant(Timestamp.newBuilder().setSeconds(0).setNanos(-1).build()));
    }

    @Test
    void enumsSurviveTheWireAndUnspecifiedMeansTheDefault() {
        for (Divergence.Metric m : Divergence.Metric.values()) {
            assertEquals(m, WireMapping.metric(WireMapping.metric(m)));
        }
        assertEquals(Divergence.Metric.KS, WireMapping.metric(ai.neuraldivergence.proto.v1.Metric.METRIC_UNSPECIFIED));
        for (Granularity g : Granularity.values()) {
            assertEquals(g, WireMapping.granularity(WireMapping.granularity(g)));
        }
        assertNull(WireMapping.granularity(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_UNSPECIFIED));
        for (PairRole r : PairRole.values()) {
            assertEquals(r, WireMapping.pairRole(WireMapping.pairRole(r)));
        }
        assertNull(WireMapping.pairRole(ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_UNSPECIFIED));
    }

    @Test
    void nonFiniteCountsKeepTheirKinds() {
        assertEquals(NonFiniteCounts.newBuilder().setNan(3).setPositiveInfinity(2).setNegativeInfinity(1).build(),
                WireMapping.nonFinite(new Divergence.NonFinite(3, 2, 1)));
    }
}
