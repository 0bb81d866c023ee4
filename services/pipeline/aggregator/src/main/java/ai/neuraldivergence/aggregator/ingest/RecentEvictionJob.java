package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.storage.RecentObservationStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Keeps the recent-observation store within its TTL and row caps, on a schedule, and counts what it evicts. Every
 * instance may run it: evicting the same rows twice deletes nothing the second time. Made at startup, so that its
 * meters are there before its first run.
 */
@ApplicationScoped
@Startup
public class RecentEvictionJob {

    private static final Logger LOG = Logger.getLogger(RecentEvictionJob.class);

    private final RecentObservationStore store;
    private final AggregatorConfig config;
    private final Counter observationsExpired;
    private final Counter observationsOverCap;
    private final Counter inputsExpired;
    private final Counter inputsOverCap;
    private final AtomicLong observationRows = new AtomicLong();
    private final AtomicLong inputRows = new AtomicLong();

    @Inject
    public RecentEvictionJob(RecentObservationStore store, AggregatorConfig config, MeterRegistry registry) {
        this.store = store;
        this.config = config;
        this.observationsExpired = evictions(registry, "observations", "ttl");
        this.observationsOverCap = evictions(registry, "observations", "cap");
        this.inputsExpired = evictions(registry, "inputs", "ttl");
        this.inputsOverCap = evictions(registry, "inputs", "cap");
        registry.gauge("nd.aggregator.recent.rows", java.util.List.of(io.micrometer.core.instrument.Tag.of(
                "store", "observations")), observationRows);
        registry.gauge("nd.aggregator.recent.rows", java.util.List.of(io.micrometer.core.instrument.Tag.of(
                "store", "inputs")), inputRows);
    }

    private static Counter evictions(MeterRegistry registry, String store, String reason) {
        return Counter.builder("nd.aggregator.recent.evicted")
                .description("Rows evicted from the recent-observation store (past the TTL, or beyond the cap)")
                .tag("store", store).tag("reason", reason).register(registry);
    }

    /** Every {@code recent.check-interval}, the first one an interval after the start; never two at once. */
    @Scheduled(identity = "recent-eviction", every = "${nd.aggregator.recent.check-interval}",
            delayed = "${nd.aggregator.recent.check-interval}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP, skipExecutionIf = AggregationDisabled.class)
    void scheduledRun() {
        try {
            enforce(Instant.now());
        } catch (RuntimeException e) {
            LOG.warnf("evicting recent observations failed (retried in %s): %s", config.recent().checkInterval(), e);
        }
    }

    /** Evicts what is past the TTL or beyond the caps at {@code now}; returns what was evicted. */
    public RecentObservationStore.Evicted enforce(Instant now) {
        // an unlabelled observation waits at least the label horizon for its label
        Duration keep = config.recent().ttl().compareTo(config.labelHorizon()) >= 0 ? config.recent().ttl()
                : config.labelHorizon();
        RecentObservationStore.Evicted e = store.evict(now.minus(keep), config.recent().maxObservationRows(),
                config.recent().maxInputs());
        observationsExpired.increment(e.observationsExpired());
        observationsOverCap.increment(e.observationsOverCap());
        inputsExpired.increment(e.inputsExpired());
        inputsOverCap.increment(e.inputsOverCap());
        long[] sizes = store.sizes();
        observationRows.set(sizes[0]);
        inputRows.set(sizes[1]);
        if (e.observationsOverCap() + e.inputsOverCap() > 0) {
            LOG.infof("recent-observation store over its cap: evicted %d observation rows and %d inputs (raise "
                    + "nd.aggregator.recent.max-observation-rows / max-inputs to keep more)",
                    e.observationsOverCap(), e.inputsOverCap());
        }
        return e;
    }
}
