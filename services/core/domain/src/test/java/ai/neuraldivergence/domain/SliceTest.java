package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SliceTest {

    @Test
    void keysRoundTrip() {
        for (Slice s : List.of(Slice.ALL, Slice.predictedClass(3), Slice.trueLabel(8), Slice.tag("source", "prod"),
                Slice.tag("eps", "0.1"), Slice.pairRole(PairRole.ATTACKED))) {
            assertEquals(s, Slice.parse(s.key()));
        }
        assertEquals("tag:source=prod", Slice.tag("source", "prod").key());
        assertEquals(Slice.ALL, Slice.parse(""));
    }

    @Test
    void badKeysAreRefusedWithTheAcceptedForms() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Slice.parse("class=3"));
        assertTrue(e.getMessage().contains("predicted=<class>"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Slice.parse("predicted=x"));
        assertThrows(IllegalArgumentException.class, () -> Slice.parse("predicted=-1"));
        assertThrows(IllegalArgumentException.class, () -> Slice.parse("pair=evil"));
        assertThrows(IllegalArgumentException.class, () -> Slice.tag("bad key", "v"));
        assertThrows(IllegalArgumentException.class, () -> Slice.tag("k", ""));
    }

    @Test
    void observationsBelongToEverySliceTheirMetadataNames() {
        SlicePolicy policy = new SlicePolicy(Set.of("source"), 10, (k, v, why) -> { });
        List<Slice> slices = policy.slicesOf(3, 5, Map.of("source", "prod", "request", "r-1"), PairRole.BENIGN);
        assertEquals(List.of(Slice.ALL, Slice.predictedClass(3), Slice.trueLabel(5), Slice.pairRole(PairRole.BENIGN),
                Slice.tag("source", "prod")), slices);
        assertEquals(List.of(Slice.ALL, Slice.predictedClass(0)), policy.slicesOf(0, null, Map.of(), null));
    }

    @Test
    void aTagWithTooManyValuesIsRefusedAndReported() {
        List<String> refused = new ArrayList<>();
        SlicePolicy policy = new SlicePolicy(Set.of("source"), 2, (k, v, why) -> refused.add(v));
        policy.slicesOf(1, null, Map.of("source", "a"), null);
        policy.slicesOf(1, null, Map.of("source", "b"), null);
        List<Slice> third = policy.slicesOf(1, null, Map.of("source", "c"), null);
        assertEquals(List.of(Slice.ALL, Slice.predictedClass(1)), third);
        assertEquals(List.of("c"), refused);
        // values already admitted keep their slice
        assertTrue(policy.slicesOf(1, null, Map.of("source", "a"), null).contains(Slice.tag("source", "a")));
    }

    @Test
    void theBoundHoldsPerModelAndCountsWhatWasStoredBefore() {
        List<String> refused = new ArrayList<>();
        SlicePolicy policy = new SlicePolicy(Set.of("source"), 2, (k, v, why) -> refused.add(v),
                model -> model.equals("m1") ? Map.of("source", Set.of("a", "b")) : Map.of());
        // m1 admitted a and b in an earlier run: c is refused, a is still sliced
        assertFalse(policy.slicesOf("m1", 1, null, Map.of("source", "c"), null).contains(Slice.tag("source", "c")));
        assertTrue(policy.slicesOf("m1", 1, null, Map.of("source", "a"), null).contains(Slice.tag("source", "a")));
        // another model has a bound of its own
        assertTrue(policy.slicesOf("m2", 1, null, Map.of("source", "c"), null).contains(Slice.tag("source", "c")));
        assertEquals(List.of("c"), refused);
        assertEquals(List.of(new SlicePolicy.Admitted("m2", "source", "c")), policy.takeAdmitted());
        assertEquals(List.of(), policy.takeAdmitted());
    }
}
