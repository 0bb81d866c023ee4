package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.LateLabelStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.TimePartitions;
import ai.neuraldivergence.storage.WindowRetention;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.scheduler.Scheduled;
import io.quarkus.scheduler.Scheduler;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Retention, on a schedule: the partitions of stored windows and exemplars past their granularity's retention are
 * dropped ({@link WindowRetention}: a minute only once its hour is built, an hour once its day is; one that cannot go
 * yet is kept, counted in {@code nd_aggregator_partitions_held} and alerted on, never lost), labels past their
 * horizon likewise; the rows stored before partitioning are deleted in bounded statements as before. Every instance
 * may run it: one retires a table at a time, and deletes of the same expired rows are idempotent.
 */
@ApplicationScoped
public class RetentionJob {

    private static final Logger LOG = Logger.getLogger(RetentionJob.class);
    private static final int BATCH = 5_000;

    private final TapWindowStore windows;
    private final CalibrationSampleStore samples;
    private final ExemplarStore exemplars;
    private final LateLabelStore lateLabels;
    private final WindowRetention retention;
    private final AggregatorConfig config;
    private final CompactionJob compaction;
    private final PartitionGauges gauges;
    private final Counter partitionsDropped;
    private final Map<Granularity, Counter> deleted = new EnumMap<>(Granularity.class);

    @Inject
    public RetentionJob(AggregatorConfig config, MeterRegistry registry, CompactionJob compaction,
            PartitionGauges gauges, TapWindowStore windows, ExemplarStore exemplars, LateLabelStore lateLabels,
            WindowRetention retention, CalibrationSampleStore samples) {
        this.samples = samples;
        this.windows = windows;
        this.exemplars = exemplars;
        this.lateLabels = lateLabels;
        this.retention = retention;
        this.config = config;
        this.compaction = compaction;
        this.gauges = gauges;
        this.partitionsDropped = Meters.counter(registry, "nd.aggregator.retention.partitions.dropped",
                "Partitions of windows, exemplars and labels dropped past their retention");
        for (Granularity g : Granularity.values()) {
            deleted.put(g, Counter.builder("nd.aggregator.retention.deleted")
                    .description("Windows stored before partitioning deleted past their retention")
                    .tag("granularity", g.word()).register(registry));
        }
    }

    /**
     * Schedules the runs: every {@code retention.check-interval}, the first within a minute of the start (the
     * interval is ten minutes by default). Programmatic, as that first delay is computed; the scheduler stops it at
     * shutdown.
     */
    void start(@Observes StartupEvent event, Scheduler scheduler) {
        if (!config.enabled()) {
            return;
        }
        Duration every = config.retention().checkInterval();
        Duration first = every.compareTo(Duration.ofMinutes(1)) < 0 ? every : Duration.ofMinutes(1);
        scheduler.newJob("retention").setInterval(every.toString()).setDelayed(first.toString())
                .setConcurrentExecution(Scheduled.ConcurrentExecution.SKIP).setTask(execution -> run())
                .schedule();
    }

    private void run() {
        try {
            Instant finalBefore = compaction.finalBefore();
            if (finalBefore != null) {
                enforce(Instant.now(), finalBefore);
            }
        } catch (RuntimeException e) {
            LOG.warnf("retention run failed (retried in %s): %s", config.retention().checkInterval(), e);
        }
    }

    /**
     * Retires what has expired at {@code now}, where minutes before {@code finalBefore} are final (by the event-time
     * watermark); returns what it did to windows and exemplars.
     */
    public WindowRetention.Pass enforce(Instant now, Instant finalBefore) {
        WindowRetention.Pass pass = retention.run(now, finalBefore, new WindowRetention.Spans(
                config.retention().minute(), config.retention().hour(), config.retention().day()));
        gauges.held("tap_window", pass.windows().held().size());
        gauges.held("neuron_exemplars", pass.exemplars().held().size());
        int dropped = pass.windows().dropped().size() + pass.exemplars().dropped().size();
        if (!pass.windows().held().isEmpty()) {
            LOG.warnf("window partitions %s are past their retention but hold rows not rolled up yet: kept",
                    pass.windows().held());
        }
        List<String> failed = new java.util.ArrayList<>(pass.windows().failed());
        failed.addAll(pass.exemplars().failed());
        // each step on its own: one that fails does not keep the others from their work
        long rows = 0;
        try {
            // rows stored before partitioning: deleted in bounded statements until their table is empty and goes
            for (Granularity g : Granularity.values()) {
                Duration keep = switch (g) {
                    case MINUTE -> config.retention().minute();
                    case HOUR -> config.retention().hour();
                    case DAY -> config.retention().day();
                };
                long n = windows.deleteOlderThan(g, now.minus(keep), BATCH,
                        config.retention().batchBytes().asLongValue());
                deleted.get(g).increment(n);
                rows += n;
            }
            exemplars.deleteOlderThan(now.minus(config.retention().minute()));
            // an hour's sample goes with the hour's rows; a deleted reference's with it
            samples.deleteOlderThan(now.minus(config.retention().hour()));
        } catch (RuntimeException e) {
            failed.add("deleting rows stored before partitioning: " + e);
        }
        try {
            // labels past the horizon no longer wait for their observation
            TimePartitions.Retired labels = lateLabels.expire(now.minus(config.labelHorizon()));
            dropped += labels.dropped().size();
            failed.addAll(labels.failed());
        } catch (RuntimeException e) {
            failed.add("expiring labels: " + e);
        }
        partitionsDropped.increment(dropped);
        if (dropped + rows > 0) {
            LOG.infof("retention: dropped %d expired partitions, deleted %d expired windows stored before "
                    + "partitioning", dropped, rows);
        }
        if (!failed.isEmpty()) {
            LOG.warnf("retention: %s failed (tried again at the next run)", failed);
        }
        return pass;
    }
}
