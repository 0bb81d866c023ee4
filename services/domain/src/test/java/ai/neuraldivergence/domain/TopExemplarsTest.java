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
}
