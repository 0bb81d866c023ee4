package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CatalogVersion;
import ai.neuraldivergence.proto.v1.DistributionShapes;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.DistributionSummary;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.time.Instant;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The comparison API through a real gRPC channel, over distributions stored in a real PostgreSQL. */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class ComparisonGrpcTest extends GrpcApiTest {

    private static final Instant T0 = Instant.parse("2026-11-28T10:00:00Z");

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    /** Stores minute windows of a 2-neuron dense tap and a conv tap: neuron 0 sees 1..n, neuron 1 sees 10x. */
    private void seed(String model, int minutes, int perMinute) throws Exception {
        CatalogStore catalog = new CatalogStore(owner);
        TapWindowStore windows = new TapWindowStore(owner);
        TapDescriptor conv = new TapDescriptor(model, "v2", "conv1", 0, new int[] {4, 4, 3}, 3, Reduction.MAX);
        TapDescriptor dense = new TapDescriptor(model, "v2", "dense1", 1, new int[] {2}, 2, Reduction.NONE);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            // registered out of order: the catalog must still list network order
            catalog.register(c, dense);
            catalog.register(c, conv);
            int value = 1;
            for (int m = 0; m < minutes; m++) {
                TapDistribution d = new TapDistribution(2, 200);
                for (int i = 0; i < perMinute; i++, value++) {
                    d.add(new float[] {value, 10f * value}, 0);
                }
                Instant start = T0.plusSeconds(60L * m);
                windows.merge(c, new WindowKey(model, "v2", "dense1", Slice.ALL, Granularity.MINUTE, start), d);
                windows.merge(c, new WindowKey(model, "v2", "dense1", Slice.tag("source", m % 2 == 0 ? "prod"
                        : "canary"), Granularity.MINUTE, start), d);
            }
            c.commit();
        }
    }

    private static Timestamp ts(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).build();
    }

    private static Selection range(Instant from, Instant to) {
        return Selection.newBuilder().setTimeRange(TimeRange.newBuilder().setFrom(ts(from)).setTo(ts(to))).build();
    }

    @Test
    void shapesMergeTheStoredWindowsOfTheRange() throws Exception {
        seed("shapes", 3, 10);
        // minutes 0 and 1: values 1..20
        DistributionShapes shapes = api.getDistributionShapes(DistributionShapesRequest.newBuilder()
                .setModelId("shapes").setTap("dense1").addNeurons(0).addNeurons(1).setBins(4)
                .addRanks(0.5).addRanks(1.0)
                .setA(range(T0, T0.plusSeconds(120)))
                .setB(range(T0.plusSeconds(120), T0.plusSeconds(180)))
                .build());
        assertEquals("v2", shapes.getModelVersion(), "the newest version when none is asked for");
        DistributionSummary a = shapes.getNeurons(0).getA();
        assertEquals(20, a.getCount());
        assertEquals(1.0, a.getMin());
        assertEquals(20.0, a.getMax());
        assertEquals(10.5, a.getMean(), 1e-9);
        assertEquals(10.0, a.getQuantiles(0).getValue(), "exact below k values: the 10th of 20");
        assertEquals(0.0, a.getRankError());
        // B holds 21..30; shared bins span 1..30
        DistributionSummary b = shapes.getNeurons(0).getB();
        assertEquals(10, b.getCount());
        assertEquals(List.of(1.0, 8.25, 15.5, 22.75, 30.0), shapes.getNeurons(0).getBinEdgesList());
        assertEquals(List.of(8 / 20.0, 7 / 20.0, 5 / 20.0, 0.0), a.getBinSharesList());
        assertEquals(List.of(0.0, 0.0, 0.2, 0.8), b.getBinSharesList());
        assertEquals(200.0, shapes.getNeurons(1).getA().getMax());
    }

    @Test
    void catalogListsTapsInNetworkOrderSlicesAndCoverage() throws Exception {
        seed("catalog", 2, 5);
        Catalog catalog = api.getCatalog(GetCatalogRequest.newBuilder().setModelId("catalog").build());
        assertEquals(1, catalog.getModelsCount());
        CatalogVersion v = catalog.getModels(0).getVersions(0);
        assertEquals("v2", v.getModelVersion());
        assertEquals(List.of("conv1", "dense1"), v.getTapsList().stream().map(t -> t.getName()).toList());
        assertEquals(List.of(4, 4, 3), v.getTaps(0).getShapeList());
        assertEquals(3, v.getTaps(0).getNeuronCount());
        assertEquals(List.of("canary", "prod"), v.getTagValues(0).getValuesList());
        assertEquals(3, v.getSlicesCount());
        assertEquals(T0.getEpochSecond(), v.getCoverage().getFrom().getSeconds());
        assertEquals(T0.plusSeconds(120).getEpochSecond(), v.getCoverage().getTo().getSeconds());
        assertEquals(10, v.getObservationCount(), "2 minutes of 5 observations");
    }

    @Test
    void theCatalogAnswersWithAWindowStoredBeyondWhatATimestampHolds() throws Exception {
        // PostgreSQL stores years up to 294,276; protobuf's Timestamp stops at 9999-12-31. Such a window was once
        // stored, and from then on no catalog could be printed in JSON
        String model = "far-future";
        Instant farFuture = Instant.parse("+12000-01-01T00:00:00Z");
        seed(model, 1, 3);
        TapDistribution d = new TapDistribution(2, 200);
        d.add(new float[] {1, 2}, 0);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new TapWindowStore(owner).merge(c, new WindowKey(model, "v2", "dense1", Slice.ALL,
                    Granularity.MINUTE, farFuture), d);
            c.commit();
        }
        try (Connection c = owner.getConnection(); java.sql.PreparedStatement ps = c.prepareStatement(
                "SELECT extract(year FROM max(window_start) AT TIME ZONE 'UTC')::int FROM tap_window "
                        + "WHERE model_id = ?")) {
            ps.setString(1, model);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                assertEquals(12_000, rs.getInt(1), "PostgreSQL keeps the year as stored");
            }
        }

        Timestamp last = Timestamp.newBuilder().setSeconds(253_402_300_799L).setNanos(999_999_999).build();
        CatalogVersion v = api.getCatalog(GetCatalogRequest.newBuilder().setModelId(model).build()).getModels(0)
                .getVersions(0);
        assertEquals(ts(T0), v.getCoverage().getFrom());
        assertEquals(last, v.getCoverage().getTo(), "clamped to the last instant a Timestamp holds");
        assertEquals(4, v.getObservationCount());
        assertTrue(api.getCatalog(GetCatalogRequest.getDefaultInstance()).getModelsList().stream()
                .anyMatch(m -> m.getModelId().equals(model)), "the catalog of every model answers too");

        io.restassured.RestAssured.given().get("/api/v1/catalog?model_id=" + model).then().statusCode(200)
                .body("models[0].versions[0].coverage.from", org.hamcrest.Matchers.equalTo("2026-11-28T10:00:00Z"))
                .body("models[0].versions[0].coverage.to",
                        org.hamcrest.Matchers.equalTo("9999-12-31T23:59:59.999999999Z"));
        io.restassured.RestAssured.given().get("/api/v1/catalog").then().statusCode(200)
                .body("models.modelId", org.hamcrest.Matchers.hasItem(model));
    }

    @Test
    void badArgumentsAreRefusedWithAMessage() throws Exception {
        seed("errors", 1, 1);
        DistributionShapesRequest good = DistributionShapesRequest.newBuilder().setModelId("errors")
                .setTap("dense1").setA(range(T0, T0.plusSeconds(60))).build();
        assertStatus(Status.Code.INVALID_ARGUMENT, "neuron 7 does not exist: tap 'dense1' has neurons 0..1",
                good.toBuilder().addNeurons(7).build());
        assertStatus(Status.Code.INVALID_ARGUMENT, "time range must have from < to",
                good.toBuilder().setA(range(T0, T0)).build());
        assertStatus(Status.Code.INVALID_ARGUMENT, "selection a is required", good.toBuilder().clearA().build());
        assertStatus(Status.Code.NOT_FOUND, "model 'nope' has no stored distributions",
                good.toBuilder().setModelId("nope").build());
        assertStatus(Status.Code.NOT_FOUND, "has no tap 'conv9'", good.toBuilder().setTap("conv9").build());
        assertStatus(Status.Code.NOT_FOUND, "has no version 'v9'", good.toBuilder().setModelVersion("v9").build());
    }

    private void assertStatus(Status.Code code, String message, DistributionShapesRequest request) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> api.getDistributionShapes(request));
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(message), e.getStatus().getDescription());
    }
}
