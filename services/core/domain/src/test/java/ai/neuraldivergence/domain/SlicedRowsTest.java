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

    private static void assertRows(List<float[]> expected, RawRows actual) {
        assertEquals(expected.size(), actual.rows().size());
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.rows().get(i));
        }
        assertTrue(actual.neuronCount() > 0);
    }
}
