package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class TopExemplarsTest {

    @Test
    void keepsTheHighestActivationsAndMergesAndRoundTrips() {
        TopExemplars a = new TopExemplars(1, 3);
        TopExemplars b = new TopExemplars(1, 3);
        float[] values = {0.5f, 2f, 1f, 3f, 0.1f};
        for (int i = 0; i < values.length; i++) {
            (i % 2 == 0 ? a : b).offer(0, values[i], "o" + i);
        }
        a.merge(b);
        assertArrayEquals(new String[] {"o3", "o1", "o2"}, a.ids(0));
        assertArrayEquals(new float[] {3f, 2f, 1f}, a.activations(0));
        TopExemplars back = TopExemplars.decode(a.encode());
        assertArrayEquals(a.ids(0), back.ids(0));
        assertArrayEquals(a.activations(0), back.activations(0));
    }

    @Test
    void onlyWhatWouldEnterTheKnownTopIsStoredAndTheMergeIsTheSame() {
        TopExemplars known = new TopExemplars(2, 2);
        known.offer(0, 5f, "a");
        known.offer(0, 4f, "b");
        known.offer(1, 1f, "c");
        TopExemplars flush = new TopExemplars(2, 2);
        flush.offer(0, 4.5f, "d");
        flush.offer(0, 3f, "e");
        flush.offer(1, 0.5f, "f");
        TopExemplars entering = known.entering(flush);
        // neuron 0 is full: only 4.5 beats its 2nd; neuron 1 holds fewer than k: everything enters
        assertArrayEquals(new String[] {"d"}, entering.ids(0));
        assertArrayEquals(new String[] {"f"}, entering.ids(1));
        TopExemplars viaDelta = TopExemplars.decode(known.encode());
        viaDelta.merge(entering);
        known.merge(flush);
        for (int n = 0; n < 2; n++) {
            assertArrayEquals(known.ids(n), viaDelta.ids(n));
            assertArrayEquals(known.activations(n), viaDelta.activations(n));
        }
        org.junit.jupiter.api.Assertions.assertTrue(known.entering(new TopExemplars(2, 2)).isEmpty());
    }
}
