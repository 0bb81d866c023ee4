package ai.neuraldivergence.comparison;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.proto.v1.CreateMonitorRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.Watermarks;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.time.Instant;
import java.util.Random;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Models with little traffic are watched too: each evaluation grows its window back from the minute it closes until
 * it holds the monitor's minimum. The minutes are stored sketches at their event times, made complete by the
 * aggregator's watermark; nothing waits for the wall clock.
 */
@QuarkusTest
@WithTestResource(MigratedInfrastructureResource.class)
class LowTrafficMonitorTest extends GrpcApiTest {

    private static final Instant T0 = Instant.parse("2026-11-30T08:00:00Z");
    private static final int MINUTES = 40;
    /** The minute the quiet model's tap moves (every neuron up by one standard deviation). */
    private static final int ONSET = 20;

    /** Seeds what the aggregator writes: the service's own connection may not. */
    @Inject
    @SchemaOwner
    DataSource owner;

    /**
     * Stores {@code MINUTES} minutes of a 4-neuron tap, an observation every {@code everySeconds} seconds of event
     * time, N(0, 1) per neuron, moved by {@code shift} from the onset on.
     */
    private void seed(String model, int everySeconds, double shift) throws Exception {
        TapDescriptor tap = new TapDescriptor(model, "v1", "dense", 0, new int[] {4}, 4, Reduction.NONE);
        TapWindowStore windows = new TapWindowStore(owner);
        Random random = new Random(model.hashCode());
        try (Connection c = owner.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(owner).register(c, tap);
            for (int m = 0; m < MINUTES; m++) {
                TapDistribution d = new TapDistribution(4, 200);
                for (int s = 0; s < 60; s++) {
                    if ((60 * m + s) % everySeconds == 0) {
                        double moved = m >= ONSET ? shift : 0;
                        d.add(new float[] {(float) (random.nextGaussian() + moved),
                            (float) (random.nextGaussian() + moved), (float) (random.nextGaussian() + moved),
                            (float) (random.nextGaussian() + moved)}, 0);
                    }
                }
                if (d.observationCount() > 0) {
                    windows.merge(c, new WindowKey(model, "v1", "dense", Slice.ALL, Granularity.MINUTE,
                            T0.plusSeconds(60L * m)), d);
                }
            }
            c.commit();
        }
        api.createReference(CreateReferenceRequest.newBuilder().setModelId(model).setName("calm")
                .setRange(ai.neuraldivergence.proto.v1.TimeRange.newBuilder().setFrom(DriftFixture.ts(T0))
                        .setTo(DriftFixture.ts(T0.plusSeconds(60L * ONSET)))).build());
        api.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(MonitorDefinition.newBuilder()
                .setName(model + "-drift").setModelId(model).setReference("calm").setThreshold(0.25)).build());
    }

    /** The monitor once it has evaluated the last stored minute (at most 30 s). */
    private Monitor evaluatedToTheEnd(String model) throws InterruptedException {
        long end = T0.plusSeconds(60L * MINUTES).getEpochSecond();
        Monitor m = null;
        for (int i = 0; i < 60; i++) {
            m = api.listMonitors(ListMonitorsRequest.newBuilder().setModelId(model).build()).getMonitors(0);
            if (m.hasWindow() && m.getWindow().getTo().getSeconds() == end) {
                return m;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("not evaluated to the end: " + m);
    }

    @Test
    void atOneObservationASecondItJudgesFourMinuteWindowsAndFlagsTheShiftWithinTenMinutes() throws Exception {
        seed("quiet", 1, 1.0);
        Watermarks.advance(owner, T0.plusSeconds(60L * MINUTES));
        Monitor m = evaluatedToTheEnd("quiet");
        assertEquals(MonitorState.MONITOR_STATE_DRIFTING, m.getState(), m.toString());
        // 200 observations (the default minimum) at 60 a minute: four minutes
        assertEquals(240, m.getWindow().getTo().getSeconds() - m.getWindow().getFrom().getSeconds(), m.toString());
        assertEquals(240, m.getWindowObservations());
        long onset = T0.plusSeconds(60L * ONSET).getEpochSecond();
        assertTrue(m.getSince().getSeconds() > onset && m.getSince().getSeconds() <= onset + 600,
                "drifting within 10 event-minutes of the onset: since " + m.getSince().getSeconds() + ", onset " + onset);
    }

    @Test
    void atOneObservationInFiftySecondsItSaysInsufficientDataWithTheWindowItTried() throws Exception {
        seed("rare", 50, 0);
        Watermarks.advance(owner, T0.plusSeconds(60L * MINUTES));
        Monitor m = evaluatedToTheEnd("rare");
        assertEquals(MonitorState.MONITOR_STATE_INSUFFICIENT_DATA, m.getState(), m.toString());
        assertEquals(3600, m.getWindow().getTo().getSeconds() - m.getWindow().getFrom().getSeconds(),
                "the whole span (60 minutes) was tried");
        assertEquals(48, m.getWindowObservations(), "40 minutes at one observation every 50 s");
        Management.given().get("/q/metrics").then().body(org.hamcrest.Matchers.containsString(
                "nd_comparison_monitor_state{model=\"rare\",monitor=\"rare-drift\",reference=\"calm\","
                        + "state=\"insufficient_data\",tap=\"dense\"} 1.0"));
    }
}
