package ai.neuraldivergence.domain.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.monitor.MonitorRun.Evaluation;
import ai.neuraldivergence.domain.monitor.Transition.State;
import java.time.Instant;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** A monitor's state on a tap, decided by {@link MonitorRun} from its evaluations, and the window each reads. */
class MonitorStateTest {

    private static final Instant T = Instant.parse("2026-11-28T10:00:00Z");

    /** The end of minute {@code m}. */
    private static Instant end(int m) {
        return T.plusSeconds(60L * (m + 1));
    }

    private static Evaluation value(int m, double v) {
        return Evaluation.of(end(m), null, 1000, v, 0.2);
    }

    @Test
    void turnsDriftingAfterItsWindowsInARowAndBackSinceTheFirstEvaluationOfTheRun() {
        MonitorRun run = new MonitorRun(2);
        assertTrue(run.record(value(0, 0.1)).isEmpty());
        assertTrue(run.record(value(1, 0.5)).isEmpty(), "one evaluation over is not yet a run");
        assertTrue(run.record(value(2, 0.05)).isEmpty(), "interrupted");
        assertTrue(run.record(value(3, 0.4)).isEmpty());
        MonitorRun.Change up = run.record(value(4, 0.3)).orElseThrow();
        assertEquals(State.DRIFTING, up.state());
        assertEquals(State.OK, up.previous());
        assertEquals(end(3), up.since(), "the end of the first evaluation of the run");
        assertTrue(run.record(value(5, 0.1)).isEmpty(), "one calm evaluation does not clear it");
        assertTrue(run.record(value(6, 0.5)).isEmpty());
        assertTrue(run.record(value(7, 0.2)).isEmpty(), "at the threshold is not over it");
        MonitorRun.Change down = run.record(value(8, Double.NaN)).orElseThrow();
        assertEquals(State.OK, down.state());
        assertEquals(end(7), down.since());
    }

    /**
     * A restart replays the evaluations kept from the state that held before them: drifting since yesterday, held by
     * runs over and under that never reach three calm in a row, stays drifting (replayed from ok, as before, it
     * ended ok and resolved the alert while the drift went on).
     */
    @Test
    void aReplayGoesOnFromTheStateBeforeTheEvaluationsKeptAndKeepsTheRunInProgress() {
        Instant yesterday = T.minusSeconds(86_400);
        java.util.List<Evaluation> kept = java.util.List.of(value(0, 0.5), value(1, 0.5), value(2, 0.1),
                value(3, 0.5), value(4, 0.5), value(5, 0.1));
        MonitorRun.Replay replay = MonitorRun.replay(3, State.DRIFTING, yesterday, kept);
        assertEquals(State.DRIFTING, replay.run().state());
        assertEquals(yesterday, replay.run().since());
        assertTrue(!replay.changed(), "no evaluation kept changed it");
        assertEquals(State.OK, MonitorRun.replay(3, State.OK, null, kept).run().state(), "what the old replay found");
        // two of three over when the replica stopped: the third, after it, decides since the first
        MonitorRun.Replay inProgress = MonitorRun.replay(3, State.OK, null, java.util.List.of(value(0, 0.1),
                value(1, 0.5), value(2, 0.5)));
        MonitorRun.Change up = inProgress.run().record(value(3, 0.5)).orElseThrow();
        assertEquals(State.DRIFTING, up.state());
        assertEquals(end(1), up.since());
        // a stored since older than the replay stands, and the run in progress goes on with it
        MonitorRun resumed = MonitorRun.replay(3, State.OK, null, java.util.List.of(value(0, 0.1), value(1, 0.5),
                value(2, 0.5))).run().withSince(yesterday);
        assertEquals(yesterday, resumed.since());
        assertEquals(end(1), resumed.record(value(3, 0.5)).orElseThrow().since());
    }

    @Test
    void aCopyGoesOnFromTheSameRunIndependently() {
        MonitorRun run = new MonitorRun(2);
        run.record(value(0, 0.1));
        run.record(value(1, 0.5));
        MonitorRun copy = run.copy();
        MonitorRun.Change up = copy.record(value(2, 0.6)).orElseThrow();
        assertEquals(State.DRIFTING, up.state(), "the copy continues the run of one evaluation over");
        assertEquals(end(1), up.since());
        assertTrue(run.record(value(2, 0.1)).isEmpty(), "the original is untouched by the copy");
        assertEquals(State.OK, run.state());
        assertEquals(State.DRIFTING, copy.state());
    }

    @Test
    void aGapBreaksARunAndEachMinuteIsEvaluatedOnceInOrder() {
        MonitorRun run = new MonitorRun(2);
        run.record(value(0, 0.5));
        assertTrue(run.record(value(2, 0.6)).isEmpty(), "minute 1 was not evaluated: no run");
        assertEquals(State.DRIFTING, run.record(value(3, 0.6)).orElseThrow().state());
        assertThrows(IllegalArgumentException.class, () -> run.record(value(3, 0.1)), "once");
        assertThrows(IllegalArgumentException.class, () -> run.record(value(1, 0.1)), "in order");
    }

    @Test
    void insufficientDataAndInvalidHoldAtOnceAndAnEvaluationUnderTheThresholdEndsThem() {
        MonitorRun run = MonitorRun.resume(3, State.DRIFTING, end(0), end(0));
        MonitorRun.Change quiet = run.record(new Evaluation(end(1), null, 0, Double.NaN, 0.2,
                MonitorRun.Outcome.INSUFFICIENT_DATA, null)).orElseThrow();
        assertEquals(State.INSUFFICIENT_DATA, quiet.state());
        assertEquals(State.DRIFTING, quiet.previous());
        MonitorRun.Change invalid = run.record(new Evaluation(end(2), null, 0, Double.NaN, 0.2,
                MonitorRun.Outcome.INVALID, "reference 'calm' is missing")).orElseThrow();
        assertEquals(State.INVALID, invalid.state());
        assertEquals(State.OK, run.record(value(3, 0.1)).orElseThrow().state());
        assertTrue(run.record(value(4, 0.9)).isEmpty());
        assertTrue(run.record(value(5, 0.9)).isEmpty());
        MonitorRun.Change up = run.record(value(6, 0.9)).orElseThrow();
        assertEquals(State.DRIFTING, up.state());
        assertEquals(end(4), up.since());
        assertEquals(end(4), run.since());
    }

    @Test
    void aQuietModelIsJudgedOnTheFewMinutesItTakesToReachItsMinimum() {
        TreeMap<Instant, Long> counts = new TreeMap<>();
        for (int m = 0; m < 10; m++) {
            counts.put(T.plusSeconds(60L * m), 60L); // 1 observation a second
        }
        TrailingWindow w = TrailingWindow.find(counts, end(9), 200, 60);
        assertTrue(w.sufficient());
        assertEquals(4, w.minutes(), "200 observations at 60 a minute take 4 minutes");
        assertEquals(240, w.observations());
        assertEquals(T.plusSeconds(60L * 6), w.start());
        TrailingWindow busy = TrailingWindow.find(counts, end(9), 50, 60);
        assertEquals(1, busy.minutes());
        TrailingWindow quiet = TrailingWindow.find(counts, end(9), 10_000, 30);
        assertTrue(!quiet.sufficient());
        assertEquals(30, quiet.minutes(), "the whole span tried");
        assertEquals(600, quiet.observations());
        assertThrows(IllegalArgumentException.class, () -> TrailingWindow.find(counts, end(9).plusSeconds(1), 1, 1));
    }
}
