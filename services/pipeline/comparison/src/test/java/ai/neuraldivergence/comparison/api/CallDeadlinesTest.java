package ai.neuraldivergence.comparison.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** The grpc-timeout header as clients write it (gRPC over HTTP/2: up to 8 digits and a unit). */
class CallDeadlinesTest {

    @Test
    void everyUnitIsReadAndAMalformedValueIsNoDeadline() {
        assertEquals(29_999_460_000L, CallDeadlines.nanos("29999460u"), "grpc-java's 30 s, as it sent it");
        assertEquals(2L * 3_600_000_000_000L, CallDeadlines.nanos("2H"));
        assertEquals(60_000_000_000L, CallDeadlines.nanos("1M"));
        assertEquals(5_000_000_000L, CallDeadlines.nanos("5S"));
        assertEquals(250_000_000L, CallDeadlines.nanos("250m"));
        assertEquals(99_999_999L, CallDeadlines.nanos("99999999n"));
        for (String bad : new String[] {null, "", "5", "S", "123456789S", "-5S", "5s", "5 S", "5x"}) {
            assertNull(CallDeadlines.nanos(bad), "'" + bad + "'");
        }
    }
}
