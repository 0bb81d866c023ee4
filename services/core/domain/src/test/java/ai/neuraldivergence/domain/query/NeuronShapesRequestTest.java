package ai.neuraldivergence.domain.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.TapDescriptor;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A distribution-shapes request is bounded whether it names its neurons or asks for every one: asking a wide tap for
 * all its neurons (16,384 neurons of 1,000 bins and 101 ranks: some 450 MB of numbers) is refused with a message, as
 * is a named list whose bins and ranks add up past the bound; what the UI asks (a page of neurons, 20 bins) passes.
 */
class NeuronShapesRequestTest {

    private static TapDescriptor tap(int neurons) {
        return new TapDescriptor("m", "1", "t", 0, new int[] {neurons}, neurons, Reduction.NONE);
    }

    private static double[] ranks(int count) {
        return IntStream.range(0, count).mapToDouble(i -> i / (double) Math.max(1, count - 1)).toArray();
    }

    private static List<Integer> first(int count) {
        return IntStream.range(0, count).boxed().toList();
    }

    @Test
    void everyNeuronOfAWideTapIsRefusedAndNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NeuronShapes.Request(tap(16_384), List.of(), 1_000, ranks(101)));
        assertEquals("tap 't' has 16384 neurons, more than the 4096 a request may shape: name the neurons",
                e.getMessage());
    }

    @Test
    void binsAndRanksCountTowardsTheBound() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NeuronShapes.Request(tap(4_096), first(4_096), 1_000, ranks(101)));
        assertTrue(e.getMessage().startsWith("4096 neurons of 1000 bins and 101 quantile ranks are 4513792 values"),
                e.getMessage());
        // every neuron of a tap at the bound, at the default bins and ranks
        assertEquals(4_096, new NeuronShapes.Request(tap(4_096), List.of(), 20, ranks(7)).neurons().size());
        // a thousand neurons of a thousand bins, just under it
        assertEquals(1_000, new NeuronShapes.Request(tap(4_096), first(1_000), 1_000, ranks(7)).neurons().size());
    }
}
