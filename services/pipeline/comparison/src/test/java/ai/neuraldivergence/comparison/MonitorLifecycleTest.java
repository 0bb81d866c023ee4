package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.MeanKsNull;
import ai.neuraldivergence.domain.ResampledNull;
import ai.neuraldivergence.proto.v1.CalibratedThreshold;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.CreateMonitorRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.LayerDrift;
import ai.neuraldivergence.proto.v1.DeleteMonitorRequest;
import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.Metric;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.proto.v1.MonitorHistory;
import ai.neuraldivergence.proto.v1.MonitorHistoryRequest;
import ai.neuraldivergence.proto.v1.MonitorMode;
import ai.neuraldivergence.proto.v1.MonitorSource;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.proto.v1.MonitorTransition;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.proto.v1.UpdateMonitorRequest;
import ai.neuraldivergence.storage.LayerNullStore;
import ai.neuraldivergence.testkit.Watermarks;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Monitors are data: created, replaced and deleted through gRPC and the JSON mirror, checked field by field, stored
 * (so that every replica sees them), evaluated like configured ones with their transitions kept; monitors of the
 * configuration are stored at start and refuse changes through the API.
 */
@QuarkusTest
@TestProfile(MonitorLifecycleTest.WithConfiguredMonitor.class)
@WithTestResource(MigratedInfrastructureResource.class)
class MonitorLifecycleTest extends GrpcApiTest {

