package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TopExemplars;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.DeltaPartitions;
import ai.neuraldivergence.storage.WindowDeltaStore;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.LateLabelStore;
import ai.neuraldivergence.storage.OffsetStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.StorageException;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowRollups;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import org.apache.kafka.common.TopicPartition;

/**
 * Writes one flush in one PostgreSQL transaction: the taps first seen, what arrived for each minute window appended
 * as a delta (raw values: no stored distribution is read, locked or rewritten), and each partition's next offset and
 * watermark moved from exactly where this delta started. Either all of it is committed or none of it. The minute's
 * deltas are folded into its row later, once ({@link ai.neuraldivergence.storage.Compaction}).
 *
 * <p>A delta for a minute that is final by the stored watermark (its end plus {@code finality} passed) is dropped and
 * counted: the minute has been folded for the last time.
 */
public final class FlushWriter {

    /**
     * Where a partition's delta starts (the stored next offset) and where the next one will, and the watermark it
     * moves the partition to (null: left as it is).
     */
    public record OffsetRange(long from, long to, Instant watermark) {

        public OffsetRange(long from, long to) {
            this(from, to, null);
        }
    }

    /**
     * How long after its end a minute stays open to late deltas (the allowed lateness, or the recent store's ttl
     * within which a late label joins, whichever is longer), and the topics whose partitions' watermarks make the
     * time it is measured against.
     */
    public record Finality(Duration after, Set<String> topics, Duration joinHorizon) {

        /** No watermark: nothing is ever final, and a late label joins whatever is kept (the write path alone). */
        public static final Finality NONE = new Finality(Duration.ofDays(36500), Set.of(), null);
    }

    /**
     * A committed window: its key, tap and counts, and the delta rows the commit appended to its tap minute (none for
     * a built hour or day), for the window-updated event.
     */
    public record CommittedWindow(WindowKey key, TapDescriptor tap, long observationCount, long addedCount,
            long[] deltaIds) {
    }

    /** The outcome of a flush. */
    public sealed interface Outcome {
        /**
         * Written: the minute windows (for events), every row and byte the transaction wrote, and the references
         * it sealed.
         */
        record Committed(List<CommittedWindow> windows, long rows, long bytes, long lateLabelsJoined,
                List<SealStore.Sealed> sealed, long droppedFinal, long labelsUnsliced) implements Outcome {
        }

        /** Another consumer moved a partition's offset: nothing was written, the delta is stale. */
        record Fenced(TopicPartition partition) implements Outcome {
        }

        /** A tap's stored layout differs from the one this delta was built for: nothing was written. */
        record LayoutConflict(TapDescriptor stored, TapDescriptor delta) implements Outcome {
        }

        /**
         * The delta holds observations for a reference tap sealed since they were read: nothing was written (a
         * sealed reference never changes; read again, they are dead-lettered).
         */
        record ReferenceSealed(ReferenceStore.ReferenceId reference, String tap) implements Outcome {
        }
    }

    /**
     * Runs inside the flush transaction once everything is written and before it commits (the dead letters the
     * delta's offsets move past): a failure rolls the transaction back.
     */
    public interface BeforeCommit {
        void run() throws Exception;

        BeforeCommit NOTHING = () -> { };
    }

    /** The stores a flush writes into and reads from. */
    public record Stores(CatalogStore catalog, TapWindowStore windows, WindowDeltaStore deltas,
            DeltaPartitions deltaPartitions, DeltaPartitions exemplarPartitions, OffsetStore offsets,
            ReferenceStore references, SealStore seals, LateLabelStore lateLabels, RecentObservationStore recent,
            ExemplarStore exemplars) {
    }

    private final DataSource dataSource;
    private final String consumerGroup;
    private final CatalogStore catalog;
    private final WindowDeltaStore deltas;
    private final DeltaPartitions partitions;
    private final DeltaPartitions exemplarPartitions;
    private final KnownExemplars knownExemplars = new KnownExemplars(64);
    private final Finality finality;
    private final OffsetStore offsets;
    private final ReferenceStore references;
    private final SealStore seals;
    private final LateLabelStore lateLabels;
    private final RecentObservationStore recent;
    private final ExemplarStore exemplars;
    private final ReferenceMerges referenceMerges;
    private final LateLabelJoin lateLabelJoin;
    private final CommittedWindows committedWindows;
    private final TapWindowStore windows;
    private final CalibrationSamples samples;

