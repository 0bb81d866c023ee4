package ai.neuraldivergence.aggregator.ingest;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.atomic.AtomicLong;

/** What the consumer loop reads, commits, drops and fails, and the heap its deltas hold: its meters. */
final class ConsumerMetrics {

    private final Counter observations;
    private final Counter batches;
    private final Counter fencedFlushes;
    private final Counter failures;
    private final Counter storeFailures;
    private final Counter recoveries;
    private final Counter partitionsLost;
    private final Counter lateDropped;
    private final Counter projectionsRefused;
    private final Counter labelsReceived;
    private final Counter inputsReceived;
    private final Counter lateLabelsJoined;
    private final Counter records;
    private final Counter sketchUpdates;
    private final Counter rowsWritten;
    private final Counter bytesWritten;
    private final Counter tagValuesRefused;
    private final Counter classesRefused;
    private final Counter finalDropped;
    private final AtomicLong lag = new AtomicLong();
    private final Timer flushTimer;
    private final AtomicLong pendingBytesGauge = new AtomicLong();
    private final AtomicLong budgetGauge = new AtomicLong();

    /** @param budget the bytes of heap the deltas may hold ({@code nd.aggregator.max-pending-bytes}) */
    ConsumerMetrics(MeterRegistry registry, long budget) {
        this.finalDropped = Counter.builder("nd.aggregator.deltas.dropped").tag("reason", "final")
                .description("Window deltas dropped because their minute was final (folded for the last time)")
                .register(registry);
        this.observations = Meters.counter(registry, "nd.aggregator.observations",
                "Observations committed to stored distributions");
        this.batches = Meters.counter(registry, "nd.aggregator.batches", "Activation batches committed");
        this.fencedFlushes = Meters.counter(registry, "nd.aggregator.flushes.fenced",
                "Flushes rolled back because another instance owns a partition now");
        this.failures = Meters.counter(registry, "nd.aggregator.failures",
                "Poll or flush failures; the delta was dropped and re-read from the stored offsets");
        this.storeFailures = Meters.counter(registry, "nd.aggregator.store.failures",
                "Flush failures that are the store's (a stored row that cannot be decoded, a failure with no data "
                        + "to blame): retried, nothing dead-lettered; alert on it");
        this.recoveries = Meters.counter(registry, "nd.aggregator.flush.recoveries",
                "Failed flushes written again, in halves, to find the record at fault");
        this.records = Meters.counter(registry, "nd.aggregator.records", "Kafka records consumed");
        this.sketchUpdates = Meters.counter(registry, "nd.aggregator.sketch.updates",
                "Sketch updates committed (neuron values x the slices they entered)");
        this.rowsWritten = Meters.counter(registry, "nd.aggregator.rows.written",
                "Distribution rows written (minutes and their hour and day roll-ups)");
        this.bytesWritten = Meters.counter(registry, "nd.aggregator.bytes.written",
                "Bytes of distributions written to PostgreSQL");
        registry.gauge("nd.aggregator.consumer.lag", lag);
        this.labelsReceived = Meters.counter(registry, "nd.aggregator.labels", "Late labels committed");
        this.inputsReceived = Meters.counter(registry, "nd.aggregator.inputs",
                "Captured inputs committed into the recent-observation store");
        this.lateLabelsJoined = Meters.counter(registry, "nd.aggregator.labels.joined",
                "Observation taps added to their true-label slice by a late label");
        this.lateDropped = Meters.counter(registry, "nd.aggregator.observations.late",
                "Observations dropped: they arrived later than the allowed lateness after their event time");
        this.projectionsRefused = Meters.counter(registry, "nd.aggregator.projections.refused",
                "Observations of a tap stored in several blocks whose layer projections were refused (sent through "
                        + "other neuron scales than the layout's registered ones): their windows have no layer "
                        + "statistic");
        this.partitionsLost = Meters.counter(registry, "nd.aggregator.partitions.lost",
                "Partitions lost without a clean revoke (e.g. after a pause past the session timeout); the "
                        + "unflushed delta was dropped");
        this.tagValuesRefused = Meters.counter(registry, "nd.aggregator.tag.values.refused",
                "Tag values not turned into slices (cardinality bound or invalid value)");
        this.classesRefused = Meters.counter(registry, "nd.aggregator.classes.refused",
                "Predicted classes and true labels (an observation's, or a late label's joins) not turned into slices "
                        + "(past the classes sliced)");
        this.flushTimer = Timer.builder("nd.aggregator.flush").publishPercentiles(0.5, 0.95)
                .description("Time to write one flush (distributions and offsets, one transaction)")
                .register(registry);
        registry.gauge("nd.aggregator.pending.bytes", pendingBytesGauge);
        budgetGauge.set(budget);
        registry.gauge("nd.aggregator.pending.bytes.budget", budgetGauge);
    }

    /** The time one flush takes to write. */
    Timer flushTimer() {
        return flushTimer;
    }

    /**
     * Counts what a committed flush wrote: the delta's counts read before it was drained, and what the write
     * reports. {@code late} observations are counted once committed: a replay after a crash drops the same
     * observations again.
     */
    void committed(long observationCount, long updates, long late, long refusedProjections, PendingDelta delta,
            FlushWriter.Outcome.Committed committed) {
        projectionsRefused.increment(refusedProjections);
        observations.increment(observationCount);
        sketchUpdates.increment(updates);
        batches.increment(delta.batches());
        labelsReceived.increment(delta.labels());
        inputsReceived.increment(delta.inputs());
        lateLabelsJoined.increment(committed.lateLabelsJoined());
        classesRefused.increment(committed.labelsUnsliced());
        rowsWritten.increment(committed.rows());
        bytesWritten.increment(committed.bytes());
        lateDropped.increment(late);
        finalDropped.increment(committed.droppedFinal());
    }

    void fenced() {
        fencedFlushes.increment();
    }

    /** A poll or flush failure that restarts the loop; a store failure is counted twice (alerted on alone). */
    void failed(boolean store) {
        failures.increment();
        if (store) {
            storeFailures.increment();
        }
    }

    void recovering() {
        recoveries.increment();
    }

    void lost(int partitions) {
        partitionsLost.increment(partitions);
    }

    void polled(int count) {
        records.increment(count);
    }

    void tagValueRefused() {
        tagValuesRefused.increment();
    }

    void classRefused() {
        classesRefused.increment();
    }

    void lag(long records) {
        lag.set(records);
    }

    void pendingBytes(long bytes) {
        pendingBytesGauge.set(bytes);
    }
}
