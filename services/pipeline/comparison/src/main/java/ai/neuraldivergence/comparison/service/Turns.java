package ai.neuraldivergence.comparison.service;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Steps of many runs taken in turns, a step a run a round, within a budget: a run with many steps to take (a
 * monitor back-filling hours) leaves the budget to share, instead of spending it before the runs after it in the
 * list take their one.
 */
final class Turns {

    /** One run's steps, in its own order. */
    @FunctionalInterface
    interface Run {
        /** Takes the next step; false when there was none (the run is done for this pass). */
        boolean step();
    }

    private Turns() {
    }

    /** A pass's outcome: the steps taken, and the run the next pass starts from. */
    record Pass(int taken, int next) {
    }

    /**
     * Takes steps in turns until every run is done or {@code budget} steps are taken, the first round from run
     * {@code start} on, wrapping round, and every round in that order. The next pass starts at the run after the last
     * one that took a step, so that with more runs than steps no run is left behind (runs with nothing to do are
     * passed over, not counted as turns taken).
     */
    static Pass take(List<? extends Run> runs, int budget, int start) {
        int size = runs.size();
        int from = size == 0 ? 0 : Math.floorMod(start, size);
        List<Integer> left = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            left.add((from + i) % size);
        }
        int taken = 0;
        int next = from;
        while (!left.isEmpty() && taken < budget) {
            for (Iterator<Integer> it = left.iterator(); it.hasNext() && taken < budget;) {
                int run = it.next();
                if (runs.get(run).step()) {
                    taken++;
                    next = (run + 1) % size;
                } else {
                    it.remove();
                }
            }
        }
        return new Pass(taken, next);
    }
}
