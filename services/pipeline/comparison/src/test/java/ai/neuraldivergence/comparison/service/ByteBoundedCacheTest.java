package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The byte count stays the sum of what the kept values were counted at, even when a value grows after it is kept
 * (a reference distribution builds its sketch in place on first use): evictions give back what was counted, so the
 * count never drifts below what is held and the bound keeps evicting.
 */
class ByteBoundedCacheTest {

    /** A value whose size is read from a counter its owner changes, as a distribution's heap estimate changes. */
    private record Growing(AtomicLong size) {
    }

    @Test
    void aValueThatGrowsAfterItIsKeptGivesBackWhatItWasCountedAt() {
        ByteBoundedCache<String, Growing> cache = new ByteBoundedCache<>(1_000, g -> g.size().get());
        Growing first = new Growing(new AtomicLong(400));
        cache.put("first", first);
        cache.put("second", new Growing(new AtomicLong(400)));
        assertEquals(800, cache.bytes());
        first.size().set(700); // grows after it was kept (a sketch built in place): evicting it gives back 400
        cache.put("third", new Growing(new AtomicLong(400)));
        assertNull(cache.get("first"), "the least recently used went");
        assertEquals(800, cache.bytes(), "the count is what the two kept were counted at");
        for (int i = 0; i < 100; i++) {
            Growing g = new Growing(new AtomicLong(400));
            cache.put("v" + i, g);
            g.size().set(700);
            assertTrue(cache.bytes() <= 1_000 && cache.bytes() >= 400, "count " + cache.bytes() + " at " + i);
        }
        assertNotNull(cache.get("v99"));
        assertNull(cache.get("v97"), "still evicting: two of 400 fit");
    }
}
