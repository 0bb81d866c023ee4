package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.StorageException;
import ai.neuraldivergence.storage.TapWindowStore;
import io.agroal.api.AgroalDataSource;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Rolls closed minute windows up into their hour and day, once: in one transaction the minutes are locked (rows
 * another instance holds are skipped), merged into the hour and day rows, and marked rolled up. Rewriting an hour
 * and a day row once per minute, rather than at every flush, is what keeps roll-ups cheap.
 */
@ApplicationScoped
public class RollupJob {

    private static final Logger LOG = Logger.getLogger(RollupJob.class);
    private static final int BATCH = 200;

    private final AgroalDataSource dataSource;
    private final TapWindowStore windows;
    private final AggregatorConfig config;
    private final Counter rolledUp;
    private final EventPublisher events;
    private final ai.neuraldivergence.storage.CatalogStore catalog;
    private ScheduledExecutorService scheduler;

    @Inject
    public RollupJob(AgroalDataSource dataSource, AggregatorConfig config, MeterRegistry registry,
            EventPublisher events) {
        this.dataSource = dataSource;
        this.events = events;
        this.catalog = new ai.neuraldivergence.storage.CatalogStore(dataSource);
        this.windows = new TapWindowStore(dataSource);
        this.config = config;
        this.rolledUp = Counter.builder("nd.aggregator.minutes.rolled.up")
                .description("Minute windows rolled up into their hour and day").register(registry);
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
        long total = 0;
        while (true) {
            int done = rollUpBatch(closedBefore);
            total += done;
            if (done < BATCH) {
                return total;
            }
        }
    }

    private int rollUpBatch(Instant closedBefore) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<TapWindowStore.Unrolled> minutes = windows.lockUnrolled(c, closedBefore, BATCH);
                Map<WindowKey, TapDistribution> byMinute = new LinkedHashMap<>();
                minutes.forEach(m -> byMinute.put(m.key(), m.distribution()));
                List<FlushWriter.CommittedWindow> changed = new java.util.ArrayList<>();
                for (Map.Entry<WindowKey, TapDistribution> e : FlushWriter.rollups(byMinute).entrySet()) {
                    WindowKey k = e.getKey();
                    long count = windows.merge(c, k, e.getValue()).observationCount();
                    catalog.find(c, k.modelId(), k.modelVersion(), k.tap()).ifPresent(tap -> changed.add(
                            new FlushWriter.CommittedWindow(k, tap, count, e.getValue().observationCount())));
                }
                for (TapWindowStore.Unrolled m : minutes) {
                    windows.markRolledUp(c, m.key());
                }
                c.commit();
                rolledUp.increment(minutes.size());
                // one event per hour and day row that changed, after the commit
                events.windowsCommitted(changed, Instant.now());
                return minutes.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StorageException("rolling up minute windows", e);
        }
    }
}
