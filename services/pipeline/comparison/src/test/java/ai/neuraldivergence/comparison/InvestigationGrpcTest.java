package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TopExemplars;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.ClassMatrix;
import ai.neuraldivergence.proto.v1.ClassMatrixCell;
import ai.neuraldivergence.proto.v1.ClassMatrixRequest;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DriftTimeline;
import ai.neuraldivergence.proto.v1.DriftTimelineRequest;
import ai.neuraldivergence.proto.v1.InlineObservation;
import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.InspectPairRequest;
import ai.neuraldivergence.proto.v1.InstanceInspection;
import ai.neuraldivergence.proto.v1.NeuronExemplars;
import ai.neuraldivergence.proto.v1.NeuronExemplarsRequest;
import ai.neuraldivergence.proto.v1.PairInspection;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TapActivations;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.TapWindowStore;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Class matrix, drift timeline, instance and pair inspection and exemplars through a real gRPC channel, on stored
 * windows and recent observations whose differences are known by construction.
 */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class InvestigationGrpcTest extends GrpcApiTest {

    private static final Instant T0 = Instant.parse("2026-11-26T08:00:00Z");
    private static final int PER_MINUTE = 600;

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    /**
     * Model "inv", tap dense of 4 neurons, minutes 0..9 of N(0,1) per neuron. Predicted class 1 has neuron 2 moved
     * up by 3; classes 0 and 2 are alike. From minute 5 on, neuron 3 of every class moves up by 3.
     */
    private static TapDescriptor seed(DataSource owner, String model) throws Exception {
        return seed(owner, model, Granularity.MINUTE);
    }

    /** The same, stored as minutes, or as their one hour (as the aggregator's roll-up holds them). */
    private static TapDescriptor seed(DataSource owner, String model, Granularity g) throws Exception {
        TapDescriptor tap = new TapDescriptor(model, "v1", "dense", 0, new int[] {4}, 4, Reduction.NONE);
        TapWindowStore windows = new TapWindowStore(owner);
        Random random = new Random(5);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(owner).register(c, tap);
            for (int m = 0; m < 10; m++) {
                Instant start = g.windowStart(T0.plusSeconds(60L * m));
                TapDistribution all = new TapDistribution(4, 200);
                for (int cls = 0; cls < 3; cls++) {
                    TapDistribution d = new TapDistribution(4, 200);
                    for (int i = 0; i < PER_MINUTE / 3; i++) {
                        float[] v = new float[4];
                        for (int n = 0; n < 4; n++) {
                            v[n] = (float) random.nextGaussian();
                        }
                        v[2] += cls == 1 ? 3 : 0;
                        v[3] += m >= 5 ? 3 : 0;
                        d.add(v, 0);
                        all.add(v, 0);
                    }
                    windows.merge(c, new WindowKey(model, "v1", "dense", Slice.predictedClass(cls), g, start), d);
                }
                windows.merge(c, new WindowKey(model, "v1", "dense", Slice.ALL, g, start), all);
            }
            c.commit();
        }
        return tap;
    }

    private static Selection minutes(int from, int to) {
        return Selection.newBuilder().setTimeRange(range(from, to)).build();
    }

    private static TimeRange range(int from, int to) {
        return TimeRange.newBuilder().setFrom(DriftFixture.ts(T0.plusSeconds(60L * from)))
                .setTo(DriftFixture.ts(T0.plusSeconds(60L * to))).build();
    }

    @Test
    void theClassMatrixShowsWhichClassesDifferAndByHowManyNeurons() throws Exception {
        seed(owner, "matrix");
        ClassMatrix m = api.getClassMatrix(ClassMatrixRequest.newBuilder().setModelId("matrix").setTap("dense")
                .setTimeRange(range(0, 5)).build());
        assertEquals(List.of(0, 1, 2), m.getClassesList());
        assertEquals(9, m.getCellsCount());
        ClassMatrixCell zeroOne = m.getCells(1);
        assertEquals(0, zeroOne.getClassA());
        assertEquals(1, zeroOne.getClassB());
        assertEquals(0.25, zeroOne.getDriftedShare(), "neuron 2 of 4");
        assertEquals(1000, zeroOne.getCountA());
        assertEquals(0.0, m.getCells(2).getDriftedShare(), "classes 0 and 2 are alike");
        assertEquals(zeroOne.getValue(), m.getCells(3).getValue(), "symmetric");
        assertEquals(0.0, m.getCells(4).getValue(), "the diagonal");
    }

    /** A matrix grows with the square of its classes: more than 1,000 are refused before any is read. */
    @Test
    void aSourceWithMoreClassesThanAMatrixCarriesIsRefused() throws Exception {
        TapDescriptor tap = new TapDescriptor("many-classes", "v1", "dense", 0, new int[] {1}, 1, Reduction.NONE);
        // seeded as the aggregator would: the service's own role may not write windows
        TapWindowStore windows = new TapWindowStore(owner);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(owner).register(c, tap);
            for (int cls = 0; cls <= ai.neuraldivergence.domain.query.ClassMatrixQuery.MAX_CLASSES; cls++) {
                TapDistribution d = new TapDistribution(1, 200);
                d.add(new float[] {cls}, 0);
                windows.merge(c, new WindowKey("many-classes", "v1", "dense", Slice.predictedClass(cls),
                        Granularity.MINUTE, T0), d);
            }
            c.commit();
        }
        assertStatus(Status.Code.FAILED_PRECONDITION, "holds 1001 classes of tap 'dense', more than a class matrix "
                + "carries (1000)", () -> api.getClassMatrix(ClassMatrixRequest.newBuilder().setModelId("many-classes")
                        .setTap("dense").setTimeRange(range(0, 1)).build()));
    }

    @Test
    void theTimelineMarksTheWindowsThatDriftedFromTheReference() throws Exception {
        seed(owner, "timeline");
        api.createReference(CreateReferenceRequest.newBuilder().setModelId("timeline").setName("calm")
                .setRange(range(0, 5)).build());
        DriftTimeline t = api.getDriftTimeline(DriftTimelineRequest.newBuilder().setModelId("timeline")
                .setReference("calm").setRange(range(0, 10)).build());
        assertEquals(10, t.getPointsCount(), "minutes, chosen for a 10-minute range");
        for (int i = 0; i < 10; i++) {
            double share = t.getPoints(i).getTaps(0).getDriftedShare();
            assertEquals(i >= 5 ? 0.25 : 0.0, share, "minute " + i);
            assertEquals(i >= 5 ? "dense" : "", t.getPoints(i).getOnsetTap());
        }
        assertEquals(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE,
                t.getPoints(0).getWindow().getGranularity());
        assertStatus(Status.Code.INVALID_ARGUMENT, "reference is required", () -> api.getDriftTimeline(
                DriftTimelineRequest.newBuilder().setModelId("timeline").setRange(range(0, 10)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "ask for a coarser granularity", () -> api.getDriftTimeline(
                DriftTimelineRequest.newBuilder().setModelId("timeline").setReference("calm").setRange(range(0,
                        3000)).setGranularity(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE).build()));
    }

    /**
     * Past the minutes' retention only the hour is stored: a minute timeline over it has one point, the hour, where
     * each of its minutes read the whole hour again (ten points, each with the hour's counts).
     */
    @Test
    void aTimelineOverMinutesRetentionDroppedShowsTheirHourOnce() throws Exception {
        seed(owner, "retired", Granularity.HOUR);
        try (Connection c = owner.getConnection(); var ps = c.prepareStatement("SELECT count(*) FROM tap_window "
                + "WHERE model_id = 'retired' AND granularity = 'minute'")) {
            var rs = ps.executeQuery();
            rs.next();
            assertEquals(0, rs.getLong(1), "no minute stored");
        }
        // the reference: the stored hour itself
        api.createReference(CreateReferenceRequest.newBuilder().setModelId("retired").setName("calm")
                .setRange(TimeRange.newBuilder().setFrom(DriftFixture.ts(T0)).setTo(DriftFixture.ts(
                        T0.plusSeconds(3_600)))).build());
        DriftTimeline t = api.getDriftTimeline(DriftTimelineRequest.newBuilder().setModelId("retired")
                .setReference("calm").setRange(range(0, 10)).build());
        assertEquals(1, t.getPointsCount(), "the hour, once");
        assertEquals(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_HOUR,
                t.getPoints(0).getWindow().getGranularity());
        assertEquals(DriftFixture.ts(T0), t.getPoints(0).getWindow().getStart());
    }

    @Test
    void instancesArePlacedInADistributionAndPairsShowWhatTheAttackMoved() throws Exception {
        TapDescriptor tap = seed(owner, "inspect");
        RecentObservationStore recent = new RecentObservationStore(owner);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            recent.keep(c, List.of(
                    kept("typical", new float[] {0, 0.1f, -0.1f, 0}, null, null),
                    kept("outlier", new float[] {4, 4, 4, -4}, null, null),
                    kept("p1-benign", new float[] {0, 0, 0, 0}, "p1", PairRole.BENIGN),
                    kept("p1-attacked", new float[] {0, 2, -3, 0.5f}, "p1", PairRole.ATTACKED)));
            recent.keepInputs(c, List.of(new RecentObservationStore.CapturedInput("inspect", "v1", "p1-attacked",
                    T0, new byte[] {(byte) 0x89, 'P', 'N', 'G'})));
            c.commit();
        }
        InstanceInspection typical = api.inspectInstance(InspectInstanceRequest.newBuilder().setModelId("inspect")
                .setInstanceId("typical").setAgainst(minutes(0, 5)).build());
        InstanceInspection outlier = api.inspectInstance(InspectInstanceRequest.newBuilder().setModelId("inspect")
                .setInstanceId("outlier").setAgainst(minutes(0, 5)).build());
        assertEquals(0.5, typical.getTaps(0).getNeurons(0).getPercentile(), 0.05);
        assertTrue(typical.getAnomalyScore() < 0.5, "near every median: " + typical.getAnomalyScore());
        assertTrue(outlier.getTaps(0).getNeurons(0).getPercentile() > 0.99);
        assertTrue(outlier.getTaps(0).getNeurons(3).getPercentile() < 0.01);
        assertTrue(outlier.getAnomalyScore() > 5, "far out on every neuron: " + outlier.getAnomalyScore());
        // inline activations are placed alike
        InstanceInspection inline = api.inspectInstance(InspectInstanceRequest.newBuilder().setModelId("inspect")
                .setInline(InlineObservation.newBuilder().addTaps(TapActivations.newBuilder().setTap("dense")
                        .addActivations(4).addActivations(4).addActivations(4).addActivations(-4)))
                .setAgainst(minutes(0, 5)).build());
        // the two reads merge the same windows, each with its own coin flips: equal within the sketches' error
        for (int n = 0; n < 4; n++) {
            assertEquals(outlier.getTaps(0).getNeurons(n).getPercentile(), inline.getTaps(0).getNeurons(n)
                    .getPercentile(), 0.03);
        }
        assertTrue(inline.getAnomalyScore() > 5);
        assertStatus(Status.Code.INVALID_ARGUMENT, "tap 'dense' has 4 neurons, got 1", () -> api.inspectInstance(
                InspectInstanceRequest.newBuilder().setModelId("inspect").setInline(InlineObservation.newBuilder()
                        .addTaps(TapActivations.newBuilder().setTap("dense").addActivations(1)))
                        .setAgainst(minutes(0, 5)).build()));
        // a tap given twice, or asked for and missing from the version, was dropped or skipped without a word
        TapActivations.Builder dense = TapActivations.newBuilder().setTap("dense").addActivations(4).addActivations(4)
                .addActivations(4).addActivations(-4);
        assertStatus(Status.Code.INVALID_ARGUMENT, "inline names tap 'dense' twice", () -> api.inspectInstance(
                InspectInstanceRequest.newBuilder().setModelId("inspect").setInline(InlineObservation.newBuilder()
                        .addTaps(dense).addTaps(dense)).setAgainst(minutes(0, 5)).build()));
        assertStatus(Status.Code.NOT_FOUND, "has no tap 'dnese'", () -> api.inspectInstance(
                InspectInstanceRequest.newBuilder().setModelId("inspect").setInstanceId("typical").addTaps("dense")
                        .addTaps("dnese").setAgainst(minutes(0, 5)).build()));
        assertStatus(Status.Code.NOT_FOUND, "not in the recent-observation store", () -> api.inspectInstance(
                InspectInstanceRequest.newBuilder().setModelId("inspect").setInstanceId("gone")
                        .setAgainst(minutes(0, 5)).build()));

        PairInspection pair = api.inspectPair(InspectPairRequest.newBuilder().setModelId("inspect").setPairId("p1")
                .setAgainst(minutes(0, 5)).setTopK(2).build());
        assertEquals("p1-benign", pair.getBenign().getInstanceId());
        assertEquals("p1-attacked", pair.getAttacked().getInstanceId());
        assertEquals(4, pair.getAttacked().getImagePng().size(), "the captured input");
        assertEquals(0, pair.getBenign().getImagePng().size(), "not captured");
        assertEquals(List.of(1, 3), pair.getTaps(0).getExcitedList().stream().map(s -> s.getNeuron()).toList());
        assertEquals(List.of(2), pair.getTaps(0).getInhibitedList().stream().map(s -> s.getNeuron()).toList());
        assertTrue(pair.getTaps(0).getExcited(0).getAttackedPercentile() > 0.9);
        var pairs = api.listPairs(ai.neuraldivergence.proto.v1.ListPairsRequest.newBuilder().setModelId("inspect")
                .build());
        assertEquals(List.of("p1"), pairs.getPairsList().stream().map(x -> x.getPairId()).toList(),
                "only pairs with both members");
        assertStatus(Status.Code.NOT_FOUND, "pair 'p9'", () -> api.inspectPair(InspectPairRequest.newBuilder()
                .setModelId("inspect").setPairId("p9").build()));

        // exemplars: the observations that excite a neuron most, with what the recent store knows of them
        TopExemplars top = new TopExemplars(4, TopExemplars.DEFAULT_K);
        top.offer(1, 2f, "p1-attacked");
        top.offer(1, 0.5f, "typical");
        top.offer(1, 9f, "evicted-long-ago");
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new ExemplarStore(owner).merge(c, "inspect", "v1", "dense", T0, top);
            c.commit();
        }
        NeuronExemplars ex = api.getNeuronExemplars(NeuronExemplarsRequest.newBuilder().setModelId("inspect")
                .setTap("dense").setNeuron(1).build());
        assertEquals(List.of("evicted-long-ago", "p1-attacked", "typical"),
                ex.getExemplarsList().stream().map(e -> e.getInstanceId()).toList());
        assertEquals(4, ex.getExemplars(1).getImagePng().size());
        assertEquals(7, ex.getExemplars(2).getPredictedClass());
        // the recent store no longer knows the first: no prediction rather than a made-up class 0
        assertFalse(ex.getExemplars(0).hasPredictedClass());
        assertFalse(ex.getExemplars(0).hasEventTime());
        assertStatus(Status.Code.INVALID_ARGUMENT, "neuron 9 does not exist", () -> api.getNeuronExemplars(
                NeuronExemplarsRequest.newBuilder().setModelId("inspect").setTap("dense").setNeuron(9).build()));
        assertEquals(tap.neuronCount(), typical.getTaps(0).getNeuronsCount());
    }

    @Test
    void aWideTapsInstancesAndExemplarsArePutBackTogetherAndNameTheBlockNotKept() throws Exception {
        // tap "wide": 6 neurons in 3 blocks of 2, each block's minutes stored on their own, N(0,1) everywhere
        TapDescriptor tap = new TapDescriptor("blocked", "v1", "wide", 0, new int[] {6}, 6, Reduction.NONE, 2);
        TapWindowStore windows = new TapWindowStore(owner);
        Random random = new Random(11);
        RecentObservationStore recent = new RecentObservationStore(owner);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(owner).register(c, tap);
            for (int m = 0; m < 5; m++) {
                for (int block = 0; block < 3; block++) {
                    TapDistribution d = new TapDistribution(2, 200);
                    for (int i = 0; i < PER_MINUTE; i++) {
                        d.add(new float[] {(float) random.nextGaussian(), (float) random.nextGaussian()}, 0);
                    }
                    windows.merge(c, new WindowKey("blocked", "v1", "wide", Slice.ALL, Granularity.MINUTE,
                            T0.plusSeconds(60L * m), block), d);
                }
            }
            // "whole" kept in every block; "partial" lacks block 1 (not flushed yet by the instance that owns it)
            List<RecentObservationStore.Recent> rows = new java.util.ArrayList<>();
            for (int block = 0; block < 3; block++) {
                rows.add(keptBlock("whole", block, 4f, null, null));
                if (block != 1) {
                    rows.add(keptBlock("partial", block, 4f, null, null));
                }
                rows.add(keptBlock("p2-benign", block, 0f, "p2", PairRole.BENIGN));
                if (block != 2) {
                    rows.add(keptBlock("p2-attacked", block, 3f, "p2", PairRole.ATTACKED));
                }
            }
            recent.keep(c, rows);
            TopExemplars top = new TopExemplars(2, TopExemplars.DEFAULT_K);
            top.offer(1, 5f, "whole");
            new ExemplarStore(owner).merge(c, new ExemplarStore.Key("blocked", "v1", "wide", T0, 0), top);
            c.commit();
        }
        InstanceInspection whole = api.inspectInstance(InspectInstanceRequest.newBuilder().setModelId("blocked")
                .setInstanceId("whole").setAgainst(minutes(0, 5)).build());
        assertEquals(6, whole.getTaps(0).getNeuronsCount(), "every block put back together");
        assertEquals(List.of(), whole.getTaps(0).getMissingBlocksList());
        assertEquals(4f + 4, whole.getTaps(0).getNeurons(4).getActivation(), "neuron 4 is block 2's first");
        assertTrue(whole.getTaps(0).getNeurons(4).getPercentile() > 0.99);

        InstanceInspection partial = api.inspectInstance(InspectInstanceRequest.newBuilder().setModelId("blocked")
                .setInstanceId("partial").setAgainst(minutes(0, 5)).build());
        assertEquals(List.of(1), partial.getTaps(0).getMissingBlocksList(), "the block not kept is named");
        assertEquals(2, partial.getTaps(0).getBlockSize());
        assertEquals(List.of(0, 1, 4, 5), partial.getTaps(0).getNeuronsList().stream().map(n -> n.getNeuron())
                .toList(), "its neurons left out, never placed as made-up values");

        PairInspection pair = api.inspectPair(InspectPairRequest.newBuilder().setModelId("blocked").setPairId("p2")
                .setTopK(6).build());
        assertEquals(List.of(2), pair.getTaps(0).getMissingBlocksList(), "the attacked member lacks block 2");
        assertEquals(List.of(0, 1, 2, 3), pair.getTaps(0).getExcitedList().stream().map(x -> x.getNeuron()).sorted()
                .toList(), "only the neurons both members have");

        NeuronExemplars kept = api.getNeuronExemplars(NeuronExemplarsRequest.newBuilder().setModelId("blocked")
                .setTap("wide").setNeuron(1).build());
        assertEquals(List.of("whole"), kept.getExemplarsList().stream().map(e -> e.getInstanceId()).toList(),
                "neuron 1 is block 0's second");
        assertFalse(kept.getBlockMissing());
        NeuronExemplars none = api.getNeuronExemplars(NeuronExemplarsRequest.newBuilder().setModelId("blocked")
                .setTap("wide").setNeuron(3).build());
        assertEquals(0, none.getExemplarsCount());
        assertTrue(none.getBlockMissing(), "block 1 has no exemplars while block 0 has");
    }

    /** Block {@code block} of a kept observation of tap "wide": its two neurons {@code base + neuron}. */
    private static RecentObservationStore.Recent keptBlock(String id, int block, float base, String pair,
            PairRole role) {
        return new RecentObservationStore.Recent("blocked", "v1", id, "wide", T0.plusSeconds(30), 1, 0.9f, null,
                Map.of(), pair, role, new float[] {base + 2 * block, base + 2 * block + 1}, block);
    }

    private static RecentObservationStore.Recent kept(String id, float[] activations, String pair, PairRole role) {
        return new RecentObservationStore.Recent("inspect", "v1", id, "dense", T0.plusSeconds(30), 7, 0.9f, null,
                Map.of(), pair, role, activations);
    }

    private static void assertStatus(Status.Code code, String message, java.util.function.Supplier<?> call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(String.valueOf(e.getStatus().getDescription()).contains(message), e.getStatus().getDescription());
    }
}
