package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.Mmd;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A tap stored in several blocks has its layer statistic from the projections its producer sends with block 0: the
 * sums block 0 keeps, stores, folds and assembles are those of the whole observations through the whole tap's map,
 * and what cannot be summed so (rows without projections) leaves the tap without sums rather than with partial ones.
 */
class WideTapFeaturesTest {

    private static final int NEURONS = 10;
    private static final int BLOCK = 4;
    private static final String MODEL = "m";
    private static final String TAP = "wide";

    private static final float[] SCALES = {1, 2, 0.5f, 1, 1, 3, 1, 1, 1, 1};
    private static final long SEED = LayerFeatures.seed(MODEL, TAP, 0, NEURONS).orElseThrow();
    private static final RandomFeatureMap MAP = FeatureMaps.of(SEED, NEURONS, SCALES);

    private static List<float[]> observations(int count, long seed, float shift) {
        Random random = new Random(seed);
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            float[] row = new float[NEURONS];
            for (int n = 0; n < NEURONS; n++) {
                row[n] = (float) (random.nextGaussian() + (n == 0 ? shift : 0));
            }
            out.add(row);
        }
        return out;
    }

    private static float[] part(float[] row, int from, int to) {
        return java.util.Arrays.copyOfRange(row, from, to);
    }

    /** The observations' block 0 rows, as a delta of the slice all carrying their projections. */
    private static SlicedRows blockZero(List<float[]> observations) {
        List<float[]> rows = new ArrayList<>();
        List<float[]> projections = new ArrayList<>();
        for (float[] o : observations) {
            rows.add(part(o, 0, BLOCK));
            projections.add(MAP.projection(o));
        }
        return new SlicedRows.Builder(BLOCK, NEURONS).add(Slice.ALL, rows, projections).build();
    }

    private static FeatureSums direct(List<float[]> observations) {
        FeatureSums sums = new FeatureSums(MAP.bandwidths());
        double[] scratch = new double[RandomFeatureMap.DIRECTIONS];
        observations.forEach(o -> sums.add(MAP, o, scratch));
        return sums;
    }

    /** The whole tap's distribution as a reader assembles it from its blocks, block 0 summing projections. */
    private static TapDistribution assembled(List<float[]> observations) {
        SlicedRows delta = SlicedRows.decode(blockZero(observations).encode(), List.of(Slice.ALL));
        TapDistribution first = new TapDistribution(BLOCK, 200);
        LayerFeatures.start(first, MODEL, TAP, SCALES, 0, delta.featureNeurons());
        new SummedRows(delta.rowsOf(Slice.ALL), delta.featureSums(first.featureMap())[0], SEED, NEURONS, SCALES)
                .addTo(first);
        List<TapDistribution> blocks = new ArrayList<>(List.of(first));
        for (int from = BLOCK; from < NEURONS; from += BLOCK) {
            TapDistribution block = new TapDistribution(Math.min(BLOCK, NEURONS - from), 200);
            for (float[] o : observations) {
                block.add(part(o, from, Math.min(from + BLOCK, NEURONS)), 0);
            }
            blocks.add(block);
        }
        return TapDistribution.assemble(blocks);
    }

    @Test
    void blockZerosSumsFromProjectionsAreTheWholeObservationsSums() {
        List<float[]> observations = observations(300, 1, 0);
        SlicedRows delta = blockZero(observations);
        SlicedRows decoded = SlicedRows.decode(delta.encode(), List.of(Slice.ALL));
        assertEquals(delta.encodedBytes(), delta.encode().length);
        assertTrue(decoded.projected());
        assertEquals(NEURONS, decoded.featureNeurons());
        assertEquals(BLOCK, decoded.neuronCount());
        FeatureSums fromProjections = decoded.featureSums(MAP)[0];
        FeatureSums whole = direct(observations);
        assertEquals(whole.count(), fromProjections.count());
        double[] expected = whole.sums();
        double[] actual = fromProjections.sums();
        for (int i = 0; i < expected.length; i++) {
            // the projections travel as floats: each observation's angle is off by float rounding at most
            assertEquals(expected[i], actual[i], 1e-3, "sum " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> decoded.featureSums(FeatureMaps.of(SEED, BLOCK, null)),
                "block 0's rows cannot be summed through a map of their own width");
    }

    @Test
    void theAssembledTapCarriesBlockZerosSumsThroughTheStoreAndTheLayerStatisticReadsThem() {
        List<float[]> a = observations(400, 2, 0);
        List<float[]> b = observations(400, 3, 1.5f);
        // stored by block: block 0's row keeps the whole tap's map (format 5) and reads back the same
        SlicedRows delta = blockZero(a);
        TapDistribution stored = new TapDistribution(BLOCK, 200);
        LayerFeatures.start(stored, MODEL, TAP, SCALES, 0, NEURONS);
        stored.addAll(delta.rowsOf(Slice.ALL).rows(), delta.featureSums(stored.featureMap())[0], SEED, NEURONS,
                SCALES);
        TapDistribution reread = DistributionCodec.decode(DistributionCodec.encode(stored));
        assertEquals(NEURONS, reread.featureNeurons());
        assertArrayEquals(SCALES, reread.featureScales());
        assertArrayEquals(stored.features().sums(), reread.features().sums());
        assertTrue(reread.sameFeatureMap(stored));

        TapDistribution whole = assembled(a);
        assertNotNull(whole.features(), "the assembled tap takes block 0's sums");
        assertEquals(NEURONS, whole.featureNeurons());
        // a reference frozen from a time range stores the assembled tap block by block: block 0 keeps the sums
        TapDistribution frozenBlockZero = DistributionCodec.decode(DistributionCodec.encode(whole.part(0, BLOCK)));
        assertEquals(NEURONS, frozenBlockZero.featureNeurons());
        assertArrayEquals(whole.features().sums(), frozenBlockZero.features().sums());
        assertNull(whole.part(BLOCK, BLOCK).features(), "other blocks keep none");
        TapDescriptor layout = new TapDescriptor(MODEL, "1", TAP, 0, new int[] {NEURONS}, NEURONS,
                Reduction.NONE, BLOCK, SCALES);
        LayerDrift drift = LayerDrift.of(layout, whole, assembled(b), 0.01, 0);
        assertTrue(drift.available(), drift.toString());
        for (int g = 0; g < MAP.bandwidths(); g++) {
            assertEquals(Mmd.unbiased(direct(a), direct(b), g), Mmd.unbiased(whole.features(),
                    assembled(b).features(), g), 1e-6, "MMD² as from the whole observations, bandwidth " + g);
        }
        assertTrue(drift.drifted(), "neuron 0 moved by 1.5 sd: " + drift);
        assertTrue(!LayerDrift.of(layout, whole, assembled(observations(400, 4, 0)), 0.01, 0).drifted());
    }

    @Test
    void rowsWithoutProjectionsOrBlocksOfAnotherCountLeaveTheTapWithoutSumsNeverPartialOnes() {
        List<float[]> a = observations(50, 5, 0);
        TapDistribution summed = new TapDistribution(BLOCK, 200);
        LayerFeatures.start(summed, MODEL, TAP, SCALES, 0, NEURONS);
        SlicedRows delta = blockZero(a);
        summed.addAll(delta.rowsOf(Slice.ALL).rows(), delta.featureSums(summed.featureMap())[0], SEED, NEURONS,
                SCALES);
        // a later delta of block 0 without projections (a producer that sends none): its rows cannot be projected
        summed.addAll(List.of(part(a.get(0), 0, BLOCK)));
        assertNull(summed.features());

        // block 1 behind block 0 (its flush under way): the tap counts what every block saw, block 0's sums do not
        List<float[]> more = observations(60, 6, 0);
        TapDistribution ahead = new TapDistribution(BLOCK, 200);
        LayerFeatures.start(ahead, MODEL, TAP, SCALES, 0, NEURONS);
        SlicedRows d60 = blockZero(more);
        ahead.addAll(d60.rowsOf(Slice.ALL).rows(), d60.featureSums(ahead.featureMap())[0], SEED, NEURONS, SCALES);
        TapDistribution behind = new TapDistribution(NEURONS - BLOCK, 200);
        for (float[] o : more.subList(0, 59)) {
            behind.add(part(o, BLOCK, NEURONS), 0);
        }
        TapDistribution tap = TapDistribution.assemble(List.of(ahead, behind));
        assertEquals(59, tap.observationCount());
        assertNull(tap.features());

        // a late label's row joined from the recent store has no projections: its slice has no sums, the slice all
        // keeps its own
        List<float[]> rows = new ArrayList<>();
        List<float[]> projections = new ArrayList<>();
        for (float[] o : a) {
            rows.add(part(o, 0, BLOCK));
            projections.add(MAP.projection(o));
        }
        float[] joined = part(a.get(0), 0, BLOCK);
        Slice label = Slice.trueLabel(3);
        SlicedRows late = SlicedRows.decode(new SlicedRows.Builder(BLOCK, NEURONS).add(Slice.ALL, rows, projections)
                .add(label, List.of(rows.get(1), joined), java.util.Arrays.asList(projections.get(1), null)).build()
                .encode(), List.of(Slice.ALL, label));
        FeatureSums[] bySlice = late.featureSums(MAP);
        assertEquals(direct(a).count(), bySlice[0].count());
        assertArrayEquals(direct(a).sums(), bySlice[0].sums(), 1e-3);
        assertNull(bySlice[1]);
        assertNull(late.featureSumsOf(label, MAP));
        assertEquals(a.size(), late.featureSumsOf(Slice.ALL, MAP).count());

        // a builder of projected rows takes a list of projections, one per row, and only it does
        assertThrows(IllegalArgumentException.class, () -> new SlicedRows.Builder(BLOCK, NEURONS)
                .add(Slice.ALL, List.of(new float[BLOCK])));
        assertThrows(IllegalArgumentException.class, () -> new SlicedRows.Builder(BLOCK)
                .add(Slice.ALL, List.of(new float[BLOCK]), List.of(new float[RandomFeatureMap.DIRECTIONS])));
        assertThrows(IllegalArgumentException.class, () -> new SlicedRows.Builder(BLOCK, NEURONS).add(Slice.ALL,
                List.of(new float[BLOCK]), List.of(new float[3])));
        assertThrows(IllegalArgumentException.class, () -> new SlicedRows.Builder(BLOCK, BLOCK));

        // an observation added first by a slice without its projections, then by one with them: it has them
        float[] shared = part(a.get(1), 0, BLOCK);
        SlicedRows both = new SlicedRows.Builder(BLOCK, NEURONS)
                .add(label, List.of(shared), java.util.Arrays.asList((float[]) null))
                .add(Slice.ALL, List.of(shared), List.of(MAP.projection(a.get(1)))).build();
        assertNotNull(both.featureSumsOf(label, MAP));
        assertEquals(1, both.featureSumsOf(Slice.ALL, MAP).count());
    }

    @Test
    void projectedBytesThatDoNotHoldAWiderMapAreTheStoresFault() {
        byte[] encoded = blockZero(observations(3, 7, 0)).encode();
        java.nio.ByteBuffer.wrap(encoded).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(1 + 4 + 4 + 4 + 3 * (1 + 4 * BLOCK), BLOCK);
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(encoded, List.of(Slice.ALL)));
        byte[] truncated = java.util.Arrays.copyOf(blockZero(observations(3, 7, 0)).encode(), 100);
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(truncated, List.of(Slice.ALL)));
        byte[] huge = blockZero(observations(3, 7, 0)).encode();
        java.nio.ByteBuffer.wrap(huge).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(1 + 4 + 4 + 4 + 3 * (1 + 4 * BLOCK), Integer.MAX_VALUE);
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(huge, List.of(Slice.ALL)), "a map wider than any tap");

        // a stored block 0 whose map is wider than any tap, or whose scales flag is neither 0 nor 1
        TapDistribution stored = new TapDistribution(BLOCK, 200);
        LayerFeatures.start(stored, MODEL, TAP, null, 0, NEURONS);
        SlicedRows delta = blockZero(observations(3, 7, 0));
        stored.addAll(delta.rowsOf(Slice.ALL).rows(), delta.featureSums(stored.featureMap())[0], SEED, NEURONS,
                null);
        byte[] row = DistributionCodec.encode(stored);
        assertEquals(NEURONS, DistributionCodec.decode(row).featureNeurons(), "format 5 without scales");
        assertTrue(row[0] == 'N' && row[1] == 'D' && row[2] == 'T', "stored as it is: small rows are not compressed");
        int at = row.length - (8 * stored.features().sums().length + 8 + 8 + 4) - 1 - 4;
        byte[] wide = row.clone();
        java.nio.ByteBuffer.wrap(wide).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(at, Integer.MAX_VALUE);
        assertThrows(DistributionCodec.CorruptDistributionException.class, () -> DistributionCodec.decode(wide));
        byte[] flag = row.clone();
        flag[at + 4] = 7;
        assertThrows(DistributionCodec.CorruptDistributionException.class, () -> DistributionCodec.decode(flag));
    }

}
