package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicedRows;
import java.util.List;
import org.junit.jupiter.api.Test;

class DeltaRowsCacheTest {

    private static SlicedRows rows(int n) {
        SlicedRows.Builder b = new SlicedRows.Builder(256);
        for (int i = 0; i < n; i++) {
            b.add(Slice.ALL, List.of(new float[256]));
        }
        return b.build();
    }

    @Test
    void keepsTheMostRecentlyUsedDeltasWithinItsBytes() {
        long one = rows(10).heapBytes();
        DeltaRowsCache cache = new DeltaRowsCache(3 * one);
        cache.put(1L, rows(10));
        cache.put(2L, rows(10));
        cache.put(3L, rows(10));
        assertNotNull(cache.get(1L), "used: the least recently used is now 2");
        cache.put(4L, rows(10));
        assertNull(cache.get(2L));
        assertNotNull(cache.get(1L));
        assertNotNull(cache.get(4L));
        assertTrue(cache.bytes() <= 3 * one);
        // larger than the whole budget: not kept, nothing evicted for it
        cache.put(5L, rows(40));
        assertNull(cache.get(5L));
        assertEquals(3 * one, cache.bytes());
    }
}
