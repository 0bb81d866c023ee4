package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlicedRowsTest {

    private static final Slice CLASS_3 = Slice.predictedClass(3);
    private static final Slice LABEL_3 = Slice.trueLabel(3);

    @Test
    void anObservationInSeveralSlicesIsStoredOnceAndReadBackInEach() {
        float[] a = {1f, 2f};
        float[] b = {3f, 4f};
        float[] late = {5f, 6f};
        SlicedRows rows = new SlicedRows.Builder(2)
                .add(Slice.ALL, List.of(a, b))
                .add(CLASS_3, List.of(a))
                .add(LABEL_3, List.of(b, late))
                .build();
        assertEquals(3, rows.observationCount(), "each array once");
        assertArrayEquals(new int[] {2, 1, 2}, rows.sliceCounts());
        byte[] encoded = rows.encode();
        assertEquals(rows.encodedBytes(), encoded.length);
        // 3 rows of 2 values and one byte of membership each, not 5 rows
        assertEquals(13 + 3 * (1 + 8), encoded.length);

        SlicedRows back = SlicedRows.decode(encoded, rows.slices());
        assertEquals(List.of(Slice.ALL, CLASS_3, LABEL_3), back.slices());
        assertRows(List.of(a, b), back.rowsOf(Slice.ALL));
        assertRows(List.<float[]>of(a), back.rowsOf(CLASS_3));
        assertRows(List.of(b, late), back.rowsOf(LABEL_3));
        assertEquals(0, back.rowsOf(Slice.predictedClass(4)).rows().size());
    }

    /**
     * Decoded rows of a one-neuron tap hold several times their encoded bytes (an array per row and per membership,
     * each with a header): a cache of decoded rows counting encoded bytes held that many times its bound.
     */
    @Test
    void aNarrowTapsDecodedRowsCountTheirArraysNotTheirEncodedBytes() {
        SlicedRows.Builder builder = new SlicedRows.Builder(1);
        List<float[]> values = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            values.add(new float[] {i});
        }
        builder.add(Slice.ALL, values);
        SlicedRows back = SlicedRows.decode(builder.build().encode(), List.of(Slice.ALL));
        // per row: a float[1] (24 bytes) and a byte[1] (24), each referenced (8): 64, against 5 encoded
        assertTrue(back.heapBytes() >= 64L * 1_000, back.heapBytes() + " bytes");
        assertTrue(back.heapBytes() > 10 * back.encodedBytes(), back.heapBytes() + " against " + back.encodedBytes());
    }

    @Test
    void moreSlicesThanOneByteAndOneWordOfMembershipKeepEveryBit() {
        SlicedRows.Builder builder = new SlicedRows.Builder(1);
        float[] everywhere = {7f};
        List<Slice> slices = new ArrayList<>();
        for (int i = 0; i < 70; i++) {
            Slice s = Slice.tag("k", "v" + i);
            slices.add(s);
            builder.add(s, i % 2 == 0 ? List.of(everywhere) : List.of(everywhere, new float[] {(float) i}));
        }
        SlicedRows back = SlicedRows.decode(builder.build().encode(), slices);
        for (int i = 0; i < 70; i++) {
            assertEquals(i % 2 == 0 ? 1 : 2, back.rowsOf(slices.get(i)).rows().size(), "slice " + i);
            assertEquals(7f, back.rowsOf(slices.get(i)).rows().get(0)[0]);
        }
        assertEquals(1 + 35, back.observationCount());
    }

    @Test
    void oneSliceRawRowsFromBeforeDecodeAsThatSlice() {
        byte[] v1 = RawRows.encode(2, List.of(new float[] {1f, 2f}, new float[] {3f, 4f}));
        SlicedRows back = SlicedRows.decode(v1, List.of(CLASS_3));
        assertArrayEquals(new int[] {2}, back.sliceCounts());
        assertRows(List.of(new float[] {1f, 2f}, new float[] {3f, 4f}), back.rowsOf(CLASS_3));
    }

    @Test
    void bytesThatDoNotMatchTheirSlicesAreTheStoresFault() {
        byte[] encoded = new SlicedRows.Builder(2).add(Slice.ALL, List.of(new float[] {1f, 2f}))
                .add(CLASS_3, List.of(new float[] {3f, 4f})).build().encode();
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(encoded, List.of(Slice.ALL)));
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(java.util.Arrays.copyOf(encoded, encoded.length - 1),
                        List.of(Slice.ALL, CLASS_3)));
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(new byte[] {0, 1, 2, 3}, List.of(Slice.ALL)));
        assertThrows(IllegalArgumentException.class, () -> new SlicedRows.Builder(2).add(Slice.ALL,
                List.of(new float[] {1f})));
    }

    /**
     * Each slice's feature sums, every observation projected once (in parallel chunks for a large delta), equal the
     * sums of that slice's own rows; added to a distribution of the same map they are its sums, and a distribution of
     * another map sums the rows through its own.
     */
    @Test
    void eachSlicesFeatureSumsAreItsOwnRowsSumsWhetherSummedAtOnceOrInChunks() {
        int neurons = 8;
        long seed = LayerFeatures.seed("m", "dense", 0, neurons).orElseThrow();
        var map = ai.neuraldivergence.domain.mmd.FeatureMaps.of(seed, neurons, null);
        java.util.Random random = new java.util.Random(4);
        // 30 rows sum in one chunk; 4,000 rows x 8 neurons x 128 directions in several
        for (int size : new int[] {30, 4_000}) {
            java.util.Map<Slice, List<float[]>> bySlice = new java.util.LinkedHashMap<>();
            for (Slice s : List.of(Slice.ALL, CLASS_3, LABEL_3)) {
                bySlice.put(s, new ArrayList<>());
            }
            for (int r = 0; r < size; r++) {
                float[] row = new float[neurons];
                for (int n = 0; n < neurons; n++) {
                    row[n] = r == 4 && n == 1 ? Float.POSITIVE_INFINITY : (float) random.nextGaussian();
                }
                bySlice.get(Slice.ALL).add(row);
                bySlice.get(r % 2 == 0 ? CLASS_3 : LABEL_3).add(row);
            }
            SlicedRows.Builder builder = new SlicedRows.Builder(neurons);
            bySlice.forEach(builder::add);
            SlicedRows rows = builder.build();
            ai.neuraldivergence.domain.mmd.FeatureSums[] sums = rows.featureSums(map);
            for (int i = 0; i < rows.slices().size(); i++) {
                Slice slice = rows.slices().get(i);
                TapDistribution own = new TapDistribution(neurons, 200);
                own.startFeatures(seed, null);
                own.addAll(bySlice.get(slice));
                String what = size + " rows, " + slice;
                assertEquals(own.features().count(), sums[i].count(), what);
                assertEquals(own.features().nonFinite(), sums[i].nonFinite(), what);
                assertArrayEquals(own.features().sums(), sums[i].sums(), 1e-9, what);

                TapDistribution summed = new TapDistribution(neurons, 200);
                summed.startFeatures(seed, null);
                new SummedRows(new RawRows(neurons, bySlice.get(slice)), sums[i], seed, null).addTo(summed);
                assertEquals(bySlice.get(slice).size(), summed.observationCount(), what);
                assertArrayEquals(own.features().sums(), summed.features().sums(), 1e-9, what);
                assertEquals(own.neuron(0).sum(), summed.neuron(0).sum(), 1e-9, what);

                float[] otherScales = new float[neurons];
                java.util.Arrays.fill(otherScales, 3f);
                TapDistribution otherMap = new TapDistribution(neurons, 200);
                otherMap.startFeatures(seed, otherScales);
                new SummedRows(new RawRows(neurons, bySlice.get(slice)), sums[i], seed, null).addTo(otherMap);
                TapDistribution ownOfOtherMap = new TapDistribution(neurons, 200);
                ownOfOtherMap.startFeatures(seed, otherScales);
                ownOfOtherMap.addAll(bySlice.get(slice));
                assertArrayEquals(ownOfOtherMap.features().sums(), otherMap.features().sums(), 1e-9,
                        what + ": another map's distribution sums the rows through its own");
            }
            assertThrows(IllegalArgumentException.class, () -> new SummedRows(new RawRows(neurons,
                    bySlice.get(CLASS_3)), sums[0], seed, null), "the slice all's sums for class 3's rows");
        }
    }

    /**
     * A fold's sums are taken as given where the maps agree (the rows are not projected again: that is the saving),
     * and ignored where they do not.
     */
    @Test
    void sumsOfTheSameMapAreTakenAsGivenAndAnotherMapsAreNot() {
        int neurons = 4;
        long seed = LayerFeatures.seed("m", "dense", 0, neurons).orElseThrow();
        List<float[]> rows = List.of(new float[] {1, 2, 3, 4}, new float[] {-1, 0, 2, 5});
        // sums of the right count that no projection would give: all zeros
        ai.neuraldivergence.domain.mmd.FeatureSums sentinel = ai.neuraldivergence.domain.mmd.FeatureSums.of(2, 0,
                new double[5 * 2 * ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS]);
        TapDistribution same = new TapDistribution(neurons, 200);
        same.startFeatures(seed, null);
        new SummedRows(new RawRows(neurons, rows), sentinel, seed, null).addTo(same);
        assertArrayEquals(sentinel.sums(), same.features().sums(), "taken as given");
        assertEquals(2, same.features().count());
        assertEquals(2, same.observationCount());

        TapDistribution otherSeed = new TapDistribution(neurons, 200);
        otherSeed.startFeatures(seed + 1, null);
        new SummedRows(new RawRows(neurons, rows), sentinel, seed, null).addTo(otherSeed);
        assertTrue(java.util.Arrays.stream(otherSeed.features().sums()).anyMatch(v -> v != 0),
                "another map's distribution projects the rows itself");
    }

    @Test
    void slicesStoredTwiceBesideADeltaAreTheStoresFault() {
        byte[] encoded = new SlicedRows.Builder(1).add(Slice.ALL, List.of(new float[] {1f}))
                .add(CLASS_3, List.of(new float[] {2f})).build().encode();
        assertThrows(DistributionCodec.CorruptDistributionException.class,
                () -> SlicedRows.decode(encoded, List.of(CLASS_3, CLASS_3)));
    }

    private static void assertRows(List<float[]> expected, RawRows actual) {
        assertEquals(expected.size(), actual.rows().size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.rows().get(i));
        }
        assertTrue(actual.neuronCount() > 0);
    }
}
