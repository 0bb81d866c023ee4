package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Merges a delta's reference observations into their references, inside the flush transaction ({@link FlushWriter}),
 * and seals the taps the delta brings to their expected count.
 */
final class ReferenceMerges {

    private final ReferenceStore references;
    private final int sketchK;

    ReferenceMerges(ReferenceStore references, int sketchK) {
        this.references = references;
        this.sketchK = sketchK;
    }

    /**
     * Merges every reference of the delta, adding those it sealed to {@code sealed}; returns the first reference tap
     * found sealed already (the flush must then write nothing), or null when everything was merged.
     */
    FlushWriter.Outcome.ReferenceSealed merge(Connection c, WindowAccumulator.Drained pending,
            List<SealStore.Sealed> sealed) throws SQLException {
        for (Map.Entry<ReferenceStore.ReferenceId, List<ReferenceKey>> e : byReference(pending).entrySet()) {
            ReferenceStore.ReferenceId id = e.getKey();
            // under the reference's lock, so that a seal (here, in another aggregator or by the seal job) and the
            // merges around it are ordered: what reaches a sealed tap is refused whole, nothing merged
            SealStore.SealState state = SealStore.lockForMerge(c, id);
            // a tap's slices are sealed together: asked once per tap, before anything of the reference is merged
            for (String tap : new LinkedHashSet<>(e.getValue().stream().map(ReferenceKey::tap).toList())) {
                if (state.sealed() || SealStore.tapSealed(c, id, tap)) {
                    return new FlushWriter.Outcome.ReferenceSealed(id, tap);
                }
            }
            for (ReferenceKey key : e.getValue()) {
                references.merge(c, key, pending.references().get(key).summedDistribution(sketchK));
            }
            if (state.expectedObservations() != null) {
                // the flush that brings a tap to its expected count seals it
                SealStore.sealDue(c, id, state.expectedObservations(), false).ifPresent(sealed::add);
            }
        }
        return null;
    }

    /** The delta's reference keys per reference, references in one order in every aggregator (their lock order). */
    private static Map<ReferenceStore.ReferenceId, List<ReferenceKey>> byReference(WindowAccumulator.Drained pending) {
        Map<ReferenceStore.ReferenceId, List<ReferenceKey>> out = new TreeMap<>(Comparator
                .comparing(ReferenceStore.ReferenceId::modelId).thenComparing(ReferenceStore.ReferenceId::modelVersion)
                .thenComparing(ReferenceStore.ReferenceId::name));
        for (ReferenceKey key : pending.references().keySet()) {
            out.computeIfAbsent(ReferenceStore.ReferenceId.of(key), k -> new ArrayList<>()).add(key);
        }
        return out;
    }
}
