package ai.neuraldivergence.comparison;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.proto.v1.MonitorTransition;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.Watermarks;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Drift monitors evaluated as minutes complete (the aggregator's watermark past their end), their state through
 * ListMonitors, gauges and Watch; and a slow watcher dropped while a fast one keeps receiving.
 */
@QuarkusTest
@TestProfile(MonitorWatchTest.WithMonitor.class)
@WithTestResource(MigratedInfrastructureResource.class)
class MonitorWatchTest {

    public static class WithMonitor implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("nd.comparison.ui.inference-url", "https://inference.example",
                    "nd.comparison.monitors.dense-drift.model", "mon",
                    "nd.comparison.monitors.dense-drift.tap", "dense1",
                    "nd.comparison.monitors.dense-drift.reference", "calm",
                    "nd.comparison.monitors.dense-drift.threshold", "0.3",
                    "nd.comparison.monitors.dense-drift.windows-in-a-row", "2",
                    "nd.comparison.monitors.dense-drift.min-observations", "50",
                    // small, so that the slow watcher overflows it soon
                    "nd.comparison.watch.queue", "256");
        }
    }

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    @ConfigProperty(name = "quarkus.http.port")
    int port;

    /**
     * The topic gains a partition while the service follows it (an operator adds partitions; updates are keyed by
     * model, so some models move there): an update on the new partition still reaches a watcher. The listener
     * assigned the partitions once, so such a model's watchers stayed silent and its cache stale until a restart.
     */
    @Test
    void anUpdateOnAPartitionAddedWhileFollowingReachesWatchers() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        String topic = "nd.window-updates";
        try (KafkaProducer<byte[], byte[]> p = WindowUpdates.producer();
                org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                        "bootstrap.servers", ai.neuraldivergence.testkit.TestInfrastructure.shared()
                                .kafkaBootstrapServers()))) {
            WindowUpdates.send(p, update("other", "x", 0)).get();
            Management.awaitMetric("nd_comparison_cache_following 1.0");
            List<WatchEvent> received = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread watcher = new Thread(() -> ComparisonServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(120, TimeUnit.SECONDS).watch(WatchRequest.newBuilder().setModelId("grown")
                            .build()).forEachRemaining(received::add), "grown-watcher");
            watcher.setDaemon(true);
            watcher.start();
            Management.awaitMetric("nd_comparison_watch_subscribers 1.0");
            int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()
                    .size();
            admin.createPartitions(Map.of(topic, org.apache.kafka.clients.admin.NewPartitions.increaseTo(
                    partitions + 1))).all().get();
            // sent to the new partition at once, before the listener can know of it: read from its beginning
            p.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, partitions, null,
                    update("grown", "dense1", 3).toByteArray())).get();
            WindowUpdates.assertReceives(received, 1, "the update on partition " + partitions + " reached the watcher");
            assertEquals("grown", received.get(0).getWindowUpdate().getModelId());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static WindowUpdate update(String model, String tap, int minute) {
        Instant start = DriftFixture.T0.plusSeconds(60L * minute);
        return WindowUpdate.newBuilder().setModelId(model).setModelVersion("v2").setTap(tap)
                .setSlice(ai.neuraldivergence.proto.v1.Slice.newBuilder().setAll(true))
                .setWindow(ai.neuraldivergence.proto.v1.Window.newBuilder()
                        .setGranularity(ai.neuraldivergence.proto.v1.Granularity.GRANULARITY_MINUTE)
                        .setStart(DriftFixture.ts(start)).setEnd(DriftFixture.ts(start.plusSeconds(60))))
                .setObservationCount(60).build();
    }

    /** Waits (at most 30 s) until the listed monitor's state is {@code state}. */
    private static Monitor awaitState(ComparisonServiceGrpc.ComparisonServiceBlockingStub api, MonitorState state)
            throws InterruptedException {
        Monitor m = null;
        for (int i = 0; i < 60; i++) {
            m = api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("mon").build()).getMonitors(0);
            if (m.getState() == state) {
                return m;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("still " + m);
    }

    @Test
    void aMonitorTurnsDriftingAfterTheConfiguredWindowsAndBackAsMinutesCompleteAndWatchersHearIt() throws Exception {
        DriftFixture.seed(owner, "mon");
        // two calm minutes after the drifted ones (minutes 10..19 moved)
        TapWindowStore windows = new TapWindowStore(owner);
        Random random = new Random(9);
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            for (int m = 20; m < 22; m++) {
                TapDistribution d = new TapDistribution(2, 200);
                for (int i = 0; i < 60; i++) {
                    d.add(new float[] {(float) random.nextGaussian(), (float) random.nextGaussian()}, 0);
                }
                windows.merge(c, new WindowKey("mon", "v2", "dense1", Slice.ALL, Granularity.MINUTE,
                        DriftFixture.T0.plusSeconds(60L * m)), d);
            }
            c.commit();
        }
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        try {
            var api = ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
            api.createReference(CreateReferenceRequest.newBuilder().setModelId("mon").setModelVersion("v2")
                    .setName("calm").setRange(DriftFixture.minutes(0, 10).getTimeRange()).build());
            Iterator<WatchEvent> watch = ComparisonServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(120, TimeUnit.SECONDS).watch(WatchRequest.newBuilder().setModelId("mon")
                            .addTaps("dense1").setIncludeMonitors(true).build());
            Management.awaitMetric("nd_comparison_watch_subscribers 1.0");

            // minutes 0..9 complete: calm; the open minute 10 is not evaluated, however drifted
            Watermarks.advance(owner, DriftFixture.T0.plusSeconds(600 + 30));
            Monitor calm = null;
            for (int i = 0; i < 60 && (calm == null || calm.getWindow().getTo().getSeconds()
                    < DriftFixture.T0.plusSeconds(600).getEpochSecond()); i++) {
                Thread.sleep(500);
                calm = api.listMonitors(ListMonitorsRequest.newBuilder().setModelId("mon").build()).getMonitors(0);
            }
            assertEquals(MonitorState.MONITOR_STATE_OK, calm.getState(), calm.toString());
            assertEquals(DriftFixture.T0.plusSeconds(600).getEpochSecond(), calm.getWindow().getTo().getSeconds(),
                    "the newest complete minute was evaluated: " + calm);
            assertEquals(60, calm.getWindowObservations(), "one minute holds the minimum (50)");
            // minutes 10 and 11 complete: two in a row over the threshold
            Watermarks.advance(owner, DriftFixture.T0.plusSeconds(720));
            Monitor drifting = awaitState(api, MonitorState.MONITOR_STATE_DRIFTING);
            assertEquals(DriftFixture.T0.plusSeconds(660).getEpochSecond(), drifting.getSince().getSeconds(),
                    "since the end of the first drifted minute");
            given().get("/api/v1/monitors?model_id=mon").then().statusCode(200)
                    .body("monitors[0].state", org.hamcrest.Matchers.equalTo("MONITOR_STATE_DRIFTING"))
                    .body("monitors[0].tap", org.hamcrest.Matchers.equalTo("dense1"));
            Management.given().get("/q/metrics").then().body(org.hamcrest.Matchers.containsString(
                    "nd_comparison_monitor_drifting{model=\"mon\",monitor=\"dense-drift\",reference=\"calm\","
                            + "tap=\"dense1\"} 1.0")).body(org.hamcrest.Matchers.containsString(
                    "nd_comparison_monitor_state{model=\"mon\",monitor=\"dense-drift\",reference=\"calm\","
                            + "state=\"drifting\",tap=\"dense1\"} 1.0"));
            // the rest complete: calm again from minute 20
            Watermarks.advance(owner, DriftFixture.T0.plusSeconds(60L * 23));
            Monitor ok = awaitState(api, MonitorState.MONITOR_STATE_OK);
            assertEquals(DriftFixture.T0.plusSeconds(60L * 21).getEpochSecond(), ok.getSince().getSeconds(),
                    "ok again since the end of the first calm minute");
            assertEquals(2, ok.getWindowsInARow());
            given().get("/api/v1/ui-settings").then().statusCode(200)
                    .body("inferenceUrl", org.hamcrest.Matchers.equalTo("https://inference.example"));

            // the watcher heard both transitions, in order, with increasing ids and where to look
            List<MonitorTransition> heard = new ArrayList<>();
            while (heard.size() < 2) {
                WatchEvent e = watch.next();
                if (e.hasMonitorTransition()) {
                    heard.add(e.getMonitorTransition());
                }
            }
            assertEquals(List.of(MonitorState.MONITOR_STATE_DRIFTING, MonitorState.MONITOR_STATE_OK),
                    heard.stream().map(t -> t.getMonitor().getState()).toList());
            assertTrue(heard.get(0).getId() < heard.get(1).getId());
            assertEquals(List.of(0, 1), heard.get(0).getTopNeuronsList().stream().sorted().toList(),
                    "both moved neurons of dense1, most drifted first: " + heard.get(0));
            // decided by the evaluation of minute 11, the second drifted one
            assertEquals(DriftFixture.T0.plusSeconds(660).getEpochSecond(),
                    heard.get(0).getMonitor().getWindow().getFrom().getSeconds(), "the deciding window");
            assertEquals(DriftFixture.T0.plusSeconds(720).getEpochSecond(),
                    heard.get(0).getMonitor().getWindow().getTo().getSeconds(), "the deciding window");
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aSlowWatcherIsDroppedWithAMessageWhileAFastOneKeepsReceiving() throws Exception {
        ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        // the slow watcher on a connection of its own, as a slow client is: on the fast one's connection, its unread
        // messages would hold the connection's flow-control window, and the fast one would starve in the client (the
        // fast watcher stopped at 679 of 3,000 once), which no server can help
        ManagedChannel slowChannel = ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        int total = 3000;
        try (KafkaProducer<byte[], byte[]> p = WindowUpdates.producer()) {
            WindowUpdates.send(p, update("other", "x", 0)).get();
            Management.awaitMetric("nd_comparison_cache_following 1.0");
            WatchRequest request = WatchRequest.newBuilder().setModelId("flood").build();
            Iterator<WatchEvent> slow = ComparisonServiceGrpc.newBlockingStub(slowChannel)
                    .withDeadlineAfter(120, TimeUnit.SECONDS).watch(request);
            List<WatchEvent> fastReceived = java.util.Collections.synchronizedList(new ArrayList<>());
            java.util.concurrent.atomic.AtomicReference<Throwable> fastEnded =
                    new java.util.concurrent.atomic.AtomicReference<>();
            Thread fast = new Thread(() -> {
                try {
                    ComparisonServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS)
                            .watch(request).forEachRemaining(fastReceived::add);
                } catch (RuntimeException e) {
                    fastEnded.set(e);
                }
            }, "fast-watcher");
            fast.setDaemon(true);
            fast.start();
            Management.awaitMetric("nd_comparison_watch_subscribers 2.0");
            // the slow watcher never reads: 3,000 events of 3 KB overflow the client's 1 MB flow-control window.
            // Sent a hundred at a time, each hundred once the fast watcher has read the ones before: it is never
            // more than a hundred behind (its queue holds 256), however busy this machine is, so that what is
            // tested is that the slow one does not hold it back (a flood at full speed on a loaded machine made the
            // fast one slow too, and it was dropped, rightly, at 863 once)
            for (int sent = 0; sent < total; sent += 100) {
                int from = sent;
                WindowUpdates.flood(p, 100, i -> update("flood", "t".repeat(3000) + (from + i), (from + i) % 1000),
                        0);
                long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
                while (fastReceived.size() < from + 100 && fastEnded.get() == null
                        && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertTrue(fastEnded.get() == null, "the fast watcher ended after " + fastReceived.size()
                        + " events: " + fastEnded.get());
            }
            WindowUpdates.assertReceives(fastReceived, total, "the fast watcher received everything");
            int slowReceived = 0;
            StatusRuntimeException dropped = null;
            try {
                while (slow.hasNext()) {
                    slow.next();
                    slowReceived++;
                }
            } catch (StatusRuntimeException e) {
                dropped = e;
            }
            assertTrue(dropped != null, "the slow watcher was dropped after " + slowReceived + " events");
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, dropped.getStatus().getCode());
            assertTrue(dropped.getStatus().getDescription().contains("events were waiting"),
                    dropped.getStatus().getDescription());
            assertTrue(slowReceived < total, "it fell behind: " + slowReceived);
            Management.given().get("/q/metrics").then().body(org.hamcrest.Matchers.containsString(
                    "nd_comparison_watch_dropped_total 1.0"));
            assertThrows(StatusRuntimeException.class, () -> ComparisonServiceGrpc.newBlockingStub(channel)
                    .watch(WatchRequest.newBuilder().addTaps("").build()).next());
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            slowChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
