package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.mmd.FeatureMaps;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A reference's null computed whole and stored (what the aggregator writes after a seal) answers every query exactly
 * as the null resampled on demand from the same sample does, before and after a round trip through its stored form;
 * a sample too small to resample stores an empty table that answers nothing (the analytic bound), not a guess.
 */
class LayerNullTableTest {

    private static final int NEURONS = 16;
    private static final TapDescriptor TAP = new TapDescriptor("m", "v1", "dense", 0, new int[] {NEURONS}, NEURONS,
            Reduction.NONE, 1024);

    private static List<float[]> sample(int size) {
        long seed = LayerFeatures.seed("m", "dense", 0, NEURONS).orElseThrow();
        return LayerNullTest.projected(FeatureMaps.of(seed, NEURONS, null), LayerDriftTest.draw(new Random(3), size,
                0.5, 1, true));
    }

    @Test
    void aStoredTableAnswersAsTheNullResampledOnDemand() {
        List<float[]> sample = sample(600);
        LayerNullTable table = new SampledLayerNull(TAP, sample, 11).table();
        LayerNullTable restored = LayerNullTable.of(table.sampleSize(), table.summaries(), table.eigenvalues());
        SampledLayerNull onDemand = new SampledLayerNull(TAP, sample, 11);
        assertTrue(table.usable());
        assertEquals(600, table.sampleSize());
        int grid = table.summaries().length;
        assertEquals(FeatureMaps.of(0, NEURONS, null).bandwidths(), grid, "every grid point of the map");
        // every bucket (n = m = 2 × bucket gives n_eff = bucket), counts past the largest, and rates on both sides
        // of one in a thousand (below it the spectrum answers)
        long[] counts = {32, 64, 128, 256, 512, 1024, 2048, 9000};
        for (int g = 0; g < grid; g++) {
            for (long n : counts) {
                for (double alpha : new double[] {0.5, 0.01, 1e-3, 1e-6}) {
                    double expected = onDemand.quantile(g, n, 8000, alpha).orElseThrow();
                    assertEquals(expected, table.quantile(g, n, 8000, alpha).orElseThrow(), 0,
                            "g " + g + ", n " + n + ", alpha " + alpha);
                    assertEquals(expected, restored.quantile(g, n, 8000, alpha).orElseThrow(), 0,
                            "restored: g " + g + ", n " + n + ", alpha " + alpha);
                }
            }
        }
        assertTrue(table.quantile(0, 10, 10, 0.01).isEmpty(), "below the smallest bucket nothing is resampled");
        assertFalse(table.calibrating());
    }

    @Test
    void aSampleTooSmallStoresAnEmptyTableThatAnswersNothing() {
        LayerNullTable table = new SampledLayerNull(TAP, sample(LayerNull.SMALLEST_SAMPLE - 1), 11).table();
        assertFalse(table.usable());
        LayerNullTable restored = LayerNullTable.of(table.sampleSize(), table.summaries(), table.eigenvalues());
        assertEquals(LayerNull.SMALLEST_SAMPLE - 1, restored.sampleSize());
        assertTrue(restored.quantile(0, 500, 500, 0.01).isEmpty());
    }

    @Test
    void aCalibratingSourceAnswersNothingAndSaysSo() {
        assertTrue(LayerNull.CALIBRATING.calibrating());
        assertTrue(LayerNull.CALIBRATING.quantile(0, 500, 500, 0.01).isEmpty());
    }

    @Test
    void aStoredFormOfTheWrongShapeIsRefused() {
        LayerNullTable table = new SampledLayerNull(TAP, sample(300), 1).table();
        double[][][] summaries = table.summaries();
        summaries[0] = java.util.Arrays.copyOf(summaries[0], 3);
        assertThrows(IllegalArgumentException.class, () -> LayerNullTable.of(300, summaries, table.eigenvalues()));
        assertThrows(IllegalArgumentException.class, () -> LayerNullTable.of(300, table.summaries(),
                new double[1][4]));
    }
}
