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

    /**
     * Takes steps in turns until every run is done or {@code budget} steps are taken, the first round from run
     * {@code start} on, wrapping round, and every round in that order: a pass starting where the last one stopped leaves no run behind when
     * there are more runs than steps. Returns how many steps were taken.
     */
    static int take(List<? extends Run> runs, int budget, int start) {
        List<Run> left = new ArrayList<>(runs.size());
        int from = runs.isEmpty() ? 0 : Math.floorMod(start, runs.size());
        left.addAll(runs.subList(from, runs.size()));
        left.addAll(runs.subList(0, from));
        int taken = 0;
        while (!left.isEmpty() && taken < budget) {
            for (Iterator<Run> it = left.iterator(); it.hasNext() && taken < budget;) {
                if (it.next().step()) {
                    taken++;
                } else {
                    it.remove();
                }
            }
        }
        return taken;
    }
}
