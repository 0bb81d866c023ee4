package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.storage.TapWindowStore;
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
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Deletes stored windows past their granularity's retention, on a schedule, in statements bounded in rows and
 * bytes. A minute is deleted only once its hour is built, an hour once its day is: a roll-up that fell behind shows
 * in {@code nd_aggregator_rollup_oldest_unrolled_seconds}, never as lost data. Every instance may run it: deletes
 * of the same expired rows are idempotent.
 */
@ApplicationScoped
public class RetentionJob {

    private static final Logger LOG = Logger.getLogger(RetentionJob.class);
    private static final int BATCH = 5_000;

    private final TapWindowStore windows;
    private final AgroalDataSource dataSource;
    private final ai.neuraldivergence.storage.LateLabelStore lateLabels;
    private final AggregatorConfig config;
    private final Map<Granularity, Counter> deleted = new EnumMap<>(Granularity.class);
    private ScheduledExecutorService scheduler;

    @Inject
    public RetentionJob(AgroalDataSource dataSource, AggregatorConfig config, MeterRegistry registry) {
        this.windows = new TapWindowStore(dataSource);
        this.dataSource = dataSource;
        this.lateLabels = new ai.neuraldivergence.storage.LateLabelStore(dataSource);
        this.config = config;
        for (Granularity g : Granularity.values()) {
            deleted.put(g, Counter.builder("nd.aggregator.retention.deleted")
                    .description("Stored windows deleted past their retention").tag("granularity", g.word())
                    .register(registry));
        }
    }

    void start(@Observes StartupEvent event) {
        if (!config.enabled()) {
            return;
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "retention");
            t.setDaemon(true);
            return t;
        });
        long every = config.retention().checkInterval().toMillis();
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                enforce(Instant.now());
            } catch (RuntimeException e) {
                LOG.warnf("retention run failed (retried in %s): %s", config.retention().checkInterval(), e);
            }
        }, Math.min(every, 60_000), every, TimeUnit.MILLISECONDS);
    }

    void stop(@Observes ShutdownEvent event) {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    /** Deletes every window that started more than its retention before {@code now}; returns the rows deleted. */
    public long enforce(Instant now) {
        long total = 0;
        for (Granularity g : Granularity.values()) {
            Duration keep = switch (g) {
                case MINUTE -> config.retention().minute();
                case HOUR -> config.retention().hour();
                case DAY -> config.retention().day();
            };
            long n = windows.deleteOlderThan(g, now.minus(keep), BATCH, config.retention().batchBytes().asLongValue());
            deleted.get(g).increment(n);
            total += n;
        }
        if (total > 0) {
            LOG.infof("retention: deleted %d expired windows", total);
        }
        // exemplars are kept as long as the minutes they belong to
        new ai.neuraldivergence.storage.ExemplarStore(dataSource).deleteOlderThan(
                now.minus(config.retention().minute()));
        // labels past the horizon no longer wait for their observation
        lateLabels.expire(now.minus(config.labelHorizon()));
        return total;
    }
}
