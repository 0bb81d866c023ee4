package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.storage.RecentObservationStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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
    private final StoreMeters observations;
    private final StoreMeters inputs;

    @Inject
    public RecentEvictionJob(RecentObservationStore store, AggregatorConfig config, MeterRegistry registry) {
        this.store = store;
        this.config = config;
        this.observations = StoreMeters.register(registry, "observations");
        this.inputs = StoreMeters.register(registry, "inputs");
    }

    /** The meters of one kind of row the store holds, tagged {@code store}: what was evicted, and what is held. */
    private record StoreMeters(Counter expired, Counter overCap, AtomicLong rows) {

        static StoreMeters register(MeterRegistry registry, String store) {
            // the gauge holds its number weakly: this record keeps it
            AtomicLong rows = new AtomicLong();
            registry.gauge("nd.aggregator.recent.rows", List.of(Tag.of("store", store)), rows);
            return new StoreMeters(evictions(registry, store, "ttl"), evictions(registry, store, "cap"), rows);
        }

        private static Counter evictions(MeterRegistry registry, String store, String reason) {
            return Counter.builder("nd.aggregator.recent.evicted")
                    .description("Rows evicted from the recent-observation store (past the TTL, or beyond the cap)")
                    .tag("store", store).tag("reason", reason).register(registry);
        }

        void evicted(long pastTtl, long beyondCap) {
            expired.increment(pastTtl);
            overCap.increment(beyondCap);
        }
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
        observations.evicted(e.observationsExpired(), e.observationsOverCap());
        inputs.evicted(e.inputsExpired(), e.inputsOverCap());
        long[] sizes = store.sizes();
        observations.rows().set(sizes[0]);
        inputs.rows().set(sizes[1]);
        if (e.observationsOverCap() + e.inputsOverCap() > 0) {
            LOG.infof("recent-observation store over its cap: evicted %d observation rows and %d inputs (raise "
                    + "nd.aggregator.recent.max-observation-rows / max-inputs to keep more)",
                    e.observationsOverCap(), e.inputsOverCap());
        }
        return e;
    }
}
