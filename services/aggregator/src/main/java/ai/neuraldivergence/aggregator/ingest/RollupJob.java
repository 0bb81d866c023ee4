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
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Rolls closed minute windows up into their hour and day, once: in one transaction the minutes are locked (rows
 * another instance holds are skipped), merged into the hour and day rows, and marked rolled up. Rewriting an hour
 * and a day row once per batch of minutes, rather than at every flush, is what keeps roll-ups cheap. A batch reads
 * at most {@code rollup-batch-bytes} of minute rows, so a wide tap's roll-up stays within the heap.
 *
 * <p>Every instance runs it: two jobs take disjoint minutes (locked, skipped by the other) and serialize on the hours
 * and days they share, so neither overwrites the other's.
 */
@ApplicationScoped
public class RollupJob {

    private static final Logger LOG = Logger.getLogger(RollupJob.class);
    /** Minute rows considered per transaction; the byte budget usually takes fewer. */
    private static final int CANDIDATES = 500;

    private final AgroalDataSource dataSource;
    private final TapWindowStore windows;
    private final AggregatorConfig config;
    private final Counter rolledUp;
    private final EventPublisher events;
    private final ai.neuraldivergence.storage.CatalogStore catalog;
    private final AtomicLong oldestUnrolledAge = new AtomicLong();
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
        long total = 0;
        try {
            while (true) {
                int done = rollUpBatch(closedBefore);
                total += done;
                if (done == 0) {
                    return total;
                }
            }
        } finally {
            measureBacklog(now);
        }
    }

    /**
     * One transaction: the oldest closed minutes not rolled up yet, as many as fit the byte budget (at least one),
     * each locked (minutes another transaction holds are skipped) and merged into its hour's and day's delta as it
     * is read; then the hours and days, locked in one order, take their deltas, and the minutes are marked.
     *
     * @return the minutes rolled up; 0 when none was left (or every candidate was held by another transaction)
     */
    private int rollUpBatch(Instant closedBefore) {
        long budget = config.rollupBatchBytes().asLongValue();
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<TapWindowStore.Unrolled> candidates = windows.unrolled(c, closedBefore, CANDIDATES);
                Map<WindowKey, TapDistribution> rollups = new java.util.TreeMap<>(
                        java.util.Comparator.comparing(WindowKey::toString));
                List<WindowKey> minutes = new java.util.ArrayList<>();
                long bytes = 0;
                for (TapWindowStore.Unrolled candidate : candidates) {
                    if (!minutes.isEmpty() && bytes + candidate.bytes() > budget) {
                        break;
                    }
                    java.util.Optional<TapDistribution> minute = windows.lockUnrolled(c, candidate.key());
                    if (minute.isEmpty()) {
                        continue;
                    }
                    bytes += candidate.bytes();
                    minutes.add(candidate.key());
                    FlushWriter.rollups(Map.of(candidate.key(), minute.get())).forEach((k, d) -> {
                        TapDistribution existing = rollups.get(k);
                        if (existing == null) {
                            rollups.put(k, d);
                        } else {
                            existing.merge(d);
                        }
                    });
                }
                if (minutes.isEmpty()) {
                    c.rollback();
                    return 0;
                }
                // every hour and day of the batch locked up front, in one order: another roll-up (or a flush
                // passing a late delta on) writing the same hour waits instead of overwriting it
                windows.lockWindows(c, rollups.keySet());
                List<FlushWriter.CommittedWindow> changed = new java.util.ArrayList<>();
                for (Map.Entry<WindowKey, TapDistribution> e : rollups.entrySet()) {
                    WindowKey k = e.getKey();
                    long count = windows.merge(c, k, e.getValue()).observationCount();
                    catalog.find(c, k.modelId(), k.modelVersion(), k.tap()).ifPresent(tap -> changed.add(
                            new FlushWriter.CommittedWindow(k, tap, count, e.getValue().observationCount())));
                }
                for (WindowKey m : minutes) {
                    windows.markRolledUp(c, m);
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

    /** How long the oldest minute not rolled up yet has been closed: what the roll-up backlog alert watches. */
    private void measureBacklog(Instant now) {
        Instant oldest = windows.oldestUnrolledMinute();
        oldestUnrolledAge.set(oldest == null ? 0 : Math.max(0, Duration.between(oldest.plus(Duration.ofMinutes(1)),
                now).toSeconds()));
    }
}
