package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.hasKey;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import com.google.protobuf.util.JsonFormat;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The JSON mirror under /api/v1: the same queries and errors as gRPC, in protobuf's canonical JSON. */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class JsonMirrorTest {

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    private static String json(com.google.protobuf.MessageOrBuilder m) throws Exception {
        return JsonFormat.printer().print(m);
    }

    @Test
    void everyQueryAnswersInJson() throws Exception {
        DriftFixture.seed(owner, "json");
        given().get("/api/v1/catalog?model_id=json").then().statusCode(200)
                .body("models[0].modelId", equalTo("json"))
                .body("models[0].versions.modelVersion", hasItems("v2", "v3"));

        String compare = json(CompareRequest.newBuilder().setModelId("json").setModelVersion("v2").setTap("dense1")
                .setA(DriftFixture.minutes(0, 10)).setB(DriftFixture.minutes(10, 20)));
        given().contentType(ContentType.JSON).body(compare).post("/api/v1/compare").then().statusCode(200)
                .body("modelVersion", equalTo("v2"))
                .body("taps[0].summary.tap", equalTo("dense1"))
                .body("taps[0].summary.driftedShare", equalTo(1.0f))
                .body("taps[0].neurons[0].direction", equalTo("DIRECTION_EXCITED"))
                .body("taps[0].neurons[1].direction", equalTo("DIRECTION_INHIBITED"))
                .body("taps[0].neurons[0].drifted", equalTo(true))
                // 64-bit integers travel as strings in protobuf's JSON
                .body("taps[0].summary.countA", equalTo("600"));

        given().contentType(ContentType.JSON).body(json(LayerOverviewRequest.newBuilder().setModelId("json")
                .setModelVersion("v2").setA(DriftFixture.minutes(0, 10)).setB(DriftFixture.minutes(10, 20))))
                .post("/api/v1/layer-overview").then().statusCode(200).body("onsetTap", equalTo("dense1"));

        given().contentType(ContentType.JSON).body(json(DistributionShapesRequest.newBuilder().setModelId("json")
                .setModelVersion("v2").setTap("dense1").addNeurons(1).setBins(5).setA(DriftFixture.minutes(0, 10))))
                .post("/api/v1/distribution-shapes").then().statusCode(200)
                .body("neurons[0].binEdges.size()", equalTo(6))
                .body("neurons[0].a.count", equalTo("600"));

        given().contentType(ContentType.JSON).body(json(CreateReferenceRequest.newBuilder().setModelId("json")
                .setModelVersion("v2").setName("calm").setRange(DriftFixture.minutes(0, 10).getTimeRange())))
                .post("/api/v1/references").then().statusCode(201)
                .body("name", equalTo("calm")).body("origin", equalTo("REFERENCE_ORIGIN_TIME_RANGE"));
        given().get("/api/v1/references?model_id=json").then().statusCode(200)
                .body("references.name", hasItems("calm"));
        given().delete("/api/v1/references/json/calm").then().statusCode(200).body("deleted", equalTo(true));
        given().delete("/api/v1/references/json/calm").then().statusCode(404).body("code", equalTo("NOT_FOUND"));
    }

    @Test
    void nonFiniteCountsAndUndefinedMetricsTravelInJson() throws Exception {
        DriftFixture.seedNonFinite(owner, "json-nonfinite");
        String compare = json(CompareRequest.newBuilder().setModelId("json-nonfinite").setTap("dense1")
                .setA(DriftFixture.minutes(0, 1)).setB(DriftFixture.minutes(1, 2)));
        given().contentType(ContentType.JSON).body(compare).post("/api/v1/compare").then().statusCode(200)
                // 64-bit counts as strings; the side without non-finite values has none
                .body("taps[0].neurons[0].countB", equalTo("10"))
                .body("taps[0].neurons[0].nonFiniteB.nan", equalTo("3"))
                .body("taps[0].neurons[0].nonFiniteB.positiveInfinity", equalTo("2"))
                .body("taps[0].neurons[0].nonFiniteB.negativeInfinity", equalTo("0"))
                .body("taps[0].neurons[0]", not(hasKey("nonFiniteA")))
                // 10 and 15 observations: a KS of 1/3 is within chance (the sampling bound is over 1)
                .body("taps[0].neurons[0].drifted", equalTo(false))
                .body("taps[0].neurons[0].ksSamplingBound", greaterThan(1.0f))
                .body("taps[0].neurons[1].nonFiniteB.nan", equalTo("15"))
                .body("taps[0].neurons[2].nonFiniteA.negativeInfinity", equalTo("1"))
                // proto3 JSON writes a NaN double as the string "NaN": W1 and the mean shift without finite B
                .body("taps[0].neurons[1].wasserstein", equalTo("NaN"))
                .body("taps[0].neurons[1].meanShift", equalTo("NaN"))
                .body("taps[0].neurons[1].ks", equalTo(1.0f));

        given().contentType(ContentType.JSON).body(json(DistributionShapesRequest.newBuilder()
                .setModelId("json-nonfinite").setTap("dense1").addNeurons(1).setA(DriftFixture.minutes(0, 1))
                .setB(DriftFixture.minutes(1, 2)))).post("/api/v1/distribution-shapes").then().statusCode(200)
                .body("neurons[0].b.count", equalTo("0"))
                .body("neurons[0].b.nonFinite.nan", equalTo("15"))
                .body("neurons[0].a", not(hasKey("nonFinite")));
    }

    @Test
    void theWebUiIsServedAtTheRoot() {
        given().get("/").then().statusCode(200).body(containsString("<title>NeuralDivergence</title>"));
        // without ND_UI_INFERENCE_URL the UI offers no upload
        given().get("/api/v1/ui-settings").then().statusCode(200).body("inferenceUrl", equalTo(""));
    }

    @Test
    void errorsAreHttpStatusesWithTheirMessage() throws Exception {
        DriftFixture.seed(owner, "json-errors");
        CompareRequest good = CompareRequest.newBuilder().setModelId("json-errors").setModelVersion("v2")
                .setA(DriftFixture.minutes(0, 10)).setB(DriftFixture.minutes(10, 20)).build();
        given().contentType(ContentType.JSON).body(json(good.toBuilder().setTopK(-3))).post("/api/v1/compare")
                .then().statusCode(400).body("code", equalTo("INVALID_ARGUMENT"))
                .body("message", containsString("top_k must be"));
        given().contentType(ContentType.JSON).body(json(good.toBuilder().setModelId("nope")))
                .post("/api/v1/compare").then().statusCode(404).body("code", equalTo("NOT_FOUND"));
        given().contentType(ContentType.JSON).body(json(good.toBuilder().setB(DriftFixture.minutes(300, 301))))
                .post("/api/v1/compare").then().statusCode(400).body("code", equalTo("FAILED_PRECONDITION"));
        given().contentType(ContentType.JSON).body("{\"modelId\": \"json-errors\", \"nonsense\": 1}")
                .post("/api/v1/compare").then().statusCode(400)
                .body("message", containsString("malformed request"));
        given().contentType(ContentType.JSON).body("not json").post("/api/v1/compare").then().statusCode(400);
        String created = json(CreateReferenceRequest.newBuilder().setModelId("json-errors").setModelVersion("v2")
                .setName("twice").setRange(DriftFixture.minutes(0, 10).getTimeRange()));
        given().contentType(ContentType.JSON).body(created).post("/api/v1/references").then().statusCode(201);
        assertEquals(409, given().contentType(ContentType.JSON).body(created).post("/api/v1/references")
                .then().extract().statusCode());
    }

    @Test
    void theInvestigationCallsAnswerInJsonToo() throws Exception {
        DriftFixture.seed(owner, "json-inv");
        given().contentType(ContentType.JSON).body("{\"modelId\": \"json-inv\", \"modelVersion\": \"v2\", "
                + "\"tap\": \"dense1\", \"timeRange\": " + JsonFormat.printer().print(DriftFixture.minutes(0, 20)
                        .getTimeRange()) + "}").post("/api/v1/class-matrix").then().statusCode(200)
                .body("classes", org.hamcrest.Matchers.contains(0));
        given().contentType(ContentType.JSON).body(json(CreateReferenceRequest.newBuilder().setModelId("json-inv")
                .setModelVersion("v2").setName("calm").setRange(DriftFixture.minutes(0, 10).getTimeRange())))
                .post("/api/v1/references").then().statusCode(201);
        given().contentType(ContentType.JSON).body(json(ai.neuraldivergence.proto.v1.DriftTimelineRequest.newBuilder()
                .setModelId("json-inv").setModelVersion("v2").setReference("calm").addTaps("dense1")
                .setRange(DriftFixture.minutes(8, 12).getTimeRange()))).post("/api/v1/drift-timeline").then()
                .statusCode(200).body("points.size()", equalTo(4)).body("points[3].onsetTap", equalTo("dense1"));
        given().get("/api/v1/pairs?model_id=json-inv").then().statusCode(200).body("pairs.size()", equalTo(0));
        given().contentType(ContentType.JSON).body("{\"modelId\": \"json-inv\", \"instanceId\": \"gone\", "
                + "\"against\": {\"reference\": \"calm\"}}").post("/api/v1/inspect-instance").then().statusCode(404)
                .body("message", containsString("recent-observation store"));
        given().contentType(ContentType.JSON).body("{\"modelId\": \"json-inv\", \"pairId\": \"p\"}")
                .post("/api/v1/inspect-pair").then().statusCode(404);
        given().contentType(ContentType.JSON).body("{\"modelId\": \"json-inv\", \"tap\": \"dense1\", "
                + "\"neuron\": 1}").post("/api/v1/neuron-exemplars").then().statusCode(200)
                .body("neuron", equalTo(1));
    }
}
