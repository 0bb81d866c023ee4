package ai.neuraldivergence.comparison.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.domain.monitor.TrailingWindow;
import ai.neuraldivergence.storage.MonitorStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A monitor's gauges carry its model and reference as labels; moved to another reference (or model), it is reported
 * under the new one only. The replica here never reads the monitor between the move and the new generation's first
 * state, as a replica that does not evaluate may not (it reads once a second): its gauges went on under the old
 * labels until it restarted.
 */
class MonitorGaugesTest {

    private static MonitorDefinition monitor(String reference) {
        return new MonitorDefinition("moved", "m", "dense", reference, Slice.ALL, Divergence.Metric.KS,
                MonitorDefinition.Mode.FIXED, 0.2, 0.05, 1, 2, 200, 60);
    }

    /** Writes a drifting state for the monitor's current generation, as its evaluator would. */
    private static void drifting(MonitorStore store, MonitorStore.Lease lease, StoredMonitor m, Instant end) {
        MonitorRun.Evaluation e = MonitorRun.Evaluation.of(end, new TrailingWindow(end.minusSeconds(600), end, 900,
                true), 9_000, 0.4, 0.2);
        store.write(lease, e, new MonitorStatus("moved", m.generation(), "dense", Transition.State.DRIFTING, end,
                false, end, end.minusSeconds(600), 900, 9_000, 0.4, 0.2, null, null), null);
    }

    @Test
    void aMonitorMovedToAnotherReferenceIsReportedUnderItOnly() {
        PGSimpleDataSource db = new PGSimpleDataSource();
        db.setUrl(TestInfrastructure.shared().newDatabase("monitor_gauges"));
        db.setUser(TestInfrastructure.DB_USER);
        db.setPassword(TestInfrastructure.DB_PASSWORD);
        Flyway.configure().dataSource(db).load().migrate();
        MonitorStore store = new MonitorStore(db);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Monitors monitors = new Monitors(store, registry, announced -> { });
        MonitorStore.Lease lease = store.acquire("evaluator", Duration.ofSeconds(30)).orElseThrow();
        try {
            Instant end = Instant.parse("2026-12-06T10:01:00Z");
            drifting(store, lease, store.create(monitor("calm"), "writer"), end);
            monitors.refresh();
            assertEquals(List.of("calm"), references(registry));

            drifting(store, lease, store.update(monitor("calm-early"), "writer"), end.plusSeconds(60));
            monitors.refresh();
            assertEquals(List.of("calm-early"), references(registry));
            assertEquals(1.0, registry.get("nd.comparison.monitor.drifting").tag("reference", "calm-early").gauge()
                    .value());
            assertTrue(registry.find("nd.comparison.monitor.state").tag("reference", "calm").gauges().isEmpty());
        } finally {
            store.release(lease);
        }
    }

    /** The references the drifting gauges name. */
    private static List<String> references(SimpleMeterRegistry registry) {
        return registry.find("nd.comparison.monitor.drifting").gauges().stream().map(Gauge::getId)
                .map(id -> id.getTag("reference")).toList();
    }
}
