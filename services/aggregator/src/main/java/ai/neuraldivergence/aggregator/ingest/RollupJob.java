package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Runs the {@link MinuteRollup} every {@code rollup-interval} on the minutes closed by then (the allowed lateness
 * past their end), announces the hours and days it changed, and measures the roll-up backlog: the age of the oldest
 * minute not rolled up yet ({@code nd_aggregator_rollup_oldest_unrolled_seconds}, alerted on in the chart), which
 * retention waits for before it deletes a minute.
 */
@ApplicationScoped
public class RollupJob {

    private static final Logger LOG = Logger.getLogger(RollupJob.class);

    private final AggregatorConfig config;
    private final MinuteRollup rollup;
    private final AtomicLong oldestUnrolledAge = new AtomicLong();
    private ScheduledExecutorService scheduler;

    @Inject
    public RollupJob(AgroalDataSource dataSource, AggregatorConfig config, MeterRegistry registry,
            EventPublisher events) {
        this.config = config;
        Counter rolledUp = Counter.builder("nd.aggregator.minutes.rolled.up")
                .description("Minute windows rolled up into their hour and day").register(registry);
        this.rollup = new MinuteRollup(dataSource, config.rollupBatchBytes().asLongValue(), (minutes, changed) -> {
            rolledUp.increment(minutes);
            events.windowsCommitted(changed, Instant.now());
        });
        registry.gauge("nd.aggregator.rollup.oldest.unrolled.seconds", oldestUnrolledAge);
    }

    void start(@Observes StartupEvent event) {
        if (!config.enabled()) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rollup");
            t.setDaemon(true);
            return t;
        });
        long every = config.rollupInterval().toMillis();
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                rollUp(Instant.now());
            } catch (RuntimeException e) {
                LOG.warnf("roll-up failed (retried in %s): %s", config.rollupInterval(), e);
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    /** Rolls up every minute window closed by {@code now}; returns how many. */
    public long rollUp(Instant now) {
        Instant closedBefore = now.minus(config.allowedLateness()).minus(Duration.ofMinutes(1));
        try {
            return rollup.rollUp(closedBefore);
        } finally {
            measureBacklog(now);
        }
    }

    /** How long the oldest minute not rolled up yet has been closed: what the roll-up backlog alert watches. */
    private void measureBacklog(Instant now) {
        Instant oldest = rollup.oldestUnrolledMinute();
        oldestUnrolledAge.set(oldest == null ? 0 : Math.max(0, Duration.between(oldest.plus(Duration.ofMinutes(1)),
                now).toSeconds()));
    }
}