    /**
     * @param dataSource where the flush transaction takes its connection
     * @param sketchK the size of the reference sketches it merges
     */
    public FlushWriter(DataSource dataSource, String consumerGroup, int sketchK, Finality finality, Stores stores) {
        this(dataSource, consumerGroup, sketchK, finality, stores, null);
    }

    /** @param samples what the flush adds to the calibration samples; null: nothing */
    public FlushWriter(DataSource dataSource, String consumerGroup, int sketchK, Finality finality, Stores stores,
            CalibrationSamples samples) {
        this.samples = samples;
        this.dataSource = dataSource;
        this.consumerGroup = consumerGroup;
        this.finality = finality;
        this.catalog = stores.catalog();
        this.deltas = stores.deltas();
        this.partitions = stores.deltaPartitions();
        this.exemplarPartitions = stores.exemplarPartitions();
        this.offsets = stores.offsets();
        this.references = stores.references();
        this.seals = stores.seals();
        this.lateLabels = stores.lateLabels();
        this.recent = stores.recent();
        this.exemplars = stores.exemplars();
        this.referenceMerges = new ReferenceMerges(references, sketchK);
        this.lateLabelJoin = new LateLabelJoin(lateLabels, recent, catalog, finality.joinHorizon());
        this.committedWindows = new CommittedWindows(stores.windows());
        this.windows = stores.windows();
    }

    public Outcome flush(WindowAccumulator.Drained pending, Map<TopicPartition, OffsetRange> ranges) {
        return flush(pending, ranges, BeforeCommit.NOTHING);
    }

    /**
     * Writes the delta and moves the offsets in one transaction.
     *
     * @throws StorageException when PostgreSQL fails, and whatever {@code beforeCommit} throws: nothing is committed
     *     then, and the caller decides from the cause whether to retry or to look for the record at fault
     */
    public Outcome flush(WindowAccumulator.Drained pending, Map<TopicPartition, OffsetRange> ranges,
            BeforeCommit beforeCommit) {
        try {
            return attempt(pending, ranges, beforeCommit);
        } catch (StorageException e) {
            if (!(e.getCause() instanceof WindowDeltaStore.MissingPartitionException)) {
                throw e;
            }
            // a partition dropped or never made while this flush was written (the store's state, never the data's):
            // made now, and the flush written again
            partitions.forgetAll();
            exemplarPartitions.forgetAll();
            recent.observationPartitions().forgetAll();
            recent.inputPartitions().forgetAll();
            lateLabels.partitions().forgetAll();
            return attempt(pending, ranges, beforeCommit);
        }
    }

