package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.proto.v1.LabelEvent;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.LateLabelStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Keeps a delta's observations in the recent-observation store and joins late labels with the unlabelled ones, both
 * ways round: a label finds the kept taps of its instance, and a tap kept now finds a label received before it. Every
 * join adds the tap's activations to the label's slice in the observation's minute, and marks the kept tap labelled,
 * so a join happens once. Runs inside the flush transaction ({@link FlushWriter}).
 */
final class LateLabelJoin {

    /** The delta's windows with what the joins added, and how many kept taps joined. */
    record Joined(Map<WindowKey, PendingWindow> windows, long count,
            List<CalibrationSampleStore.LabelJoin> sampled, long unsliced) {

        Joined(Map<WindowKey, PendingWindow> windows, long count, List<CalibrationSampleStore.LabelJoin> sampled) {
            this(windows, count, sampled, 0);
        }
    }

    private final LateLabelStore lateLabels;
    private final RecentObservationStore recent;
    private final CatalogStore catalog;
    // how old an observation a label received now may still join (null: whatever is kept)
    private final Duration joinHorizon;

    LateLabelJoin(LateLabelStore lateLabels, RecentObservationStore recent, CatalogStore catalog,
            Duration joinHorizon) {
        this.lateLabels = lateLabels;
        this.recent = recent;
        this.catalog = catalog;
        this.joinHorizon = joinHorizon;
    }

    /** Returns the delta's windows with the joins' additions. */
    Joined join(Connection c, WindowAccumulator.Drained pending) throws SQLException {
        if (pending.recent().isEmpty() && pending.labels().isEmpty()) {
            return new Joined(pending.windows(), 0, List.of());
        }
        Map<WindowKey, PendingWindow> out = new LinkedHashMap<>(pending.windows());
        Set<String> instances = new HashSet<>();
        // labelled observations join nothing: only the unlabelled ones need the join lock
        pending.recent().stream().filter(r -> r.trueLabel() == null)
                .forEach(r -> instances.add(r.modelId() + '\u0000' + r.instanceId()));
        pending.labels().forEach(l -> instances.add(l.getModelId() + '\u0000' + l.getInstanceId()));
        lateLabels.lockInstances(c, instances);
        recent.keep(c, pending.recent());
        long joined = 0;
        long unsliced = 0;
        List<CalibrationSampleStore.LabelJoin> sampled = new java.util.ArrayList<>();
        Map<String, Integer> labels = new LinkedHashMap<>();
        // how old an observation a label received now may still join: its record's timestamp minus the join horizon
        Map<String, Instant> oldestJoined = new HashMap<>();
        for (int i = 0; i < pending.labels().size(); i++) {
            LabelEvent label = pending.labels().get(i);
            String id = label.getModelId() + '\u0000' + label.getInstanceId();
            if (lateLabels.recordLabel(c, label.getModelId(), label.getInstanceId(), label.getTrueLabel())) {
                labels.put(id, label.getTrueLabel());
                if (joinHorizon != null && i < pending.labelTimes().size()) {
                    oldestJoined.put(id, pending.labelTimes().get(i).minus(joinHorizon));
                }
            }
        }
        for (RecentObservationStore.Recent r : pending.recent()) {
            String id = r.modelId() + '\u0000' + r.instanceId();
            if (r.trueLabel() == null && !labels.containsKey(id)) {
                OptionalInt earlier = lateLabels.label(c, r.modelId(), r.instanceId());
                if (earlier.isPresent()) {
                    labels.put(id, earlier.getAsInt());
                }
            }
        }
        for (Map.Entry<String, Integer> e : labels.entrySet()) {
            String[] id = e.getKey().split("\u0000", 2);
            for (RecentObservationStore.Recent r : lateLabels.claimUnlabelled(c, id[0], id[1], e.getValue(),
                    oldestJoined.get(e.getKey()))) {
                if (e.getValue() >= ai.neuraldivergence.domain.SlicePolicy.CLASS_SLICES) {
                    // past the classes sliced: the observation keeps its label (an instance's inspection shows it),
                    // and no slice is made for it, as for an observation that came with it (counted)
                    unsliced++;
                    continue;
                }
                TapDescriptor tap = catalog.find(c, r.modelId(), r.modelVersion(), r.tap()).orElseThrow();
                if (r.block() >= tap.blockCount() || r.activations().length != tap.blockNeurons(r.block())) {
                    continue; // kept before the tap's layout it no longer matches: nothing it could join
                }
                WindowKey key = new WindowKey(r.modelId(), r.modelVersion(), r.tap(), Slice.trueLabel(e.getValue()),
                        Granularity.MINUTE, Granularity.MINUTE.windowStart(r.eventTime()), r.block());
                // block 0 of a tap in several blocks brings the whole observation's projections, kept with it, so
                // the label's slice keeps its layer sums (null: a tap the fold projects itself, or a row kept
                // before projections were)
                float[] projections = r.block() == 0 && r.projections() != null
                        && r.projections().length == RandomFeatureMap.DIRECTIONS ? r.projections() : null;
                out.computeIfAbsent(key, k -> new PendingWindow(tap, key.block(), false))
                        .add(r.activations(), r.instanceId(), projections);
                if (r.block() == 0) {
                    // its hour's calibration sample may hold it: there it enters the label's slice too
                    sampled.add(new CalibrationSampleStore.LabelJoin(r.modelId(), r.modelVersion(), r.tap(),
                            r.eventTime(), r.instanceId(), e.getValue()));
                }
                joined++;
            }
        }
        return new Joined(out, joined, sampled, unsliced);
    }
}
