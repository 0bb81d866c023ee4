package ai.neuraldivergence.domain;

import static ai.neuraldivergence.domain.Distributions.of;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SharedBinsTest {

    @Test
    void binsSpanBothSidesAndSharesCountExactlyWhileTheSketchIsExact() {
        NeuronDistribution a = of(0f, 1f, 1f, 2f);
        NeuronDistribution b = of(3f, 4f);
        SharedBins bins = SharedBins.spanning(4, a, b);
        assertArrayEquals(new double[] {0, 1, 2, 3, 4}, bins.edges());
        // bin (0,1] plus its lower edge holds 0, 1, 1; (1,2] holds 2
        assertArrayEquals(new double[] {0.75, 0.25, 0, 0}, bins.shares(a), 1e-12);
        assertArrayEquals(new double[] {0, 0, 0.5, 0.5}, bins.shares(b), 1e-12);
        assertEquals(1.0, Arrays.stream(bins.shares(a)).sum(), 1e-12);
    }

    @Test
    void aConstantNeuronGetsAUnitRangeAndAnEmptyOneNoShares() {
        SharedBins bins = SharedBins.spanning(2, of(0f, 0f, 0f));
        assertArrayEquals(new double[] {-0.5, 0, 0.5}, bins.edges());
        assertArrayEquals(new double[] {1, 0}, bins.shares(of(0f, 0f, 0f)), 1e-12);
        assertArrayEquals(new double[] {0, 0}, bins.shares(of()), 1e-12);
    }
}