    public static class WithConfiguredMonitor implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.monitoring.label-wait", "5m",
                    "nd.comparison.monitors.configured.model", "config-model",
                    "nd.comparison.monitors.configured.threshold", "0.25",
                    "nd.comparison.monitors.configured.max-span", "30m");
        }
    }

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    /** The model's first monitor once {@code done} holds for it (or as last listed, after 30 s). */
    private Monitor awaitMonitor(String model, java.util.function.Predicate<Monitor> done)
            throws InterruptedException {
        return awaitMonitor(model, done, null);
    }

    /** The model's monitor {@code name} (null: its first) once {@code done} holds for it (or after 30 s). */
    private Monitor awaitMonitor(String model, java.util.function.Predicate<Monitor> done, String name)
            throws InterruptedException {
        Monitor listed = null;
        for (int i = 0; i < 60 && (listed == null || !done.test(listed)); i++) {
            Thread.sleep(500);
            listed = api.listMonitors(ListMonitorsRequest.newBuilder().setModelId(model).build()).getMonitorsList()
                    .stream().filter(m -> name == null || m.getDefinition().getName().equals(name)).findFirst()
                    .orElse(null);
        }
        return listed;
    }

    /** A gauge's value in Prometheus' text format, by its name and labels. */
    private static double gauge(String metrics, String nameAndLabels) {
        return Double.parseDouble(metrics.lines().filter(l -> l.startsWith(nameAndLabels)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + nameAndLabels + " in\n" + metrics))
                .substring(nameAndLabels.length()).trim());
    }

    /**
     * Seeds {@code model} ({@link DriftFixture}: drift from minute 10), creates its reference "calm" of minutes 0-10,
     * and completes every stored minute (the watermark past minute 20).
     */
    private void driftedSinceMinute10WithACalmReference(String model) throws Exception {
        DriftFixture.seed(owner, model);
        api.createReference(CreateReferenceRequest.newBuilder().setModelId(model).setModelVersion("v2")
                .setName("calm").setRange(DriftFixture.minutes(0, 10).getTimeRange()).build());
        Watermarks.advance(owner, DriftFixture.T0.plusSeconds(60L * 20));
    }

    /** Every stored minute of the drift fixture evaluated: the newest evaluation closes minute 20. */
    private static boolean evaluatedToMinute20(Monitor m) {
        return m.hasWindow() && m.getWindow().getTo().getSeconds() >= DriftFixture.T0.plusSeconds(1200)
                .getEpochSecond();
    }

    private static Status.Code code(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
    }

    @Test
    void createdUpdatedAndDeletedThroughGrpcWithDefaultsAndChecks() {
        MonitorDefinition created = api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(
                MonitorDefinition.newBuilder().setName("grpc-made").setModelId("m")).build());
        // zero values took the defaults the proto names
        assertEquals("*", created.getTap());
        assertEquals("training", created.getReference());
        assertTrue(created.getSlice().getAll());
        assertEquals(Metric.METRIC_KS, created.getMetric());
        assertEquals(MonitorMode.MONITOR_MODE_FIXED, created.getMode());
        assertEquals(0.15, created.getThreshold());
        assertEquals(0.05, created.getMinimumEffect());
        assertEquals(1.0, created.getFalseAlarmBudget());
        assertEquals(2, created.getWindowsInARow());
        assertEquals(200, created.getMinObservations());
        assertEquals(60, created.getMaxSpanMinutes());
        assertEquals(MonitorSource.MONITOR_SOURCE_API, created.getSource());
        assertEquals("anonymous", created.getUpdatedBy());

        Monitor listed = api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("m").build()).getMonitors(0);
        assertEquals("grpc-made", listed.getName());
        assertEquals(MonitorState.MONITOR_STATE_OK, listed.getState());
        assertEquals(created, listed.getDefinition());

        assertEquals(Status.Code.ALREADY_EXISTS, code(() -> api.createMonitor(CreateMonitorRequest.newBuilder()
                .setMonitor(created).build())));
        MonitorDefinition updated = api.updateMonitor(UpdateMonitorRequest.newBuilder().setName("grpc-made")
                .setMonitor(created.toBuilder().setThreshold(0.3).setWindowsInARow(3)).build());
        assertEquals(0.3, updated.getThreshold());
        assertEquals(3, updated.getWindowsInARow());
        assertEquals(updated, api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("m").build())
                .getMonitors(0).getDefinition());

        // every field is checked before anything is stored
        MonitorDefinition.Builder valid = MonitorDefinition.newBuilder().setName("checked").setModelId("m");
        for (MonitorDefinition bad : List.of(valid.clone().setName("").build(),
                valid.clone().setName("a\u0000b").build(), valid.clone().setName("x".repeat(64)).build(),
                valid.clone().setModelId("").build(), valid.clone().setTap("a b").build(),
                valid.clone().setThreshold(Double.NaN).build(), valid.clone().setThreshold(-1).build(),
                valid.clone().setWindowsInARow(61).build(), valid.clone().setMinObservations(-5).build(),
                valid.clone().setMaxSpanMinutes(1441).build(), valid.clone().setFalseAlarmBudget(-1).build(),
                valid.clone().setMode(MonitorMode.MONITOR_MODE_CALIBRATED).setMetric(Metric.METRIC_WASSERSTEIN)
                        .build(), valid.clone().setMode(MonitorMode.MONITOR_MODE_CALIBRATED).setMinimumEffect(1.5)
                        .build())) {
            assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> api.createMonitor(CreateMonitorRequest
                    .newBuilder().setMonitor(bad).build())), bad.toString());
        }
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> api.createMonitor(CreateMonitorRequest
                .getDefaultInstance())));
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> api.updateMonitor(UpdateMonitorRequest.newBuilder()
                .setName("grpc-made").setMonitor(created.toBuilder().setName("renamed")).build())));
        assertEquals(Status.Code.NOT_FOUND, code(() -> api.updateMonitor(UpdateMonitorRequest.newBuilder()
                .setName("nobody").setMonitor(created.toBuilder().clearName()).build())));
        assertEquals(List.of("grpc-made"), api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("m")
                .build()).getMonitorsList().stream().map(Monitor::getName).toList());

        assertTrue(api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("grpc-made").build()).getDeleted());
        assertEquals(0, api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("m").build())
                .getMonitorsCount());
        assertEquals(Status.Code.NOT_FOUND, code(() -> api.deleteMonitor(DeleteMonitorRequest.newBuilder()
                .setName("grpc-made").build())));
        assertEquals(Status.Code.NOT_FOUND, code(() -> api.getMonitorHistory(MonitorHistoryRequest.newBuilder()
                .setName("grpc-made").build())));
    }

    @Test
    void createdUpdatedAndDeletedThroughJson() {
        given().contentType("application/json").body("{\"monitor\": {\"name\": \"json-made\", \"modelId\": \"j\", "
                + "\"tap\": \"dense1\", \"metric\": \"METRIC_WASSERSTEIN\", \"threshold\": 0.4}}")
                .post("/api/v1/monitors").then().statusCode(201).body("name", equalTo("json-made"))
                .body("tap", equalTo("dense1")).body("metric", equalTo("METRIC_WASSERSTEIN"))
                .body("source", equalTo("MONITOR_SOURCE_API"));
        given().contentType("application/json").body("{\"monitor\": {\"name\": \"json-made\", \"modelId\": \"j\"}}")
                .post("/api/v1/monitors").then().statusCode(409).body("code", equalTo("ALREADY_EXISTS"));
        given().contentType("application/json").body("{\"monitor\": {\"modelId\": \"j\", \"tap\": \"dense1\", "
                + "\"threshold\": 0.2, \"minObservations\": 50}}")
                .put("/api/v1/monitors/json-made").then().statusCode(200).body("threshold", equalTo(0.2f))
                .body("minObservations", equalTo("50")).body("metric", equalTo("METRIC_KS"));
        given().contentType("application/json").body("{\"monitor\": {\"modelId\": \"j\", \"windowsInARow\": 0.5}}")
                .put("/api/v1/monitors/json-made").then().statusCode(400).body("code", equalTo("INVALID_ARGUMENT"));
        given().get("/api/v1/monitors?model_id=j").then().statusCode(200)
                .body("monitors[0].definition.minObservations", equalTo("50"));
        // model j has no stored minutes: once another test has moved the watermark, the monitor is evaluated and
        // turns invalid, its one possible transition
        given().get("/api/v1/monitors/json-made/history").then().statusCode(200)
                .body("monitor.name", equalTo("json-made"))
                .body("transitions.findAll { it.monitor.state != 'MONITOR_STATE_INVALID' }.size()", equalTo(0));
        given().get("/api/v1/monitors/json-made/history?limit=1001").then().statusCode(400)
                .body("code", equalTo("INVALID_ARGUMENT"));
        given().delete("/api/v1/monitors/json-made").then().statusCode(200).body("deleted", equalTo(true));
        given().delete("/api/v1/monitors/json-made").then().statusCode(404).body("code", equalTo("NOT_FOUND"));
    }

    @Test
    void configuredMonitorsAreStoredAndChangeOnlyInTheConfiguration() {
        Monitor configured = api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("config-model").build())
                .getMonitors(0);
        assertEquals("configured", configured.getName());
        assertEquals(MonitorSource.MONITOR_SOURCE_CONFIG, configured.getSource());
        assertEquals(0.25, configured.getDefinition().getThreshold());
        assertEquals(30, configured.getDefinition().getMaxSpanMinutes());
        assertEquals("config", configured.getDefinition().getUpdatedBy());

        StatusRuntimeException update = assertThrows(StatusRuntimeException.class, () -> api.updateMonitor(
                UpdateMonitorRequest.newBuilder().setName("configured").setMonitor(configured.getDefinition()
                        .toBuilder().setThreshold(0.5)).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, update.getStatus().getCode());
        assertTrue(update.getStatus().getDescription().contains("configuration"), update.getStatus().toString());
        assertEquals(Status.Code.FAILED_PRECONDITION, code(() -> api.deleteMonitor(DeleteMonitorRequest.newBuilder()
                .setName("configured").build())));
        given().delete("/api/v1/monitors/configured").then().statusCode(400)
                .body("code", equalTo("FAILED_PRECONDITION"));
        // a monitor of the API may not take a configured one's name
        assertEquals(Status.Code.ALREADY_EXISTS, code(() -> api.createMonitor(CreateMonitorRequest.newBuilder()
                .setMonitor(MonitorDefinition.newBuilder().setName("configured").setModelId("x")).build())));
        assertEquals(0.25, api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("config-model").build())
                .getMonitors(0).getDefinition().getThreshold());
    }

    @Test
    void aMonitorCreatedAfterDriftBeganBackFillsItsStateAndKeepsItsTransitions() throws Exception {
        // every stored minute is complete: drift began at minute 10, ten minutes before the monitor exists
        driftedSinceMinute10WithACalmReference("life");
        api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(MonitorDefinition.newBuilder()
                .setName("made-late").setModelId("life").setTap("dense1").setReference("calm").setThreshold(0.3)
                .setMinObservations(50)).build());
        MonitorHistory history = MonitorHistory.getDefaultInstance();
        for (int i = 0; i < 60 && history.getTransitionsCount() == 0; i++) {
            Thread.sleep(500);
            history = api.getMonitorHistory(MonitorHistoryRequest.newBuilder().setName("made-late").build());
        }
        assertEquals(1, history.getTransitionsCount(), history.toString());
        MonitorTransition t = history.getTransitions(0);
        assertEquals(MonitorState.MONITOR_STATE_DRIFTING, t.getMonitor().getState());
        assertEquals(MonitorState.MONITOR_STATE_OK, t.getPreviousState());
        assertEquals("dense1", t.getMonitor().getTap());
        // two in a row: drifting since the end of minute 10, the first drifted one
        assertEquals(DriftFixture.T0.plusSeconds(660).getEpochSecond(), t.getMonitor().getSince().getSeconds());
        assertTrue(t.getId() > 0, t.toString());
        assertTrue(t.getMonitor().getCurrentValue() > 0.3, t.toString());
        assertEquals(2, t.getTopNeuronsCount(), "where to look: both neurons of dense1 moved");
        Monitor listed = awaitMonitor("life", MonitorLifecycleTest::evaluatedToMinute20);
        assertEquals(MonitorState.MONITOR_STATE_DRIFTING, listed.getState(), listed.toString());
        assertEquals(DriftFixture.T0.plusSeconds(1200).getEpochSecond(), listed.getWindow().getTo().getSeconds(),
                "every complete minute evaluated, the newest last");
        assertEquals(60, listed.getWindowObservations());
        assertEquals(0.3, listed.getThresholdApplied());

        // a higher threshold decides the stored evaluations again: dense1 moved by 2 sd stays over 0.3 but not 0.99
        api.updateMonitor(UpdateMonitorRequest.newBuilder().setName("made-late").setMonitor(history.getMonitor()
                .toBuilder().setThreshold(0.99).clearSource().clearUpdatedAt().clearUpdatedBy()).build());
        listed = awaitMonitor("life", m -> m.getState() == MonitorState.MONITOR_STATE_OK);
        assertEquals(MonitorState.MONITOR_STATE_OK, listed.getState(), listed.toString());

        // moved to another reference, its gauges follow it: none goes on reporting it under the one it left
        api.createReference(CreateReferenceRequest.newBuilder().setModelId("life").setModelVersion("v2")
                .setName("calm-early").setRange(DriftFixture.minutes(0, 5).getTimeRange()).build());
        api.updateMonitor(UpdateMonitorRequest.newBuilder().setName("made-late").setMonitor(history.getMonitor()
                .toBuilder().setThreshold(0.99).setReference("calm-early").clearSource().clearUpdatedAt()
                .clearUpdatedBy()).build());
        String moved = "nd_comparison_monitor_drifting{model=\"life\",monitor=\"made-late\",reference=\"calm-early\","
                + "tap=\"dense1\"}";
        String metrics = Management.given().get("/q/metrics").asString();
        for (int i = 0; i < 60 && !metrics.contains(moved); i++) {
            Thread.sleep(500);
            metrics = Management.given().get("/q/metrics").asString();
        }
        assertTrue(metrics.contains(moved), metrics);
        assertTrue(metrics.lines().noneMatch(l -> l.contains("monitor=\"made-late\",reference=\"calm\"")),
                "gauges under the reference the monitor left");

        // deleted, it stops: its transitions go with it
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("made-late").build());
        assertEquals(0, api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("life").build())
                .getMonitorsCount());
        try (var c = owner.getConnection(); var st = c.createStatement();
                var rs = st.executeQuery("SELECT count(*) FROM monitor_transition WHERE monitor = 'made-late'")) {
            rs.next();
            assertEquals(0, rs.getLong(1));
        }
    }

    @Test
    void aTrueLabelMonitorEvaluatesAMinuteOnlyOnceItsLateLabelsAreIn() throws Exception {
        driftedSinceMinute10WithACalmReference("labelled");
        for (String name : new String[] {"of-all", "of-label"}) {
            api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(MonitorDefinition.newBuilder()
                    .setName(name).setModelId("labelled").setTap("dense1").setReference("calm").setThreshold(0.3)
                    .setMinObservations(50).setSlice(name.equals("of-label")
                            ? ai.neuraldivergence.proto.v1.Slice.newBuilder().setTrueLabel(3)
                            : ai.neuraldivergence.proto.v1.Slice.newBuilder().setAll(true))).build());
        }
        Monitor all = awaitMonitor("labelled", MonitorLifecycleTest::evaluatedToMinute20, "of-all");
        assertEquals(DriftFixture.T0.plusSeconds(1200).getEpochSecond(), all.getWindow().getTo().getSeconds());
        // the label-wait (5 min here) after the watermark: minutes 16 to 20 may still take labels
        Monitor label = awaitMonitor("labelled", m -> m.hasWindow() && m.getWindow().getTo().getSeconds()
                >= DriftFixture.T0.plusSeconds(900).getEpochSecond(), "of-label");
        Thread.sleep(2_000);
        label = awaitMonitor("labelled", m -> true, "of-label");
        assertEquals(DriftFixture.T0.plusSeconds(900).getEpochSecond(), label.getWindow().getTo().getSeconds(),
                label.toString());
    }

    @Test
    void aCalibratedMonitorGrowsItsWindowAndShowsItsThresholdPartByPart() throws Exception {
        driftedSinceMinute10WithACalmReference("calib");
        MonitorDefinition created = api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(MonitorDefinition
                .newBuilder().setName("calibrated").setModelId("calib").setTap("dense1").setReference("calm")
                .setMode(MonitorMode.MONITOR_MODE_CALIBRATED).setMinObservations(50).setMaxSpanMinutes(10)).build());
        assertEquals(0.05, created.getMinimumEffect());
        assertEquals(1.0, created.getFalseAlarmBudget());
        Monitor listed = awaitMonitor("calib", MonitorLifecycleTest::evaluatedToMinute20);
        assertEquals(MonitorState.MONITOR_STATE_DRIFTING, listed.getState(), listed.toString());
        // a reference of 600 observations is too small to detect twice 0.05 at any window: the window is the span
        assertEquals(DriftFixture.T0.plusSeconds(600).getEpochSecond(), listed.getWindow().getFrom().getSeconds());
        assertEquals(600, listed.getWindowObservations());
        CalibratedThreshold parts = listed.getCalibration();
        assertEquals(0.05, parts.getMinimumEffect());
        assertEquals(1.0 / (43_200 * 3), parts.getAlpha(), 1e-15,
                "one tap, one false alarm per 30 days of minutes, three windows a minute");
        assertEquals(listed.getThresholdApplied(), parts.getMinimumEffect() + parts.getNullQuantile()
                + parts.getSketchBound(), 1e-12);
        assertTrue(parts.getNullQuantile() > 0.1 && parts.getSketchBound() > 0, parts.toString());
        assertTrue(listed.getSmallestDetectableEffect() > listed.getThresholdApplied(), listed.toString());
        assertTrue(listed.getCurrentValue() > listed.getThresholdApplied(), listed.toString());
        // no aggregator here computes the sealed reference's nulls: calibrating, at the analytic bound meanwhile
        assertTrue(parts.getCalibrating(), parts.toString());
        assertEquals(MeanKsNull.quantile(listed.getWindowObservations(), listed.getReferenceObservations(),
                parts.getAlpha()), parts.getNullQuantile(), 1e-12);
        // the moving threshold and what it can detect, as gauges beside the value
        String metrics = Management.given().get("/q/metrics").asString();
        String labels = "{model=\"calib\",monitor=\"calibrated\",reference=\"calm\",tap=\"dense1\"} ";
        assertEquals(listed.getThresholdApplied(), gauge(metrics, "nd_comparison_monitor_threshold" + labels), 1e-9);
        assertEquals(listed.getSmallestDetectableEffect(), gauge(metrics, "nd_comparison_monitor_detectable_effect"
                + labels), 1e-9);

        MonitorHistory history = api.getMonitorHistory(MonitorHistoryRequest.newBuilder().setName("calibrated")
                .setEvaluationMinutes(720).build());
        // calm minutes never fired: one transition, to drifting, once enough of the window had moved
        assertEquals(1, history.getTransitionsCount(), history.toString());
        long since = history.getTransitions(0).getMonitor().getSince().getSeconds();
        assertTrue(since > DriftFixture.T0.plusSeconds(600).getEpochSecond(), history.toString());
        assertTrue(history.getEvaluationsList().stream().filter(e -> e.hasValue())
                .allMatch(e -> e.hasCalibration() && e.getThresholdApplied() == e.getCalibration().getMinimumEffect()
                        + e.getCalibration().getNullQuantile() + e.getCalibration().getSketchBound()),
                "every evaluation with a value carries its threshold's parts");

        // the layer null stored alone (as by an aggregator of before the mean KS had a null): the layer is no
        // longer calibrating, the mean KS's null still is, and a monitor made now says so
        LayerNullStore.Key key = new LayerNullStore.Key("calib", "v2", "calm", "dense1");
        LayerNullStore nulls = new LayerNullStore(owner);
        assertTrue(nulls.claim(key, "test", java.time.Duration.ofMinutes(1)));
        assertTrue(nulls.store(key, "test", ai.neuraldivergence.domain.LayerNullTable.unusable(0), null));
        // read by the service within seconds (Compare's layer verdict says so), then a monitor made now reads it
        CompareRequest againstCalm = CompareRequest.newBuilder().setModelId("calib").setModelVersion("v2")
                .setTap("dense1").setA(Selection.newBuilder().setReference("calm")).setB(DriftFixture.minutes(10, 20))
                .build();
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
        while (api.compare(againstCalm).getTaps(0).getSummary().getLayer().getCalibrating()
                && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("calibrated").build());
        api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(created.toBuilder().clearSource()
                .clearUpdatedAt().clearUpdatedBy()).build());
        Monitor layerOnly = awaitMonitor("calib", MonitorLifecycleTest::evaluatedToMinute20);
        assertTrue(layerOnly.getCalibration().getCalibrating(), layerOnly.toString());
        assertEquals(MeanKsNull.quantile(layerOnly.getWindowObservations(), layerOnly.getReferenceObservations(),
                layerOnly.getCalibration().getAlpha()), layerOnly.getCalibration().getNullQuantile(), 1e-12);

        // once an aggregator stores it (the tap due for it alone, its layer null kept), the mean KS's null resampled
        // from the reference's sampled values sets the null quantile: tighter than the analytic bound, and no
        // longer calibrating (looked up again within seconds)
        java.util.TreeMap<Integer, double[]> buckets = new java.util.TreeMap<>();
        buckets.put(16, new double[] {0.2, 0.25, 0.3, 0.35, 0.21});
        buckets.put(32, new double[] {0.14, 0.18, 0.21, 0.25, 0.15});
        assertTrue(nulls.claim(key, "again", java.time.Duration.ofMinutes(1)), "due for its mean KS's null");
        assertTrue(nulls.store(key, "again", null, new LayerNullStore.MeanKs(300, buckets)));
        // the service looks a calibrating reference up again after 10 s (LayerNulls.CALIBRATING_RECHECK)
        Thread.sleep(10_500);
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("calibrated").build());
        api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(created.toBuilder().clearSource()
                .clearUpdatedAt().clearUpdatedBy()).build());
        Monitor resampled = awaitMonitor("calib", MonitorLifecycleTest::evaluatedToMinute20);
        CalibratedThreshold tight = resampled.getCalibration();
        assertFalse(tight.getCalibrating(), resampled.toString());
        double expected = ResampledNull.of(ResampledNull.Scaling.KS, buckets).quantile(
                resampled.getWindowObservations(), resampled.getReferenceObservations(), tight.getAlpha())
                .orElseThrow();
        assertEquals(expected, tight.getNullQuantile(), 1e-12, resampled.toString());
        assertTrue(tight.getNullQuantile() < MeanKsNull.quantile(resampled.getWindowObservations(),
                resampled.getReferenceObservations(), tight.getAlpha()), "tighter than the analytic bound");

        // a minimum effect larger than anything seen decides the stored evaluations again: ok; and a new budget
        // decides them at its rate from the resampled null, as the next evaluation will read it
        api.updateMonitor(UpdateMonitorRequest.newBuilder().setName("calibrated").setMonitor(history.getMonitor()
                .toBuilder().setMinimumEffect(0.95).setFalseAlarmBudget(2).clearSource().clearUpdatedAt()
                .clearUpdatedBy()).build());
        listed = awaitMonitor("calib", m -> m.getState() == MonitorState.MONITOR_STATE_OK);
        assertEquals(MonitorState.MONITOR_STATE_OK, listed.getState(), listed.toString());
        CalibratedThreshold decided = listed.getCalibration();
        assertEquals(0.95, decided.getMinimumEffect());
        assertEquals(2.0 / (43_200 * 3), decided.getAlpha(), 1e-15);
        assertFalse(decided.getCalibrating(), listed.toString());
        assertEquals(ResampledNull.of(ResampledNull.Scaling.KS, buckets).quantile(listed.getWindowObservations(),
                listed.getReferenceObservations(), decided.getAlpha()).orElseThrow(), decided.getNullQuantile(),
                1e-12, listed.toString());
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("calibrated").build());
    }

    @Test
    void aLayerMonitorWatchesTheTapsNeuronsTogether() throws Exception {
        driftedSinceMinute10WithACalmReference("layered");
        MonitorDefinition.Builder layer = MonitorDefinition.newBuilder().setName("layer").setModelId("layered")
                .setTap("dense1").setReference("calm").setMetric(Metric.METRIC_MMD).setThreshold(0.05)
                .setMinObservations(50).setMaxSpanMinutes(10);
        api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(layer).build());
        Monitor listed = awaitMonitor("layered", MonitorLifecycleTest::evaluatedToMinute20);
        // both neurons moved by two standard deviations: the layer's MMD² is far past 0.05
        assertEquals(MonitorState.MONITOR_STATE_DRIFTING, listed.getState(), listed.toString());
        assertTrue(listed.getCurrentValue() > 0.05, listed.toString());
        // and agrees with Compare's layer statistic over the same window
        CompareResponse compared = api.compare(CompareRequest.newBuilder().setModelId("layered").setModelVersion("v2").setTap("dense1")
                .setA(Selection.newBuilder().setReference("calm")).setB(Selection.newBuilder().setTimeRange(
                        TimeRange.newBuilder().setFrom(listed.getWindow().getFrom()).setTo(listed.getWindow()
                                .getTo()))).build());
        assertEquals(compared.getTaps(0).getSummary().getLayer().getMmd(), listed.getCurrentValue(), 1e-12);
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("layer").build());

        // no aggregator here computes the sealed reference's layer null: it is calibrating, and the analytic bound
        // answers meanwhile
        CompareRequest againstCalm = CompareRequest.newBuilder().setModelId("layered").setModelVersion("v2")
                .setTap("dense1").setA(Selection.newBuilder().setReference("calm")).setB(DriftFixture.minutes(10, 20))
                .build();
        LayerDrift calibrating = api.compare(againstCalm).getTaps(0).getSummary().getLayer();
        assertTrue(calibrating.getCalibrating() && !calibrating.getNullResampled(), calibrating.toString());

        // calibrated: the layer's own minimum effect by default (0.001 of MMD²), a threshold of that plus the null
        // quantile at one false alarm in 30 days (calibrating here: the analytic bound), no sketch part
        MonitorDefinition calibrated = api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(layer.clone()
                .setName("layer-calibrated").clearThreshold().setMode(MonitorMode.MONITOR_MODE_CALIBRATED)).build());
        assertEquals(0.001, calibrated.getMinimumEffect());
        listed = awaitMonitor("layered", MonitorLifecycleTest::evaluatedToMinute20);
        assertEquals(MonitorState.MONITOR_STATE_DRIFTING, listed.getState(), listed.toString());
        CalibratedThreshold parts = listed.getCalibration();
        assertEquals(1.0 / (43_200 * 3), parts.getAlpha(), 1e-15);
        assertEquals(0, parts.getSketchBound());
        assertEquals(listed.getThresholdApplied(), parts.getMinimumEffect() + parts.getNullQuantile(), 1e-12);
        assertTrue(parts.getNullQuantile() > 0 && listed.getSmallestDetectableEffect() > listed.getThresholdApplied(),
                listed.toString());
        assertTrue(parts.getCalibrating(), "the reference's null is not stored: " + listed);
        // 600 reference observations cannot detect twice 0.001: the window is the whole span
        assertEquals(DriftFixture.T0.plusSeconds(600).getEpochSecond(), listed.getWindow().getFrom().getSeconds());
        // a minimum effect past anything seen decides the stored evaluations again: ok
        api.updateMonitor(UpdateMonitorRequest.newBuilder().setName("layer-calibrated").setMonitor(calibrated
                .toBuilder().setMinimumEffect(0.99).clearSource().clearUpdatedAt().clearUpdatedBy()).build());
        listed = awaitMonitor("layered", m -> m.getState() == MonitorState.MONITOR_STATE_OK);
        assertEquals(MonitorState.MONITOR_STATE_OK, listed.getState(), listed.toString());
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("layer-calibrated").build());

        // once an aggregator stores the reference's null (here: its sample too small to resample, so the analytic
        // bound for good) every comparison reads it within seconds and stops saying calibrating
        LayerNullStore.Key key = new LayerNullStore.Key("layered", "v2", "calm", "dense1");
        LayerNullStore nulls = new LayerNullStore(owner);
        assertTrue(nulls.claim(key, "test", java.time.Duration.ofMinutes(1)));
        assertTrue(nulls.store(key, "test", ai.neuraldivergence.domain.LayerNullTable.unusable(0), null));
        LayerDrift stored = calibrating;
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
        while (stored.getCalibrating() && System.nanoTime() < deadline) {
            Thread.sleep(500);
            stored = api.compare(againstCalm).getTaps(0).getSummary().getLayer();
        }
        assertTrue(!stored.getCalibrating() && !stored.getNullResampled() && stored.getAvailable(), stored.toString());
        assertEquals(calibrating.getNullQuantile(), stored.getNullQuantile(), 0, "the same analytic bound");

        // conv1's rows have no feature sums: its layer monitor is invalid, saying why
        api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(layer.clone().setName("layer-conv")
                .setTap("conv1")).build());
        Monitor invalid = awaitMonitor("layered", m -> m.getState() == MonitorState.MONITOR_STATE_INVALID);
        assertEquals(MonitorState.MONITOR_STATE_INVALID, invalid.getState(), invalid.toString());
        assertTrue(invalid.getReason().contains("layer statistic") && invalid.getReason().contains("feature sums"),
                invalid.getReason());
        api.deleteMonitor(DeleteMonitorRequest.newBuilder().setName("layer-conv").build());

        // the layer statistic is a tap's: neurons are not ranked by it
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> api.compare(CompareRequest.newBuilder()
                .setModelId("layered").setModelVersion("v2").setA(Selection.newBuilder().setReference("calm"))
                .setB(DriftFixture.minutes(10, 20)).setRankBy(Metric.METRIC_MMD).build())));
    }
}
