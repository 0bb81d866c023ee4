package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.comparison.service.MonitorState;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class MonitorStateTest {

    private static final Instant T = Instant.parse("2026-11-28T10:00:00Z");

    private static Instant minute(int m) {
        return T.plusSeconds(60L * m);
    }

    @Test
    void turnsDriftingAfterTheConfiguredWindowsInARowAndBack() {
        MonitorState s = new MonitorState(0.2, 2);
        assertTrue(s.record(minute(0), 0.1).isEmpty());
        assertTrue(s.record(minute(1), 0.5).isEmpty(), "one window over is not yet a run");
        assertTrue(s.record(minute(2), 0.05).isEmpty(), "interrupted");
        assertTrue(s.record(minute(3), 0.4).isEmpty());
        MonitorState.Transition up = s.record(minute(4), 0.3).orElseThrow();
        assertTrue(up.drifting());
        assertEquals(minute(3), up.since(), "since the first window of the run");
        assertTrue(s.drifting());
        assertTrue(s.record(minute(5), 0.1).isEmpty(), "one calm window does not clear it");
        MonitorState.Transition down = s.record(minute(6), 0.15).orElseThrow();
        assertFalse(down.drifting());
        assertEquals(minute(5), down.since());
    }

    @Test
    void aMinuteThatFillsUpIsReevaluatedAndAGapBreaksTheRun() {
        MonitorState s = new MonitorState(0.2, 2);
        s.record(minute(0), 0.5);
        // the same minute again as it fills
        assertTrue(s.record(minute(0), 0.6).isEmpty());
        assertTrue(s.record(minute(2), 0.6).isEmpty(), "minute 1 is missing: no run");
        assertTrue(s.record(minute(3), 0.6).orElseThrow().drifting());
        assertEquals(0.6, s.current());
    }
}
