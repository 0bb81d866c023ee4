package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.config.Stores;
import ai.neuraldivergence.aggregator.config.Topics;
import ai.neuraldivergence.storage.Compaction;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.OffsetStore;
import ai.neuraldivergence.storage.StorageException;
import ai.neuraldivergence.storage.WindowDeltaStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import io.quarkus.scheduler.Scheduled;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Every {@code rollup-interval}: reads the event-time watermark (the oldest of the consumer group's partitions over
 * activations and labels), runs a {@link Compaction} pass at it, announces the hours and days built, keeps the delta
 * partitions made {@link #AHEAD} ahead, and retires the ones whose minutes are final and folded. Measures what the
 * chart alerts on: the watermark's age, the oldest unfolded delta, the oldest hour final but not built, and the
 * partitions made ahead and held past finality. Made at startup, so that its meters are there before its first pass.
 */
@ApplicationScoped
@Startup
public class CompactionJob {

    private static final Logger LOG = Logger.getLogger(CompactionJob.class);
    /** How far ahead of now delta partitions are made, so that a flush never waits for one to be created. */
    static final Duration AHEAD = Duration.ofHours(2);
    /**
     * How often partitions are made ahead (and counted): two hours ahead leave time, and every write makes a
     * missing one itself; not at every pass, which in the tests runs every second in every instance.
     */
    static final Duration AHEAD_EVERY = Duration.ofSeconds(30);

    private final AggregatorConfig config;
    // its reads bounded (ReadTimeout): a fold waiting on a silent server would hold its partition's lease
    private final javax.sql.DataSource dataSource;
    private final Compaction compaction;
    private final DeltaPartitions partitions;
    private final DeltaPartitions exemplarPartitions;
    private final Set<String> watermarkTopics;
    private final OffsetStore offsets;
    private final WindowDeltaStore deltas;
    private final Counter folded;
    private final Counter built;
    private final Counter failed;
    private final Counter deferred;
    private final AtomicLong watermarkAge = new AtomicLong();
    private final io.micrometer.core.instrument.MultiGauge partitionWatermarkAge;
    private final AtomicLong oldestUnfoldedAge = new AtomicLong();
    private final AtomicLong oldestUnbuiltAge = new AtomicLong();
    private final PartitionGauges partitionGauges;
    // every table partitioned by time, made ahead here (deltas also retired here; the others by the retention jobs)
    private final java.util.Map<String, ai.neuraldivergence.storage.TimePartitions> ahead =
            new java.util.LinkedHashMap<>();
    private final AtomicLong walBytes = new AtomicLong();
    private volatile Instant lastFinalBefore;
    private Long lastAhead;

    @Inject
    public CompactionJob(@Identifier(Stores.READS_BOUNDED) javax.sql.DataSource dataSource, AggregatorConfig config,
            Topics topics, MeterRegistry registry,
            EventPublisher events, PartitionGauges partitionGauges, DeltaPartitions partitions,
            @Identifier(Stores.EXEMPLAR_DELTAS) DeltaPartitions exemplarPartitions, OffsetStore offsets,
            WindowDeltaStore deltas) {
        this.partitionGauges = partitionGauges;
        this.config = config;
        this.dataSource = dataSource;
        this.watermarkTopics = Set.of(topics.activations(), topics.labels());
        this.partitions = partitions;
        this.exemplarPartitions = exemplarPartitions;
        this.offsets = offsets;
        this.deltas = deltas;
        for (String table : ai.neuraldivergence.storage.PartitionLayout.TABLES) {
            ahead.put(table, new ai.neuraldivergence.storage.TimePartitions(dataSource,
                    ai.neuraldivergence.storage.PartitionLayout.of(table)));
        }
        this.folded = Meters.counter(registry, "nd.aggregator.minutes.folded",
                "Minute folds: a minute's deltas merged into its one row");
        this.built = Meters.counter(registry, "nd.aggregator.minutes.rolled.up",
                "Hour and day rows built (each once, from its final minutes or hours)");
        this.failed = Meters.counter(registry, "nd.aggregator.compaction.failures",
                "Folds and builds that failed (the key is skipped and tried again at the next pass)");
        this.deferred = Meters.counter(registry, "nd.aggregator.compaction.deferred",
                "Compaction passes that folded and built nothing: a flush ran longer than the pass waits for it");
        this.compaction = new Compaction(dataSource, config.sketchK(), finality(config), new Compaction.Listener() {
            @Override
            public void built(Compaction.Built b) {
                built.increment();
                events.windowsCommitted(List.of(new FlushWriter.CommittedWindow(b.key(), b.tap(),
                        b.observationCount(), b.observationCount(), new long[0])), Instant.now());
            }

            @Override
            public void failed(String what, RuntimeException cause) {
                LOG.warnf("%s failed (tried again at the next pass): %s", what, cause.toString());
            }
        });
        io.micrometer.core.instrument.FunctionCounter.builder("nd.aggregator.postgresql.wal.bytes", walBytes,
                AtomicLong::doubleValue).description("WAL bytes PostgreSQL has written (pg_stat_wal, the whole "
                        + "server), read at every compaction pass").register(registry);
        registry.gauge("nd.aggregator.watermark.age.seconds", watermarkAge);
        partitionWatermarkAge = io.micrometer.core.instrument.MultiGauge.builder(
                "nd.aggregator.partition.watermark.age.seconds").description("How far each partition's stored "
                        + "watermark is behind now: the one holding the group's watermark back is the oldest")
                .register(registry);
        registry.gauge("nd.aggregator.deltas.oldest.unfolded.seconds", oldestUnfoldedAge);
        registry.gauge("nd.aggregator.rollup.oldest.unrolled.seconds", oldestUnbuiltAge);
    }

    /**
     * How long after its end a minute takes late deltas: the allowed lateness, or the recent store's ttl (a late
     * label joins observations that young), whichever is longer.
     */
    static Duration finality(AggregatorConfig config) {
        Duration ttl = config.recent().ttl();
        return ttl.compareTo(config.allowedLateness()) > 0 ? ttl : config.allowedLateness();
    }

    /** Every {@code rollup-interval}, the first one an interval after the start; never two passes at once. */
    @Scheduled(identity = "compaction", every = "${nd.aggregator.rollup-interval}",
            delayed = "${nd.aggregator.rollup-interval}", concurrentExecution = Scheduled.ConcurrentExecution.SKIP,
            skipExecutionIf = AggregationDisabled.class)
    void scheduledPass() {
        try {
            runOnce(Instant.now());
        } catch (RuntimeException e) {
            LOG.warnf("compaction failed (retried in %s): %s", config.rollupInterval(), e);
        }
    }

    /** One pass at the stored watermark; {@code now} only places partitions ahead and ages the gauges. */
    public Optional<Compaction.Pass> runOnce(Instant now) {
        Optional<Instant> watermark;
        try (Connection c = dataSource.getConnection()) {
            watermark = offsets.watermark(c, config.consumerGroup(), watermarkTopics);
            List<io.micrometer.core.instrument.MultiGauge.Row<?>> rows = new java.util.ArrayList<>();
            for (OffsetStore.PartitionWatermark p : offsets.watermarks(c, config.consumerGroup(), watermarkTopics)) {
                if (p.watermark() != null) {
                    rows.add(io.micrometer.core.instrument.MultiGauge.Row.of(io.micrometer.core.instrument.Tags.of(
                            "topic", p.topic(), "partition", Integer.toString(p.partition())),
                            Math.max(0, Duration.between(p.watermark(), now).toMillis() / 1000.0)));
                }
            }
            partitionWatermarkAge.register(rows, true);
            try (java.sql.Statement s = c.createStatement();
                    java.sql.ResultSet rs = s.executeQuery("SELECT wal_bytes FROM pg_stat_wal")) {
                if (rs.next()) {
                    walBytes.set(rs.getLong(1));
                }
            }
        } catch (SQLException e) {
            throw new StorageException("reading the watermark", e);
        }
        // an hour back (for late deltas), but never an hour the retirement below would drop at once as final (with
        // a finality under an hour it would be made and dropped again at every pass)
        Instant from = now.minus(Duration.ofHours(1));
        if (watermark.isPresent() && compaction.finalBefore(watermark.get()).isAfter(from)) {
            from = compaction.finalBefore(watermark.get());
        }
        // measured on the monotonic clock: a test's pass at an instant of its choosing must not hold this back
        long tick = System.nanoTime();
        if (lastAhead == null || tick - lastAhead >= AHEAD_EVERY.toNanos()) {
            lastAhead = tick;
            for (java.util.Map.Entry<String, ai.neuraldivergence.storage.TimePartitions> e : ahead.entrySet()) {
                // one table's failure (a lock not granted in time) must not keep the others from being made
                try {
                    e.getValue().ensure(from, now.plus(AHEAD));
                    partitionGauges.ahead(e.getKey(), e.getValue().ahead(now));
                } catch (StorageException failure) {
                    LOG.warnf("making partitions of %s ahead failed (retried at the next pass): %s", e.getKey(),
                            failure.toString());
                    e.getValue().forgetAll();
                    lastAhead = null;
                }
            }
        }
        return watermark.map(w -> runAt(now, w));
    }

    /**
     * One pass at {@code w} rather than the stored watermark: what tests use to move event time past a finality
     * that real time would take hours to reach.
     */
    public Compaction.Pass runAt(Instant now, Instant w) {
        watermarkAge.set(Math.max(0, Duration.between(w, now).toSeconds()));
        Compaction.Pass pass = compaction.run(w);
        if (pass.deferred()) {
            deferred.increment();
            LOG.infof("a flush ran longer than the compaction pass waits for it: nothing folded or built at this "
                    + "pass (tried again at the next)");
            // the oldest unfolded delta keeps ageing, which the chart's alert watches
            measureUnfolded(w);
            return pass;
        }
        folded.increment(pass.folded());
        failed.increment(pass.failed());
        Instant finalBefore = compaction.finalBefore(w);
        lastFinalBefore = finalBefore;
        oldestUnbuiltAge.set(pass.oldestUnbuiltHour() == null ? 0 : Math.max(0, Duration.between(
                pass.oldestUnbuiltHour().plus(Duration.ofHours(1)), finalBefore).toSeconds()));
        List<String> kept = new java.util.ArrayList<>();
        for (DeltaPartitions deltaTable : List.of(partitions, exemplarPartitions)) {
            // each table on its own: one that fails (a lock not granted) does not keep the other from retiring
            try {
                DeltaPartitions.Retired r = deltaTable.retire(finalBefore);
                partitionGauges.held(deltaTable.table(), r.keptUnfolded().size());
                kept.addAll(r.keptUnfolded());
                if (!r.failed().isEmpty()) {
                    LOG.warnf("retiring %s partitions failed for %s (tried again at the next pass)",
                            deltaTable.table(), r.failed());
                }
            } catch (StorageException e) {
                LOG.warnf("retiring %s partitions failed (tried again at the next pass): %s", deltaTable.table(),
                        e.toString());
            }
        }
        if (!kept.isEmpty()) {
            LOG.warnf("delta partitions %s are past finality but hold unfolded deltas: kept", kept);
        }
        measureUnfolded(w);
        return pass;
    }

    /** Where final minutes end at the last pass (by the event-time watermark); null before the first one. */
    public Instant finalBefore() {
        return lastFinalBefore;
    }

    /** How long the oldest unfolded delta's minute has been complete (0 while it is not). */
    private void measureUnfolded(Instant watermark) {
        try (Connection c = dataSource.getConnection()) {
            Instant oldest = deltas.oldestUnfolded(c);
            oldestUnfoldedAge.set(oldest == null ? 0 : Math.max(0, Duration.between(oldest.plusSeconds(60),
                    watermark).toSeconds()));
        } catch (SQLException e) {
            throw new StorageException("reading the oldest unfolded delta", e);
        }
    }
}
