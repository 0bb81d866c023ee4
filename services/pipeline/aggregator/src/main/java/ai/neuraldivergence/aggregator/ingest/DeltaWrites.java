package ai.neuraldivergence.aggregator.ingest;

import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The writer side of the consumer loop: one thread writes deltas while the consumer thread reads and aggregates the
 * next one, one delta in flight at a time. Only the consumer thread hands deltas over and takes their outcomes.
 */
final class DeltaWrites {

    /** A delta being written on the writer thread, and the heap it holds until then. */
    record InFlight(PendingDelta delta, long bytes, Future<FlushWriter.Outcome> outcome, Instant handedAt) {
    }

    private final FlushWriter writer;
    private final EventPublisher events;
    private final ReferenceSeals seals;
    private final ConsumerMetrics metrics;
    // the writer thread itself too: a stalled consumer is usually waiting for it, and its stack says on what
    private volatile Thread writerThread;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "delta-writer");
        t.setDaemon(true);
        writerThread = t;
        return t;
    });
    // written by the consumer thread, read by the watchdog's
    private volatile InFlight inFlight;

    DeltaWrites(FlushWriter writer, EventPublisher events, ReferenceSeals seals, ConsumerMetrics metrics) {
        this.writer = writer;
        this.events = events;
        this.seals = seals;
        this.metrics = metrics;
    }

    /** Starts writing {@code delta}, which holds {@code bytes} of heap until it is written. */
    void hand(PendingDelta delta, long bytes) {
        inFlight = new InFlight(delta, bytes, thread.submit(() -> commit(delta)), Instant.now());
    }

    /** Whether no delta is in flight. */
    boolean idle() {
        return inFlight == null;
    }

    /** Whether the delta in flight, if any, is written (or failed). */
    boolean done() {
        return inFlight != null && inFlight.outcome().isDone();
    }

    /**
     * How long the delta in flight has been written, while it is: the consumer goes on polling meanwhile, so a write
     * that never ends (a database read that never returns) shows here and nowhere else.
     */
    java.util.Optional<java.time.Duration> writingFor() {
        InFlight flight = inFlight;
        return flight == null || flight.outcome().isDone() ? java.util.Optional.empty()
                : java.util.Optional.of(java.time.Duration.between(flight.handedAt(), Instant.now()));
    }

    /** The heap the delta in flight holds. */
    long bytes() {
        return inFlight == null ? 0 : inFlight.bytes();
    }

    /** The delta in flight, if any, no longer tracked here: the caller acts on its outcome. */
    InFlight take() {
        InFlight flight = inFlight;
        inFlight = null;
        return flight;
    }

    /** Waits for a write in flight to end, whatever its outcome: before the consumer is closed or sought. */
    void abandon() {
        InFlight flight = take();
        if (flight != null) {
            try {
                flight.outcome().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                // its delta is re-read from the stored offsets with everything else
            }
        }
    }

    /**
     * Writes a delta and its dead letters in one transaction, and counts what it committed. Throws when the write
     * fails (nothing is committed then).
     */
    FlushWriter.Outcome commit(PendingDelta delta) {
        long observationCount = delta.accumulator.pendingObservations();
        long updates = delta.accumulator.pendingUpdates();
        long late = delta.accumulator.takeLateObservations();
        long refusedProjections = delta.accumulator.takeRefusedProjections();
        WindowAccumulator.Drained drained = delta.accumulator.drain();
        FlushWriter.Outcome outcome = metrics.flushTimer().record(() -> writer.flush(drained, delta.ranges(),
                () -> events.deadLetter(delta.deadLetters())));
        if (outcome instanceof FlushWriter.Outcome.Committed committed) {
            metrics.committed(observationCount, updates, late, refusedProjections, delta, committed);
            events.windowsCommitted(committed.windows(), Instant.now());
            committed.sealed().forEach(seals::sealed);
        } else if (outcome instanceof FlushWriter.Outcome.Fenced) {
            metrics.fenced();
        }
        return outcome;
    }

    /** The writer thread, once one has started. */
    java.util.Optional<Thread> writerThread() {
        return java.util.Optional.ofNullable(writerThread);
    }

    void shutdown() {
        thread.shutdown();
    }
}
