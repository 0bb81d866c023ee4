package ai.neuraldivergence.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Two aggregators share a model's tag values through what they store: each reads it again (at most every
 * {@link SlicePolicy#REFRESH}) before deciding a value it does not know. A value the other admitted is sliced here too,
 * and a value past the cap that the other filled is refused here too. Each read the stored values once, so a slice
 * held some taps (those one aggregator's partitions carry) and not the others.
 */
class SlicePolicyTest {

    /** The database both aggregators store into: tag values per model and key. */
    private final Map<String, Set<String>> database = new HashMap<>();
    private final AtomicLong clock = new AtomicLong();
    private final List<String> refused = new ArrayList<>();

    private SlicePolicy aggregator() {
        return new SlicePolicy(Set.of("eps"), 3, (key, value, why) -> refused.add(value),
                model -> Map.of("eps", Set.copyOf(database.getOrDefault("eps", Set.of()))), clock::get);
    }

    private static boolean sliced(SlicePolicy policy, String eps) {
        return policy.slicesOf("m", 1, null, Map.of("eps", eps), null).contains(Slice.tag("eps", eps));
    }

    /** What a flush does: stores the values the policy admitted. */
    private void flush(SlicePolicy policy) {
        policy.takeAdmitted().forEach(a -> database.computeIfAbsent(a.tagKey(), k -> new HashSet<>())
                .add(a.tagValue()));
    }

    @Test
    void aValueTheOtherAdmittedIsSlicedHereOnceItIsStored() {
        SlicePolicy a = aggregator();
        SlicePolicy b = aggregator();
        // b fills the cap with values of its own taps; a admits another before it sees them
        assertTrue(sliced(b, "0.1") && sliced(b, "0.2") && sliced(b, "0.3"));
        assertTrue(sliced(a, "0.5"), "a is under the cap as far as it knows");
        flush(a);
        flush(b);
        assertFalse(sliced(b, "0.5"), "within the refresh, b does not know it yet: refused");
        clock.addAndGet(SlicePolicy.REFRESH.toNanos());
        assertTrue(sliced(b, "0.5"), "once stored and read again, b slices what a admitted");
        assertTrue(sliced(b.successor(), "0.5"), "and so does the policy after it");
    }

    @Test
    void aCapTheOtherFilledRefusesANewValueHereToo() {
        SlicePolicy a = aggregator();
        SlicePolicy b = aggregator();
        assertTrue(sliced(a, "0.0"), "a reads the stored values (none) when it first sees the model");
        assertTrue(sliced(b, "0.1") && sliced(b, "0.2") && sliced(b, "0.3"));
        flush(b);
        clock.addAndGet(SlicePolicy.REFRESH.toNanos());
        assertFalse(sliced(a, "0.4"), "the model holds three values already: a refuses a fifth");
        assertEquals(List.of("0.4"), refused);
        assertTrue(sliced(a, "0.0"), "what a admitted before stays admitted");
    }

    @Test
    void aClassPastTheSlicedOnesEntersItsOtherSlicesAndIsReported() {
        SlicePolicy p = aggregator();
        assertEquals(List.of(Slice.ALL, Slice.predictedClass(999), Slice.trueLabel(7)),
                p.slicesOf("m", 999, 7, Map.of(), null));
        // a client sending an id as its class: no slice (and no storage) per id, each refusal reported
        assertEquals(List.of(Slice.ALL, Slice.trueLabel(3), Slice.tag("eps", "0.1")),
                p.slicesOf("m", 1_000_000, 3, Map.of("eps", "0.1"), null));
        assertEquals(List.of(Slice.ALL, Slice.predictedClass(2)), p.slicesOf("m", 2, 1000, Map.of(), null));
        assertEquals(List.of("1000000", "1000"), refused);
    }

    @Test
    void aRefusedValueReadsTheStoreAtMostOncePerRefresh() {
        int[] reads = {0};
        SlicePolicy p = new SlicePolicy(Set.of("eps"), 1, (key, value, why) -> { }, model -> {
            reads[0]++;
            return Map.of();
        }, clock::get);
        for (int i = 0; i < 1_000; i++) {
            p.slicesOf("m", 1, null, Map.of("eps", "v" + i), null);
        }
        assertEquals(1, reads[0], "a high-cardinality tag does not read the store per observation");
        clock.addAndGet(SlicePolicy.REFRESH.toNanos());
        p.slicesOf("m", 1, null, Map.of("eps", "another"), null);
        assertEquals(2, reads[0]);
    }
}
