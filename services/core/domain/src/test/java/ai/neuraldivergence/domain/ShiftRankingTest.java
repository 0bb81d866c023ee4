package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ShiftRankingTest {

    private static final float[] BENIGN = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    private static final float[] ATTACKED = {0.5f, 1.0f, 0.0f, 6.0f, 3.9f, 5.1f};

    @Test
    void excitedAreTheLargestRisesFirstAndInhibitedTheLargestFallsFirst() {
        ShiftRanking r = ShiftRanking.of(BENIGN, ATTACKED, null, 10);
        assertArrayEquals(new int[] {3, 0, 5}, r.excited());
        assertArrayEquals(new int[] {2, 4}, r.inhibited());
    }

    @Test
    void unchangedNeuronsAreInNeitherList() {
        ShiftRanking r = ShiftRanking.of(BENIGN, BENIGN.clone(), null, 10);
        assertArrayEquals(new int[0], r.excited());
        assertArrayEquals(new int[0], r.inhibited());
    }

    @Test
    void topKCutsEachListAfterItsLargestShifts() {
        ShiftRanking r = ShiftRanking.of(BENIGN, ATTACKED, null, 1);
        assertArrayEquals(new int[] {3}, r.excited());
        assertArrayEquals(new int[] {2}, r.inhibited());
    }

    @Test
    void missingNeuronsAreLeftOut() {
        boolean[] missing = {false, false, true, true, false, false};
        ShiftRanking r = ShiftRanking.of(BENIGN, ATTACKED, missing, 10);
        assertArrayEquals(new int[] {0, 5}, r.excited());
        assertArrayEquals(new int[] {4}, r.inhibited());
    }

    @Test
    void equalShiftsKeepNeuronOrder() {
        ShiftRanking r = ShiftRanking.of(new float[] {0, 0, 0}, new float[] {1, 1, 1}, null, 2);
        assertArrayEquals(new int[] {0, 1}, r.excited());
    }

    @Test
    void observationsOfDifferentWidthsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ShiftRanking.of(new float[2], new float[3], null, 1));
    }
}
