package ai.neuraldivergence.comparison.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.proto.v1.NonFiniteCounts;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Instants to the wire and back, non-finite counts. */
class ProtoMappingTest {

    @Test
    void storedInstantsOutsideWhatATimestampHoldsAreClampedToItsBounds() {
        Instant inside = Instant.parse("2026-11-28T10:00:00.123456789Z");
        assertEquals(inside, ProtoMapping.instant(ProtoMapping.timestamp(inside)));
        // PostgreSQL's timestamptz goes from 4713 BC to 294276 AD
        Timestamp late = ProtoMapping.timestamp(Instant.parse("+287168-03-01T12:00:00Z"));
        assertEquals(Timestamp.newBuilder().setSeconds(253_402_300_799L).setNanos(999_999_999).build(), late);
        assertEquals("9999-12-31T23:59:59.999999999Z", Timestamps.toString(late));
        Timestamp early = ProtoMapping.timestamp(Instant.parse("-4000-01-01T00:00:00Z"));
        assertEquals("0001-01-01T00:00:00Z", Timestamps.toString(early));
        for (Timestamp t : new Timestamp[] {late, early, ProtoMapping.timestamp(ProtoMapping.MAX_TIMESTAMP),
            ProtoMapping.timestamp(ProtoMapping.MIN_TIMESTAMP)}) {
            assertTrue(Timestamps.isValid(t), t.toString());
        }
        assertEquals(ProtoMapping.MAX_TIMESTAMP, ProtoMapping.instant(ProtoMapping.timestamp(ProtoMapping.MAX_TIMESTAMP)));
    }

    @Test
    void aRequestedTimestampOutsideItsRangeIsMalformed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ProtoMapping.instant(Timestamp.newBuilder().setSeconds(Long.MAX_VALUE).build()));
        assertTrue(e.getMessage().contains("must lie in 0001-01-01"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ProtoMapping.instant(Timestamp.newBuilder().setSeconds(0).setNanos(-1).build()));
    }

    @Test
    void nonFiniteCountsKeepTheirKinds() {
        assertEquals(NonFiniteCounts.newBuilder().setNan(3).setPositiveInfinity(2).setNegativeInfinity(1).build(),
                ProtoMapping.nonFinite(new Divergence.NonFinite(3, 2, 1)));
    }
}
