package ai.neuraldivergence.comparison;

import static ai.neuraldivergence.comparison.DriftFixture.minutes;
import static ai.neuraldivergence.comparison.DriftFixture.reference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.Direction;
import ai.neuraldivergence.proto.v1.LayerOverview;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.Metric;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.NonFiniteCounts;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.ReferenceOrigin;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.storage.TapWindowStore;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** Compare, layer overview and references through a real gRPC channel, on windows with known drift. */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class CompareGrpcTest extends GrpcApiTest {

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    private CompareRequest.Builder compare(String model, Selection a, Selection b) {
        return CompareRequest.newBuilder().setModelId(model).setModelVersion("v2").setA(a).setB(b);
    }

    @Test
    void theNeuronsThatMovedAreDriftedWithTheirDirectionAndTheOthersAreNot() throws Exception {
        DriftFixture.seed(owner, "cmp");
        CompareResponse r = api.compare(compare("cmp", minutes(0, 10), minutes(10, 20)).setTopK(1).build());
        assertEquals("v2", r.getModelVersion());
        assertEquals(List.of("conv1", "dense1"), r.getTapsList().stream().map(t -> t.getSummary().getTap()).toList());
        TapDivergence conv = r.getTaps(0);
        assertEquals(0.0, conv.getSummary().getDriftedShare(), "conv1 did not move");
        TapDivergence dense = r.getTaps(1);
        assertEquals(1.0, dense.getSummary().getDriftedShare());
        assertEquals(600, dense.getSummary().getCountA());
        NeuronDivergence up = dense.getNeurons(0);
        NeuronDivergence down = dense.getNeurons(1);
        assertEquals(Direction.DIRECTION_EXCITED, up.getDirection());
        assertEquals(Direction.DIRECTION_INHIBITED, down.getDirection());
        assertEquals(2.0, up.getMeanShift(), 0.15);
        assertEquals(-2.0, down.getMeanShift(), 0.15);
        assertEquals(2.0, up.getWasserstein(), 0.15 + up.getWassersteinErrorBound());
        // N(0,1) against N(2,1): KS = 2 Phi(1) - 1 = 0.683
        assertEquals(0.683, up.getKs(), 0.06 + up.getKsErrorBound());
        assertTrue(up.getDrifted() && up.getJensenShannon() > 0.3 && up.getPsi() > 1, up.toString());
        assertEquals(600, up.getCountB());
        assertEquals(1, dense.getTopNeuronsCount(), "top_k 1");
        assertEquals(0, up.getBinEdgesCount(), "bin edges only on request");
        assertTrue(api.compare(compare("cmp", minutes(0, 10), minutes(10, 20)).setTap("dense1")
                .setIncludeBinEdges(true).build()).getTaps(0).getNeurons(0).getBinEdgesCount() > 2);

        // a slice narrows both sides: predicted=0 holds every second observation
        CompareResponse sliced = api.compare(compare("cmp", minutes(0, 10).toBuilder()
                .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setPredictedClass(0)).build(),
                minutes(10, 20).toBuilder().setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder()
                        .setPredictedClass(0)).build()).setTap("dense1").build());
        assertEquals(300, sliced.getTaps(0).getSummary().getCountA());

        // ranking by mean shift puts the larger |shift| first
        CompareResponse ranked = api.compare(compare("cmp", minutes(0, 10), minutes(10, 20)).setTap("dense1")
                .setRankBy(Metric.METRIC_MEAN_SHIFT).build());
        TapDivergence t = ranked.getTaps(0);
        int first = t.getTopNeurons(0);
        assertTrue(Math.abs(t.getNeurons(first).getMeanShift()) >= Math.abs(t.getNeurons(1 - first).getMeanShift()));
        assertEquals(Metric.METRIC_MEAN_SHIFT, t.getSummary().getMetric());
    }

    @Test
    void nonFiniteValuesAreCountedPerSideAndTakePartInKs() throws Exception {
        DriftFixture.seedNonFinite(owner, "nonfinite");
        CompareResponse r = api.compare(CompareRequest.newBuilder().setModelId("nonfinite").setTap("dense1")
                .setA(minutes(0, 1)).setB(minutes(1, 2)).build());
        TapDivergence t = r.getTaps(0);
        assertEquals(10, t.getSummary().getCountA(), "observations, finite or not");
        assertEquals(15, t.getSummary().getCountB());

        // neuron 0: the same finite values 1..10 on both sides, B also 3 NaN and 2 +Inf
        NeuronDivergence same = t.getNeurons(0);
        assertCounts(same, 10, null, 10, NonFiniteCounts.newBuilder().setNan(3).setPositiveInfinity(2).build());
        // extended CDFs over -Inf < finite < +Inf < NaN: A reaches 10/10 at x = 10 where B is at 10/15 (its 10
        // finite values of 15), B is at 12/15 at +Inf where A is at 1, and both reach 1 at NaN
        double expectedKs = Math.max(10 / 10.0 - 10 / 15.0, 1.0 - 12 / 15.0);
        assertEquals(1 / 3.0, expectedKs, 1e-12);
        assertEquals(0.0, same.getKsErrorBound(), "sketches hold every value exactly");
        assertEquals(expectedKs, same.getKs(), 1e-9, "finite values alone would give KS 0");
        // a tap of 3 neurons at the default family-wise rate: sqrt(ln(4 * 3 / 0.01) / 2) (10^-1/2 + 15^-1/2)
        double sampling = Math.sqrt(Math.log(4 * 3 / 0.01) / 2) * (1 / Math.sqrt(10) + 1 / Math.sqrt(15));
        assertEquals(sampling, same.getKsSamplingBound(), 1e-9);
        assertFalse(same.getDrifted(), "at 10 and 15 observations, a KS of 1/3 is within chance");
        assertEquals(0.0, same.getWasserstein(), 1e-9, "W1 is between the finite values, which agree");
        assertEquals(0.0, same.getMeanShift(), 1e-9);
        assertEquals(Direction.DIRECTION_UNCHANGED, same.getDirection());
        assertTrue(same.getJensenShannon() > 0 && same.getPsi() > 0, "NaN and +Inf have bins of their own");

        // neuron 1: B holds NaN only
        NeuronDivergence nan = t.getNeurons(1);
        assertCounts(nan, 10, null, 0, NonFiniteCounts.newBuilder().setNan(15).build());
        assertEquals(1.0, nan.getKs(), 1e-12, "A is all below NaN: its CDF reaches 1 where B's is still 0");
        assertFalse(nan.getDrifted(), "even KS 1 is within chance at these counts (sampling bound " + sampling + ")");
        assertTrue(Double.isNaN(nan.getWasserstein()), "W1 is undefined without a finite value in B");
        assertTrue(Double.isNaN(nan.getMeanShift()));
        assertEquals(Direction.DIRECTION_UNCHANGED, nan.getDirection());
        assertEquals(1.0, nan.getJensenShannon(), 1e-9, "disjoint bins");

        // neuron 2: A holds one -Inf and 1..9, B 1..15
        NeuronDivergence low = t.getNeurons(2);
        assertCounts(low, 9, NonFiniteCounts.newBuilder().setNegativeInfinity(1).build(), 15, null);
        // A's CDF is 1/10 at -Inf and (1 + k)/10 at k = 1..9, B's k/15: the gap (3 + k)/30 peaks at k = 9
        double expectedLowKs = (1 + 9) / 10.0 - 9 / 15.0;
        assertEquals(0.4, expectedLowKs, 1e-12);
        assertEquals(expectedLowKs, low.getKs(), 1e-9);
        assertFalse(low.getDrifted());
        assertEquals(0.0, t.getSummary().getDriftedShare());
        assertEquals(0.1 + sampling, t.getSummary().getSmallestDetectableKs(), 1e-9,
                "the threshold and the sampling bound (the sketches are exact)");

        // the side summaries the UI plots from carry the same counts
        ai.neuraldivergence.proto.v1.DistributionShapes shapes = api.getDistributionShapes(
                ai.neuraldivergence.proto.v1.DistributionShapesRequest.newBuilder().setModelId("nonfinite")
                        .setTap("dense1").setA(minutes(0, 1)).setB(minutes(1, 2)).setBins(5).build());
        assertEquals(3, shapes.getNeuronsCount());
        assertEquals(10, shapes.getNeurons(0).getB().getCount());
        assertEquals(same.getNonFiniteB(), shapes.getNeurons(0).getB().getNonFinite());
        assertFalse(shapes.getNeurons(0).getA().hasNonFinite());
        assertEquals(1.0, shapes.getNeurons(0).getB().getBinSharesList().stream().mapToDouble(x -> x).sum(), 1e-9,
                "bin shares are of the finite values");
        ai.neuraldivergence.proto.v1.DistributionSummary onlyNan = shapes.getNeurons(1).getB();
        assertEquals(0, onlyNan.getCount());
        assertEquals(15, onlyNan.getNonFinite().getNan());
        assertTrue(onlyNan.getBinSharesList().stream().allMatch(x -> x == 0.0), "no finite value to bin");
        assertEquals(0, onlyNan.getQuantilesCount());
        assertEquals(9, shapes.getNeurons(2).getA().getCount());
        assertEquals(1, shapes.getNeurons(2).getA().getNonFinite().getNegativeInfinity());
        assertEquals(1.0, shapes.getNeurons(2).getA().getMin(), "min and max are of the finite values");

        // ranked by W1, the tap's mean is over the neurons W1 is defined for
        TapDivergence byW1 = api.compare(CompareRequest.newBuilder().setModelId("nonfinite").setTap("dense1")
                .setA(minutes(0, 1)).setB(minutes(1, 2)).setRankBy(Metric.METRIC_WASSERSTEIN).build()).getTaps(0);
        assertEquals((byW1.getNeurons(0).getWasserstein() + byW1.getNeurons(2).getWasserstein()) / 2,
                byW1.getSummary().getMean(), 1e-9);
    }


    /**
     * A neuron's counts of finite values on each side, and of non-finite ones: null where a side holds none, whose
     * counts are then unset rather than zeros.
     */
    private static void assertCounts(NeuronDivergence n, long countA, NonFiniteCounts nonFiniteA, long countB,
            NonFiniteCounts nonFiniteB) {
        assertEquals(countA, n.getCountA(), "counts are of the finite values");
        assertEquals(countB, n.getCountB());
        if (nonFiniteA == null) {
            assertFalse(n.hasNonFiniteA(), "A has no non-finite value: unset");
        } else {
            assertEquals(nonFiniteA, n.getNonFiniteA());
        }
        if (nonFiniteB == null) {
            assertFalse(n.hasNonFiniteB(), "B has no non-finite value: unset");
        } else {
            assertEquals(nonFiniteB, n.getNonFiniteB());
        }
    }
    @Test
    void theLayerOverviewNamesTheFirstTapThatDrifted() throws Exception {
        DriftFixture.seed(owner, "layers");
        LayerOverview o = api.getLayerOverview(LayerOverviewRequest.newBuilder().setModelId("layers")
                .setModelVersion("v2").setA(minutes(0, 10)).setB(minutes(10, 20)).build());
        assertEquals(List.of(0, 1), o.getTapsList().stream().map(t -> t.getTapIndex()).toList());
        assertEquals("dense1", o.getOnsetTap());
        assertEquals(1, o.getOnsetTapIndex());
        LayerOverview calm = api.getLayerOverview(LayerOverviewRequest.newBuilder().setModelId("layers")
                .setModelVersion("v2").setA(minutes(0, 5)).setB(minutes(5, 10)).build());
        assertEquals("", calm.getOnsetTap(), "no tap drifted between two calm halves");
    }

    @Test
    void aFrozenReferenceComparesLikeTheRangeItWasFrozenFromAndCanBeListedAndDeleted() throws Exception {
        DriftFixture.seed(owner, "refs");
        Reference created = api.createReference(CreateReferenceRequest.newBuilder().setModelId("refs")
                .setModelVersion("v2").setName("calm").setRange(minutes(0, 10).getTimeRange()).build());
        assertEquals(ReferenceOrigin.REFERENCE_ORIGIN_TIME_RANGE, created.getOrigin());
        assertEquals(600, created.getObservationCount());
        assertEquals(List.of("conv1", "dense1"), created.getTapsList().stream().map(t -> t.getName()).toList());

        CompareResponse fromRange = api.compare(compare("refs", minutes(0, 10), minutes(10, 20)).build());
        CompareResponse fromReference = api.compare(compare("refs", reference("calm"), minutes(10, 20)).build());
        // KLL compaction flips coins: two merges of the same windows agree within the sketches' error, not exactly
        for (int n = 0; n < 2; n++) {
            NeuronDivergence x = fromRange.getTaps(1).getNeurons(n);
            NeuronDivergence y = fromReference.getTaps(1).getNeurons(n);
            assertEquals(x.getKs(), y.getKs(), x.getKsErrorBound() + y.getKsErrorBound());
            assertEquals(x.getCountA(), y.getCountA());
            assertEquals(x.getMeanShift(), y.getMeanShift(), 1e-9, "moments are exact");
        }
        assertEquals(fromRange.getTaps(1).getSummary().getDriftedShare(),
                fromReference.getTaps(1).getSummary().getDriftedShare());
        // the reference kept the range's slices too
        assertEquals(300, api.compare(compare("refs", reference("calm").toBuilder().setSlice(
                ai.neuraldivergence.proto.v1.Slice.newBuilder().setPredictedClass(0)).build(), minutes(10, 20))
                .setTap("dense1").build()).getTaps(0).getSummary().getCountA());

        assertEquals(List.of("calm"), api.listReferences(ListReferencesRequest.newBuilder().setModelId("refs")
                .build()).getReferencesList().stream().map(Reference::getName).toList());
        assertStatus(Status.Code.ALREADY_EXISTS, "already has a reference 'calm'",
                () -> api.createReference(CreateReferenceRequest.newBuilder().setModelId("refs").setName("calm")
                        .setRange(minutes(0, 10).getTimeRange()).build()));
        // comparing v3 with a reference from v2, whose dense1 has another shape, cannot work
        assertStatus(Status.Code.FAILED_PRECONDITION, "reference 'calm' was built from version 'v2'",
                () -> api.compare(CompareRequest.newBuilder().setModelId("refs").setModelVersion("v3")
                        .setTap("dense1").setA(reference("calm")).setB(minutes(0, 1)).build()));
        assertTrue(api.deleteReference(DeleteReferenceRequest.newBuilder().setModelId("refs").setName("calm")
                .build()).getDeleted());
        assertStatus(Status.Code.NOT_FOUND, "has no reference 'calm'",
                () -> api.deleteReference(DeleteReferenceRequest.newBuilder().setModelId("refs").setName("calm")
                        .build()));
        assertStatus(Status.Code.NOT_FOUND, "has no reference 'calm'",
                () -> api.compare(compare("refs", reference("calm"), minutes(10, 20)).build()));
    }

    @Test
    void rangesReadBuiltHoursAndWidenToThemWhereMinutesExpired() throws Exception {
        String model = "hours";
        DriftFixture.seed(owner, model);
        TapWindowStore windows = new TapWindowStore(owner);
        // an hour a day before the fixture, kept only as its hour row (its minutes expired)
        Instant hour = DriftFixture.T0.minusSeconds(86_400);
        TapDistribution d = new TapDistribution(2, 200);
        for (int i = 0; i < 500; i++) {
            d.add(new float[] {i, -i}, 0);
        }
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            windows.merge(c, new WindowKey(model, "v2", "dense1", Slice.ALL, Granularity.HOUR, hour), d);
            c.commit();
        }
        Selection partOfThatHour = Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                .setFrom(DriftFixture.ts(hour.plusSeconds(600))).setTo(DriftFixture.ts(hour.plusSeconds(1200))))
                .build();
        CompareResponse r = api.compare(compare(model, partOfThatHour, minutes(0, 10)).setTap("dense1").build());
        assertEquals(500, r.getTaps(0).getSummary().getCountA(), "the whole hour: its minutes are gone");

        // the fixture's hour once built: read as its hour row, which agrees with its minutes
        Instant fixtureHour = DriftFixture.T0;
        TapDistribution merged = new TapDistribution(2, 200);
        windows.read(model, "v2", "dense1", Slice.ALL, Granularity.MINUTE, fixtureHour, fixtureHour.plusSeconds(3600))
                .forEach(w -> merged.merge(w.distribution()));
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            windows.merge(c, new WindowKey(model, "v2", "dense1", Slice.ALL, Granularity.HOUR, fixtureHour), merged);
            c.commit();
        }
        Selection wholeHour = Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                .setFrom(DriftFixture.ts(fixtureHour)).setTo(DriftFixture.ts(fixtureHour.plusSeconds(3600)))).build();
        CompareResponse hourly = api.compare(compare(model, wholeHour, minutes(10, 20)).setTap("dense1").build());
        assertEquals(1200, hourly.getTaps(0).getSummary().getCountA());
    }

    @Test
    void aCachedSelectionReflectsAnAnnouncedWindowWithinASecond() throws Exception {
        String model = "fresh";
        DriftFixture.seed(owner, model);
        CompareRequest request = compare(model, minutes(0, 10), minutes(10, 20)).setTap("dense1").build();
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]>(java.util.Map.of(
                "bootstrap.servers", ai.neuraldivergence.testkit.TestInfrastructure.shared().kafkaBootstrapServers(),
                "key.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class.getName(),
                "value.serializer", org.apache.kafka.common.serialization.ByteArraySerializer.class.getName()))) {
            // the topic exists once something was announced; then the service follows it
            announce(producer, model, 0);
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(60).toNanos();
            while (!Management.given().get("/q/metrics").asString()
                    .contains("nd_comparison_cache_following 1.0")) {
                assertTrue(System.nanoTime() < deadline, "the service never followed nd.window-updates");
                Thread.sleep(200);
            }
            assertEquals(600, api.compare(request).getTaps(0).getSummary().getCountB());
            assertEquals(600, api.compare(request).getTaps(0).getSummary().getCountB(), "served from the cache");
            // the newest window of B changes, then an older one: each visible within a second of its announcement
            for (int[] change : new int[][] {{19, 605}, {12, 610}}) {
                addObservations(model, change[0], 5);
                announce(producer, model, change[0]);
                long announced = System.nanoTime();
                long count = 0;
                while (System.nanoTime() - announced < 1_000_000_000L && count != change[1]) {
                    count = api.compare(request).getTaps(0).getSummary().getCountB();
                }
                assertEquals(change[1], count, "within 1 s of the WindowUpdate for minute " + change[0]);
            }
            // a flush's delta to the newest window, announced with its id: fetched and added by that id
            long id = appendDelta(model, 19, 3);
            announce(producer, model, 19, id);
            long announced = System.nanoTime();
            long count = 0;
            while (System.nanoTime() - announced < 1_000_000_000L && count != 613) {
                count = api.compare(request).getTaps(0).getSummary().getCountB();
            }
            assertEquals(613, count, "within 1 s of the WindowUpdate naming delta " + id);
        }
        String metrics = Management.given().get("/q/metrics").asString();
        assertTrue(metrics.contains("nd_comparison_cache_hits_total"));
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("nd_comparison_cache_deltas_added_total")
                && !l.endsWith(" 0.0")), "the delta was added by its id, not by reading the window again");
    }

    /** Appends a delta of {@code n} observations (in the all slice and a class slice) to a minute; its id. */
    private long appendDelta(String model, int minute, int n) throws Exception {
        Instant start = DriftFixture.T0.plusSeconds(60L * minute);
        new ai.neuraldivergence.storage.DeltaPartitions(owner).ensure(start, start.plusSeconds(60));
        List<float[]> rows = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(new float[] {i, -i});
        }
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            long[] ids = new ai.neuraldivergence.storage.WindowDeltaStore().append(c, List.of(
                    new ai.neuraldivergence.storage.WindowDeltaStore.Append(new ai.neuraldivergence.domain.TapMinute(
                            model, "v2", "dense1", start), new ai.neuraldivergence.domain.SlicedRows.Builder(2)
                                    .add(Slice.ALL, rows).add(Slice.predictedClass(1), rows).build())));
            c.commit();
            return ids[0];
        }
    }

    private void addObservations(String model, int minute, int n) throws Exception {
        TapDistribution d = new TapDistribution(2, 200);
        for (int i = 0; i < n; i++) {
            d.add(new float[] {i, -i}, 0);
        }
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new TapWindowStore(owner).merge(c, new WindowKey(model, "v2", "dense1", Slice.ALL,
                    Granularity.MINUTE, DriftFixture.T0.plusSeconds(60L * minute)), d);
            c.commit();
        }
    }

    private static void announce(org.apache.kafka.clients.producer.KafkaProducer<byte[], byte[]> producer,
            String model, int minute, long... deltaIds) throws Exception {
        Instant start = DriftFixture.T0.plusSeconds(60L * minute);
        producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>("nd.window-updates", model.getBytes(),
                ai.neuraldivergence.proto.v1.WindowUpdate.newBuilder().setModelId(model).setModelVersion("v2")
                        .setTap("dense1").setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setAll(true))
                        .setWindow(ai.neuraldivergence.proto.v1.Window.newBuilder()
                                .setGranularity(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE)
                                .setStart(DriftFixture.ts(start)).setEnd(DriftFixture.ts(start.plusSeconds(60))))
                        .addAllDeltaIds(java.util.Arrays.stream(deltaIds).boxed().toList())
                        .build().toByteArray())).get();
    }

    @Test
    void badArgumentsAreRefusedWithAMessage() throws Exception {
        DriftFixture.seed(owner, "bad");
        CompareRequest good = compare("bad", minutes(0, 10), minutes(10, 20)).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, "top_k must be 1..4096",
                () -> api.compare(good.toBuilder().setTopK(-1).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "unknown metric",
                () -> api.compare(good.toBuilder().setRankByValue(99).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "drift_threshold must lie in (0, 1)",
                () -> api.compare(good.toBuilder().setDriftThreshold(1.5).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "selection a: time range must have from < to",
                () -> api.compare(good.toBuilder().setA(minutes(5, 5)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "selection b: time range must have from < to",
                () -> api.compare(good.toBuilder().setB(minutes(9, 3)).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "selection b is required",
                () -> api.compare(good.toBuilder().clearB().build()));
        assertStatus(Status.Code.FAILED_PRECONDITION, "holds no observations of tap 'conv1'",
                () -> api.compare(good.toBuilder().setB(minutes(100, 110)).build()));
        assertStatus(Status.Code.NOT_FOUND, "has no tap 'conv9'",
                () -> api.compare(good.toBuilder().setTap("conv9").build()));
        assertStatus(Status.Code.NOT_FOUND, "model 'nope' has no stored distributions",
                () -> api.compare(good.toBuilder().setModelId("nope").build()));
        // a NUL reached PostgreSQL, which refused it: INTERNAL before
        assertStatus(Status.Code.INVALID_ARGUMENT, "model_id holds a control character (U+0000 at 3)",
                () -> api.compare(good.toBuilder().setModelId("bad\u0000").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "model_id holds a control character",
                () -> api.listReferences(ListReferencesRequest.newBuilder().setModelId("bad\u0000").build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "onset_share must lie in (0, 1)",
                () -> api.getLayerOverview(LayerOverviewRequest.newBuilder().setModelId("bad").setA(minutes(0, 1))
                        .setB(minutes(1, 2)).setOnsetShare(2).build()));
        assertStatus(Status.Code.INVALID_ARGUMENT, "reference name must be",
                () -> api.createReference(CreateReferenceRequest.newBuilder().setModelId("bad").setName("no spaces")
                        .setRange(minutes(0, 1).getTimeRange()).build()));
        assertStatus(Status.Code.FAILED_PRECONDITION, "holds no observations: nothing to freeze",
                () -> api.createReference(CreateReferenceRequest.newBuilder().setModelId("bad").setName("empty")
                        .setModelVersion("v2").setRange(minutes(500, 501).getTimeRange()).build()));
        // a deadline that has passed stops the call
        assertStatus(Status.Code.DEADLINE_EXCEEDED, "",
                () -> api.withDeadlineAfter(1, TimeUnit.NANOSECONDS).compare(good));
        assertFalse(api.listReferences(ListReferencesRequest.newBuilder().setModelId("bad").build())
                .getReferencesList().stream().anyMatch(r -> r.getName().equals("empty")));
    }

    private static void assertStatus(Status.Code code, String message, Supplier<?> call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        String description = String.valueOf(e.getStatus().getDescription());
        assertTrue(description.contains(message), description);
    }
}
