package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class WordsTest {

    @Test
    void everyConstantRoundTripsThroughItsWord() {
        for (Granularity g : Granularity.values()) {
            assertEquals(g, Granularity.fromWord(g.word()));
        }
        for (Reduction r : Reduction.values()) {
            assertEquals(r, Reduction.fromWord(r.word()));
        }
        for (PairRole r : PairRole.values()) {
            assertEquals(r, PairRole.fromWord(r.word()));
        }
        assertEquals("minute", Granularity.MINUTE.word());
        assertEquals("attacked", PairRole.ATTACKED.word());
    }

    @Test
    void anUnknownWordIsRefusedNamingEveryWord() {
        assertEquals("granularity must be minute, hour or day, got 'week'",
                assertThrows(IllegalArgumentException.class, () -> Granularity.fromWord("week")).getMessage());
        assertEquals("reduction must be none, max or mean, got 'MAX'",
                assertThrows(IllegalArgumentException.class, () -> Reduction.fromWord("MAX")).getMessage());
        assertEquals("pair role must be benign or attacked, got 'null'",
                assertThrows(IllegalArgumentException.class, () -> PairRole.fromWord(null)).getMessage());
    }
}