    private Outcome attempt(WindowAccumulator.Drained pending, Map<TopicPartition, OffsetRange> ranges,
            BeforeCommit beforeCommit) {
        // the partitions this flush writes into, made before its transaction takes a connection: made inside it,
        // each would hold the transaction's connection while taking a second one (what a late-label join adds is
        // still made inside, on demand)
        List<Instant> minutes = pending.windows().keySet().stream().map(WindowKey::windowStart).distinct().toList();
        partitions.ensureFor(minutes);
        exemplarPartitions.ensureFor(minutes);
        recent.observationPartitions().ensureFor("", pending.recent().stream()
                .map(RecentObservationStore.Recent::eventTime).toList());
        recent.inputPartitions().ensureFor("", pending.inputs().stream()
                .map(RecentObservationStore.CapturedInput::eventTime).toList());
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<ExemplarStore.Append> exemplarsWritten = new ArrayList<>();
                Map<CalibrationSampleStore.Scope, CalibrationSampleStore.Cutoffs> cutoffs = new HashMap<>();
                Outcome outcome = write(c, pending, ranges, exemplarsWritten, cutoffs);
                if (outcome instanceof Outcome.Committed) {
                    beforeCommit.run();
                    c.commit();
                    exemplarsWritten.forEach(e -> knownExemplars.committed(e.key(), e.candidates()));
                    if (samples != null) {
                        samples.committed(cutoffs);
                    }
                } else {
                    c.rollback();
                }
                return outcome;
            } catch (Exception e) {
                rollbackQuietly(c, e);
                if (e instanceof SQLException sql) {
                    throw new StorageException("flushing " + pending.windows().size() + " windows",
                            WindowDeltaStore.missingPartition(sql));
                }
                if (e instanceof RuntimeException runtime) {
                    throw runtime;
                }
                throw new IllegalStateException("before the flush commit: " + e.getMessage(), e);
            }
        } catch (SQLException e) {
            throw new StorageException("flushing " + pending.windows().size() + " windows", e);
        }
    }

    private static void rollbackQuietly(Connection c, Exception cause) {
        try {
            if (connectionLost(cause)) {
                // the connection is gone: a rollback would wait for ever on a COPY it was in (pgjdbc keeps the
                // copy's lock when the socket fails mid-copy, and a rollback waits on that lock without a timeout:
                // a full verify saw the flush thread parked there after a PostgreSQL outage). Aborting the driver's
                // connection closes its socket at once; the server rolls the transaction back
                if (c.unwrap(org.postgresql.PGConnection.class) instanceof Connection pg) {
                    pg.abort(Runnable::run);
                }
                // the pool's wrapper: it drops the connection rather than pool it again
                c.abort(Runnable::run);
            } else {
                c.rollback();
            }
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /** The hour row a minute window is built into. */
    private static WindowKey hourOf(WindowKey minute) {
        return new WindowKey(minute.modelId(), minute.modelVersion(), minute.tap(), minute.slice(), Granularity.HOUR,
                Granularity.HOUR.windowStart(minute.windowStart()), minute.block());
    }

    /** Whether {@code e} says the connection itself failed: an I/O error, or a connection-class SQLState (08). */
    static boolean connectionLost(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException) {
                return true;
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith("08")) {
                return true;
            }
        }
        return false;
    }

    private Outcome write(Connection c, WindowAccumulator.Drained pending, Map<TopicPartition, OffsetRange> ranges,
            List<ExemplarStore.Append> exemplarAppends,
            Map<CalibrationSampleStore.Scope, CalibrationSampleStore.Cutoffs> sampleCutoffs)
            throws SQLException {
        // a frozen instance must not hold locks for long (another owns its partitions by then)
        ai.neuraldivergence.storage.Transactions.bounded(c);
        // what is final is decided by the watermark stored before this flush; a compaction pass that read a later
        // one waits for this flush to commit before it builds anything (FinalityBarrier)
        ai.neuraldivergence.storage.FinalityBarrier.enterFlush(c);
        Optional<Instant> watermark = offsets.watermark(c, consumerGroup, finality.topics());
        Instant finalBefore = watermark.map(w -> Granularity.MINUTE.windowStart(w.minus(finality.after())))
                .orElse(Instant.MIN);
        // offsets first: a fenced instance learns it before doing the expensive work
        for (Map.Entry<TopicPartition, OffsetRange> e : ranges.entrySet()) {
            TopicPartition tp = e.getKey();
            if (!offsets.advance(c, consumerGroup, tp.topic(), tp.partition(), e.getValue().from(),
                    e.getValue().to(), e.getValue().watermark())) {
                return new Outcome.Fenced(tp);
            }
        }
        Set<TapDescriptor> taps = new LinkedHashSet<>(pending.declaredTaps());
        pending.windows().values().forEach(p -> taps.add(p.tap()));
        pending.references().values().forEach(p -> taps.add(p.tap()));
        for (TapDescriptor tap : taps) {
            TapDescriptor stored = catalog.register(c, tap);
            // other feature scales: another version registered the layout first, meanwhile (its records are read
            // again, with the registered scales)
            if (!stored.sameLayout(tap) || stored.blockSize() != tap.blockSize()
                    || !java.util.Arrays.equals(stored.featureScales(), tap.featureScales())) {
                return new Outcome.LayoutConflict(stored, tap);
            }
        }
        catalog.admitTagValues(c, pending.admittedTagValues());
        recent.keepInputs(c, pending.inputs());
        List<SealStore.Sealed> sealed = new ArrayList<>();
        Outcome.ReferenceSealed refused = referenceMerges.merge(c, pending, sealed);
        if (refused != null) {
            return refused;
        }
        LateLabelJoin.Joined joined = lateLabelJoin.join(c, pending);
        // one delta per tap minute, each observation once with the slices it is in (its values are one array shared
        // by every slice's window it entered)
        Map<TapMinute, SlicedRows.Builder> byMinute = new LinkedHashMap<>();
        Map<WindowKey, PendingWindow> appended = new LinkedHashMap<>();
        long droppedFinal = 0;
        // a minute whose hour is built is final too, whatever the watermark says now: it is empty while a partition
        // has none yet (one added to a live topic), and lower while a new partition's is behind. Hour rows are never
        // amended, so a delta appended to such a minute would be folded into it and never reach its hour or day
        List<WindowKey> hours = joined.windows().keySet().stream().filter(k -> !k.windowStart().isBefore(finalBefore))
                .map(FlushWriter::hourOf).distinct().toList();
        // held until this flush commits, so that no hour is built between the question and the commit
        WindowRollups.holdHours(c, hours);
        Set<WindowKey> builtHours = windows.existing(c, hours);
        for (Map.Entry<WindowKey, PendingWindow> e : joined.windows().entrySet()) {
            WindowKey k = e.getKey();
            PendingWindow window = e.getValue();
            if (k.windowStart().isBefore(finalBefore) || builtHours.contains(hourOf(k))) {
                droppedFinal++;
                continue;
            }
            TopExemplars top = window.exemplars();
            if (top != null) {
                // only what would enter the minute's top k as this instance knows it
                ExemplarStore.Key key = new ExemplarStore.Key(k.modelId(), k.modelVersion(), k.tap(),
                        k.windowStart(), k.block());
                TopExemplars entering = knownExemplars.entering(key, top);
                if (!entering.isEmpty()) {
                    exemplarAppends.add(new ExemplarStore.Append(key, entering));
                }
            }
            // block 0 of a wide tap keeps its observations' projections (a late label's rows have none)
            boolean projected = window.projections() != null;
            byMinute.computeIfAbsent(TapMinute.of(k), m -> new SlicedRows.Builder(window.neuronCount(),
                    projected ? window.tap().neuronCount() : 0))
                    .add(k.slice(), window.rows().rows(), window.projections());
            appended.put(k, window);
        }
        List<WindowDeltaStore.Append> appends = new ArrayList<>(byMinute.size());
        long bytes = 0;
        for (Map.Entry<TapMinute, SlicedRows.Builder> e : byMinute.entrySet()) {
            SlicedRows rows = e.getValue().build();
            appends.add(new WindowDeltaStore.Append(e.getKey(), rows));
            bytes += rows.encodedBytes();
        }
        partitions.ensureFor(byMinute.keySet().stream().map(TapMinute::windowStart).toList());
        exemplarPartitions.ensureFor(exemplarAppends.stream().map(e -> e.key().minute()).toList());
        long[] ids = deltas.append(c, appends);
        Map<TapMinute, Long> idOf = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            idOf.put(appends.get(i).minute(), ids[i]);
        }
        exemplars.append(c, exemplarAppends);
        if (samples != null) {
            // in this transaction: a replay after a crash inserts the same members, and they are there once
            sampleCutoffs.putAll(samples.write(c, samples.candidates(appended, pending.references())));
            // after the members: an observation and its label in one flush join a member inserted just now
            samples.joinLabels(c, joined.sampled());
        }
        List<CommittedWindow> committed = committedWindows.of(c, appended, idOf);
        return new Outcome.Committed(committed, appends.size(), bytes, joined.count(), sealed, droppedFinal,
                joined.unsliced());
    }

    /** Reads (and on first assignment creates) the stored next offset of each partition, in one transaction. */
    public Map<TopicPartition, Long> storedOffsets(Map<TopicPartition, Long> startIfAbsent) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            Map<TopicPartition, Long> out = new java.util.HashMap<>();
            for (Map.Entry<TopicPartition, Long> e : startIfAbsent.entrySet()) {
                out.put(e.getKey(), offsets.initialize(c, consumerGroup, e.getKey().topic(), e.getKey().partition(),
                        e.getValue()));
            }
            c.commit();
            return out;
        } catch (SQLException e) {
            throw new StorageException("reading stored offsets", e);
        }
    }

    /** Whether a reference's tap is sealed (committed): what reaches it is dead-lettered. */
    public boolean tapSealed(ReferenceStore.ReferenceId reference, String tap) {
        return seals.tapSealed(reference, tap);
    }

    /** The tap as stored, if it was seen before. */
    public Optional<TapDescriptor> storedTap(TapDescriptor tap) {
        return catalog.find(tap.modelId(), tap.modelVersion(), tap.tap());
    }
}
