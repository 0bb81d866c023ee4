package ai.neuraldivergence.aggregator.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SlicePolicy;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import ai.neuraldivergence.proto.v1.Reduction;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WindowAccumulatorTest {

    @Test
    void aBatchIsSplitIntoItsTapsBlocksEachRowHeldOnceAndAWindowCountedOncePerTap() {
        WindowAccumulator acc = new WindowAccumulator(new SlicePolicy(Set.of("source"), 8, (k, v, w) -> { }),
                java.time.Duration.ofMinutes(15));
        Instant t = Instant.parse("2026-11-28T10:15:42Z");
        // 10 neurons in blocks of 4: the batch carries neurons 4..9 (blocks 1 and 2)
        ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("wide")
                .addTapShape(10).setNeuronCount(10).setReduction(Reduction.REDUCTION_NONE).setNeuronOffset(4)
                .setBlockSize(4).addObservations(observation("a", t, 3, "prod"));
        for (int n = 4; n < 10; n++) {
            b.addActivations(n);
        }
        ActivationBatch batch = b.build();
        ai.neuraldivergence.domain.TapDescriptor tap = WindowAccumulator.tapOf(batch, 1024);
        assertEquals(3, tap.blockCount());
        assertEquals(java.util.Optional.empty(), WindowAccumulator.rangeProblem(batch, tap));
        acc.add(batch, tap, Instant.parse("2026-11-28T10:20:00Z"));
        assertEquals(3, acc.windowCount(), "all, predicted 3, source=prod: each counted once for both blocks");
        assertEquals(true, acc.bytes() <= WindowAccumulator.bytesFor(batch, tap), "the estimate is an upper bound");
        WindowAccumulator.Drained drained = acc.drain();
        assertEquals(6, drained.windows().size(), "3 slices x 2 blocks");
        WindowKey block2 = new WindowKey("m", "1", "wide", Slice.ALL, Granularity.MINUTE,
                Instant.parse("2026-11-28T10:15:00Z"), 2);
        assertEquals(2, drained.windows().get(block2).neuronCount());
        assertEquals(8f, drained.windows().get(block2).rows().rows().get(0)[0], "neuron 8 is block 2's first");
        assertEquals(java.util.List.of(1, 2), drained.recent().stream().map(r -> r.block()).toList());
        assertEquals(4, drained.recent().get(0).activations().length);
        // a range that does not fit the blocks: named
        ActivationBatch inside = batch.toBuilder().setNeuronOffset(2).clearActivations().addActivations(1f)
                .addActivations(2f).build();
        assertEquals("neurons 2..3 of tap wide are not whole blocks of 4: a batch's range starts at a block boundary "
                + "and ends at one or at the tap's end (10)", WindowAccumulator.rangeProblem(inside, tap).orElseThrow());
    }

    @Test
    void blockZeroOfAWideTapKeepsTheProjectionsSentThroughItsLayoutsScalesAndCountsOthersRefused() {
        WindowAccumulator acc = new WindowAccumulator(new SlicePolicy(Set.of(), 8, (k, v, w) -> { }),
                java.time.Duration.ofMinutes(15));
        Instant t = Instant.parse("2026-11-28T10:15:42Z");
        // 6 neurons in blocks of 4: block 0's records carry neurons 0..3 and each observation's projections
        ActivationBatch.Builder b = ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("wide")
                .addTapShape(6).setNeuronCount(6).setReduction(Reduction.REDUCTION_NONE).setBlockSize(4)
                .addObservations(observation("a", t, 3, "prod")).addObservations(observation("b", t, 3, "prod"));
        for (int n = 0; n < 8; n++) {
            b.addActivations(n);
        }
        for (int j = 0; j < 2 * 128; j++) {
            b.addLayerProjections(j);
        }
        for (int n = 0; n < 6; n++) {
            b.addNeuronScales(2f);
        }
        ActivationBatch batch = b.build();
        ai.neuraldivergence.domain.TapDescriptor registered = WindowAccumulator.tapOf(batch, 1024);
        assertEquals(java.util.Optional.empty(), ai.neuraldivergence.contract.ActivationBatchValidator.problem(batch,
                ai.neuraldivergence.contract.ActivationBatchValidator.Rules.defaults(), t));
        acc.add(batch, registered, Instant.parse("2026-11-28T10:16:00Z"));
        WindowKey all = new WindowKey("m", "1", "wide", Slice.ALL, Granularity.MINUTE,
                Instant.parse("2026-11-28T10:15:00Z"), 0);
        WindowAccumulator.Drained first = acc.drain();
        PendingWindow kept = first.windows().get(all);
        assertEquals(true, kept.allProjected());
        assertEquals(2, kept.projections().size());
        assertEquals(128f, kept.projections().get(1)[0], "observation b's first projection");
        // kept for late labels with block 0's values: a label's slice then keeps its layer sums
        var recentBlock0 = first.recent().stream().filter(r -> r.block() == 0).toList();
        assertEquals(2, recentBlock0.size(), first.recent().toString());
        org.junit.jupiter.api.Assertions.assertSame(kept.projections().get(1), recentBlock0.get(1).projections());
        assertEquals(true, first.recent().stream().filter(r -> r.block() != 0).allMatch(r -> r.projections() == null),
                "only block 0 keeps them");
        assertEquals(6, kept.featureNeurons(), "its sums go through the whole tap's map");
        assertEquals(0, acc.takeRefusedProjections());

        // the same projections sent through other scales than the layout's: refused, counted, the window unsummed
        ai.neuraldivergence.domain.TapDescriptor otherScales = registered.withFeatureScales(null);
        acc.add(batch, otherScales, Instant.parse("2026-11-28T10:16:00Z"));
        PendingWindow refused = acc.drain().windows().get(all);
        assertEquals(false, refused.allProjected());
        assertEquals(java.util.Arrays.asList(null, null), refused.projections());
        assertEquals(4, refused.featureNeurons());
        assertEquals(2, acc.takeRefusedProjections());
        assertEquals(0, acc.takeRefusedProjections(), "taken once");

        // a batch of the whole tap: the aggregator projects it itself, through the registered scales
        ActivationBatch.Builder whole = batch.toBuilder().clearLayerProjections().clearActivations();
        for (int n = 0; n < 12; n++) {
            whole.addActivations(n);
        }
        acc.add(whole.build(), registered, Instant.parse("2026-11-28T10:16:00Z"));
        PendingWindow computed = acc.drain().windows().get(all);
        float[] expected = ai.neuraldivergence.domain.LayerFeatures.map(registered).projection(
                new float[] {6, 7, 8, 9, 10, 11});
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, computed.projections().get(1));
    }

    @Test
    void eachObservationUpdatesEverySliceOfItsMinute() {
        WindowAccumulator acc = new WindowAccumulator(new SlicePolicy(Set.of("source"), 8, (k, v, w) -> { }),
                java.time.Duration.ofMinutes(15));
        Instant t = Instant.parse("2026-11-28T10:15:42Z");
        ActivationBatch batch = ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("conv1")
                .addTapShape(4).addTapShape(4).addTapShape(2).setNeuronCount(2).setReduction(Reduction.REDUCTION_MAX)
                .addObservations(observation("a", t, 3, "prod"))
                .addObservations(observation("b", t.plusSeconds(30), 3, "canary"))
                .addActivations(1f).addActivations(2f)
                .addActivations(5f).addActivations(6f)
                .build();
        acc.add(batch, WindowAccumulator.tapOf(batch), Instant.parse("2026-11-28T10:20:00Z"));
        // observation a: all, predicted=3, tag:source=prod in 10:15; b: all, predicted=3, tag:source=canary in 10:16
        // plus each unlabelled observation's two activations, kept for a late label
        assertEquals(2 * 3 * 2 + 2 * 2, acc.pendingUpdates());
        // each observation's row is held once, whatever the number of slices it enters
        assertEquals(2 * (WindowAccumulator.ROW_OVERHEAD_BYTES + 2 * 4 + WindowAccumulator.OBSERVATION_BYTES
                + 3 * WindowAccumulator.SLICE_ENTRY_BYTES), acc.bytes());
        assertEquals(acc.bytes() <= WindowAccumulator.bytesFor(batch, WindowAccumulator.tapOf(batch)), true,
                "the estimate is an upper bound");
        WindowAccumulator.Drained all = acc.drain();
        assertEquals(2, all.recent().size(), "both observations wait for a late label");
        Map<WindowKey, PendingWindow> drained = all.windows();
        assertEquals(6, drained.size());
        WindowKey allAt1015 = new WindowKey("m", "1", "conv1", Slice.ALL, Granularity.MINUTE,
                Instant.parse("2026-11-28T10:15:00Z"));
        assertEquals(1, drained.get(allAt1015).distribution(200).observationCount());
        assertEquals(2.0, drained.get(allAt1015).distribution(200).neuron(1).sum());
        assertEquals(0, acc.pendingUpdates());
        assertEquals(0, acc.bytes());
        assertEquals(true, acc.isEmpty());
    }

    @Test
    void referenceObservationsBuildTheirReferenceAndNoLiveWindow() {
        WindowAccumulator acc = new WindowAccumulator(new SlicePolicy(Set.of("source"), 8, (k, v, w) -> { }),
                java.time.Duration.ofMinutes(15));
        Observation reference = observation("r", Instant.parse("2026-11-28T10:15:42Z"), 4, "replay").toBuilder()
                .putTags("reference", "training").build();
        ActivationBatch batch = ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("dense")
                .addTapShape(1).setNeuronCount(1).setReduction(Reduction.REDUCTION_NONE)
                .addObservations(reference).addActivations(3f).build();
        acc.add(batch, WindowAccumulator.tapOf(batch), Instant.parse("2026-11-28T10:20:00Z"));
        WindowAccumulator.Drained drained = acc.drain();
        assertEquals(0, drained.windows().size());
        assertEquals(3, drained.references().size(), "all, predicted=4, tag:source=replay");
        var all = drained.references().get(new ai.neuraldivergence.domain.ReferenceKey("m", "1", "training",
                "dense", Slice.ALL));
        assertEquals(3.0, all.distribution(200).neuron(0).sum());
    }

    @Test
    void observationsLaterThanTheAllowedLatenessAreCountedAndDropped() {
        WindowAccumulator acc = new WindowAccumulator(new SlicePolicy(Set.of(), 8, (k, v, w) -> { }),
                java.time.Duration.ofMinutes(15));
        Instant t = Instant.parse("2026-11-28T10:00:00Z");
        ActivationBatch batch = ActivationBatch.newBuilder().setModelId("m").setModelVersion("1").setTap("dense")
                .addTapShape(1).setNeuronCount(1).setReduction(Reduction.REDUCTION_NONE)
                .addObservations(observation("on-time", t.plusSeconds(60), 1, "x")).addActivations(1f)
                .addObservations(observation("late", t, 1, "x")).addActivations(2f)
                .build();
        // the record was written 15 min 30 s after the second observation's event time
        acc.add(batch, WindowAccumulator.tapOf(batch), t.plusSeconds(15 * 60 + 30));
        assertEquals(1, acc.takeLateObservations());
        assertEquals(0, acc.takeLateObservations(), "taken once");
        WindowAccumulator.Drained drained = acc.drain();
        assertEquals(1, drained.windows().values().iterator().next().distribution(200).observationCount());
    }

    private static Observation observation(String id, Instant t, int predicted, String source) {
        return Observation.newBuilder().setInstanceId(id).setPredictedClass(predicted).putTags("source", source)
                .setEventTime(Timestamp.newBuilder().setSeconds(t.getEpochSecond())).build();
    }

    @Test
    void theRecentStoreKeepsUnlabelledAndPairedObservationsAndADeterministicSampleOfTheRest() {
        WindowAccumulator acc = new WindowAccumulator(new SlicePolicy(Set.of(), 8, (k, v, w) -> { }),
                java.time.Duration.ofMinutes(15), 0.1);
        int kept = 0;
        for (int i = 0; i < 20_000; i++) {
            Observation labelled = Observation.newBuilder().setInstanceId("obs-" + i).setTrueLabel(1).build();
            if (acc.keep(labelled)) {
                kept++;
            }
            // every tap of an instance decides alike
            assertEquals(acc.keep(labelled), acc.keep(labelled.toBuilder().setPredictedClass(4).build()));
            assertEquals(true, acc.keep(labelled.toBuilder().clearTrueLabel().build()), "waits for a late label");
            assertEquals(true, acc.keep(labelled.toBuilder().setPairId("p")
                    .setPairRole(ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_BENIGN).build()));
        }
        // 10 % of 20,000, within four standard deviations (sd ~ 42)
        assertEquals(2_000, kept, 170);
    }
}
