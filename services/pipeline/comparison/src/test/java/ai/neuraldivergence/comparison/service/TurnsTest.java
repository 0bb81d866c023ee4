package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A monitor pass takes its evaluations in turns: a monitor back-filling hours (here 400 minutes, listed first, as
 * its name would sort) no longer spends the pass's budget before the monitors after it evaluate their newest minute.
 */
class TurnsTest {

    /** A run of {@code steps} steps, each logged as its name and number. */
    private static Turns.Run run(String name, int steps, List<String> log) {
        int[] taken = {0};
        return () -> {
            if (taken[0] == steps) {
                return false;
            }
            log.add(name + ++taken[0]);
            return true;
        };
    }

    @Test
    void aLongBackFillSharesTheBudgetWithTheNewestMinutesOfTheOthers() {
        List<String> log = new ArrayList<>();
        int taken = Turns.take(List.of(run("backfill", 400, log), run("live", 1, log), run("other", 2, log)), 240, 0)
                .taken();
        assertEquals(240, taken);
        assertEquals(List.of("backfill1", "live1", "other1", "backfill2", "other2", "backfill3"), log.subList(0, 6));
        assertEquals(237, log.stream().filter(s -> s.startsWith("backfill")).count());
        // each run's own steps stay in order
        assertEquals("backfill237", log.get(log.size() - 1));
    }

    @Test
    void withMoreRunsThanTheBudgetAPassStartsWhereTheLastStopped() {
        // 300 runs back-filling (three monitors of every tap of a 100-tap model): 240 steps a pass
        List<String> log = new ArrayList<>();
        List<Turns.Run> runs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            runs.add(run("r" + i + "-", 720, log));
        }
        Turns.Pass pass = Turns.take(runs, 240, 0);
        assertEquals("r239-1", log.get(log.size() - 1));
        log.clear();
        Turns.take(runs, 240, pass.next());
        assertEquals(List.of("r240-1", "r241-1"), log.subList(0, 2));
        assertEquals("r179-2", log.get(log.size() - 1), "runs 240 to 299 had their turn, then 0 to 179 again");
    }

    @Test
    void withBudgetEnoughEveryRunFinishesAndNothingMoreIsTaken() {
        List<String> log = new ArrayList<>();
        assertEquals(6, Turns.take(List.of(run("a", 3, log), run("b", 0, log), run("c", 3, log)), 240, 0).taken());
        assertEquals(List.of("a1", "c1", "a2", "c2", "a3", "c3"), log);
        assertEquals(0, Turns.take(List.of(), 240, 7).taken());
    }

    @Test
    void runsWithNothingToDoAreNotCountedAsTurnsTaken() {
        // 300 runs, every other one done (its monitor evaluated its newest minute): 150 steps in the first round, 90
        // in the second, which ends after run 179; the next pass goes on from run 180, not from run 240
        List<String> log = new ArrayList<>();
        List<Turns.Run> runs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            runs.add(run("r" + i + "-", i % 2 == 0 ? 0 : 720, log));
        }
        Turns.Pass pass = Turns.take(runs, 240, 0);
        assertEquals("r179-2", log.get(log.size() - 1));
        assertEquals(180, pass.next());
        log.clear();
        Turns.take(runs, 240, pass.next());
        assertEquals(List.of("r181-2", "r183-2"), log.subList(0, 2), "runs 181 to 299 had one turn, 1 to 179 two");
    }
}
