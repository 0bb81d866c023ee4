package ai.neuraldivergence.storage;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.RawRows;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.SummedRows;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.domain.mmd.FeatureMaps;
import ai.neuraldivergence.domain.mmd.FeatureSums;
import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import javax.sql.DataSource;

/**
 * Turns deltas into rows, each row written once, as the event-time watermark passes: a minute whose end it passed
 * (complete) has its deltas folded into its one row; once final (its end plus the finality passed) it is folded once
 * more, only if late deltas came. An hour is built once from its minutes when its last minute is final and every
 * delta in it is folded; a day once from its hours likewise. No hour or day row is ever amended.
 *
 * <p>Each fold and each build is one transaction under an advisory lock on its key: any number of instances may run
 * passes at once (every aggregator does), and a second one finding the work done skips it. Connections set
 * {@code lock_timeout} and {@code idle_in_transaction_session_timeout}, so that a frozen instance holds nothing for
 * long. Plain Java; the aggregator's CompactionJob schedules it.
 */
public final class Compaction {

    /** Keys (minutes to fold, hours or days to build) considered per query. */
    private static final int BATCH = 500;
    /**
     * How far before where the previous pass's buildable hours (days) ended a routine pass looks for unbuilt ones
     * (however far the watermark jumped since); the first pass and every {@link #FULL_SCAN_EVERY}th look at
     * everything stored, for one an earlier failure or another instance left behind.
     */
    private static final Duration HOUR_LOOKBACK = Duration.ofHours(3);
    private static final Duration DAY_LOOKBACK = Duration.ofDays(2);
    private static final int FULL_SCAN_EVERY = 100;
    /**
     * The stored deltas a fold holds in memory at once: a part of a busy minute, merged before the next is read (its
     * rows decoded take about as much again). The aggregator's pending deltas are capped at 32 MiB by default, and the
     * heap should hold four times that.
     */
    static final long FOLD_BYTES = 32L << 20;
    /**
     * How long a pass waits for the flushes running when it starts: under a flush's own lock wait (10 s), so that the
     * flushes queued behind the pass are not failed by it.
     */
    static final Duration FLUSH_WAIT = Duration.ofSeconds(5);

    /** An hour or day row built, with its tap and observation count. */
    public record Built(WindowKey key, TapDescriptor tap, long observationCount) {
    }

    /** Told of what a pass does: each committed build (for the window-updated event), and each key that failed. */
    public interface Listener {
        void built(Built built);

        /** A fold or build that failed: skipped, and tried again at the next pass. */
        void failed(String what, RuntimeException cause);

        Listener NONE = new Listener() {
            @Override
            public void built(Built built) {
            }

            @Override
            public void failed(String what, RuntimeException cause) {
            }
        };
    }

    /**
     * What one pass did, and the start of the oldest hour it found final but could not build (a part not folded,
     * or a failure): null when there was none.
     */
    /** {@code deferred}: a flush ran longer than the pass waits for it, so nothing was folded or built. */
    public record Pass(int folded, int hours, int days, Instant oldestUnbuiltHour, int failed, boolean deferred) {
    }

    private final DataSource dataSource;
    private final TapWindowStore windows;
    private final WindowRollups rollups;
    private final WindowDeltaStore deltas = new WindowDeltaStore();
    private final ExemplarStore exemplars;
    private final CatalogStore catalog;
    private final Duration finality;
    private final Listener listener;
    private final long foldBytes;
    private final int batch;
    private long passes;
    private final java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
    // what folds and builds write into: made on demand for a minute, hour or day that has no partition yet
    private final TimePartitions windowPartitions;
    private final TimePartitions exemplarPartitions;
    private Instant lastHoursBefore;
    private Instant lastDaysBefore;

    /**
     * @param finality how long after its end a minute stays open to late deltas
     * @param listener told of every hour and day built, and of every failure
     */
    public Compaction(DataSource dataSource, int sketchK, Duration finality, Listener listener) {
        this(dataSource, sketchK, finality, listener, FOLD_BYTES, BATCH);
    }

    /**
     * @param foldBytes the stored deltas a fold holds in memory at once (at least one delta)
     * @param batch the keys (minutes to fold, hours or days to build) listed per query
     */
    Compaction(DataSource dataSource, int sketchK, Duration finality, Listener listener, long foldBytes, int batch) {
        this.dataSource = dataSource;
        this.foldBytes = foldBytes;
        this.batch = batch;
        this.windows = new TapWindowStore(dataSource, sketchK);
        this.rollups = new WindowRollups(dataSource, windows);
        this.catalog = new CatalogStore(dataSource);
        this.exemplars = new ExemplarStore(dataSource);
        this.windowPartitions = windows.partitions();
        this.exemplarPartitions = exemplars.partitions();
        this.finality = finality;
        this.listener = listener;
    }

    /** The start of the first minute not complete at {@code watermark}: minutes before it are complete. */
    public static Instant completeBefore(Instant watermark) {
        return Granularity.MINUTE.windowStart(watermark);
    }

    /** The start of the first minute not final at {@code watermark}. */
    public Instant finalBefore(Instant watermark) {
        return Granularity.MINUTE.windowStart(watermark.minus(finality));
    }

    /** One pass at {@code watermark}: folds, then hours, then days. */
    public Pass run(Instant watermark) {
        // the flushes that decided what is final by an earlier watermark commit first, so that their deltas are
        // folded before an hour is built from their minutes; while one runs long, this pass folds and builds nothing
        // (the next one tries again; the caller counts deferred passes, and the oldest unfolded delta's age grows)
        if (!FinalityBarrier.awaitFlushes(dataSource, FLUSH_WAIT)) {
            return new Pass(0, 0, 0, null, 0, true);
        }
        boolean full = passes++ % FULL_SCAN_EVERY == 0;
        Instant finalBefore = finalBefore(watermark);
        int folded = foldAll(completeBefore(watermark), finalBefore)
                + foldExemplars(completeBefore(watermark), finalBefore);
        Instant hoursBefore = Granularity.HOUR.windowStart(finalBefore);
        Instant[] oldestUnbuilt = new Instant[1];
        int hours = buildAll(Granularity.HOUR, full || lastHoursBefore == null ? Instant.EPOCH
                : earlier(lastHoursBefore, hoursBefore).minus(HOUR_LOOKBACK), hoursBefore, oldestUnbuilt);
        lastHoursBefore = hoursBefore;
        Instant daysBefore = Granularity.DAY.windowStart(finalBefore);
        int days = buildAll(Granularity.DAY, full || lastDaysBefore == null ? Instant.EPOCH
                : earlier(lastDaysBefore, daysBefore).minus(DAY_LOOKBACK), daysBefore, new Instant[1]);
        lastDaysBefore = daysBefore;
        return new Pass(folded, hours, days, oldestUnbuilt[0], failures.getAndSet(0), false);
    }

    private static Instant earlier(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private int foldAll(Instant completeBefore, Instant finalBefore) {
        return this.<TapMinute>drain("minutes to fold", (c, after) -> deltas.toFold(c, completeBefore, finalBefore,
                after, batch),
                minute -> isolated("folding " + minute, () -> fold(minute, finalBefore)));
    }

    /** Lists a batch of keys after {@code after} (null: from the first), in the listing's order. */
    private interface Lister<K> {
        List<K> list(Connection c, K after) throws SQLException;
    }

    /**
     * Lists keys a batch at a time and runs {@code step} on each, each batch after the last key of the one before,
     * until a batch comes back short: a batch of keys that cannot be done now (held by another instance, or failing:
     * the next pass tries them again) does not hold back the ones after it.
     */
    private <K> int drain(String what, Lister<K> lister, java.util.function.Predicate<K> step) {
        int total = 0;
        K after = null;
        while (true) {
            List<K> keys;
            try (Connection c = dataSource.getConnection()) {
                keys = lister.list(c, after);
            } catch (SQLException e) {
                throw new StorageException("listing " + what, e);
            }
            for (K key : keys) {
                if (Thread.currentThread().isInterrupted()) {
                    // shutting down: the rest waits for the next start rather than failing key by key
                    return total;
                }
                if (step.test(key)) {
                    total++;
                }
            }
            if (keys.size() < batch) {
                return total;
            }
            after = keys.get(keys.size() - 1);
        }
    }

    /**
     * Folds one tap minute's unfolded deltas into its rows, one per slice they hold, marking exactly the deltas it
     * read: every slice of the minute in one transaction, since a delta holds them all. Skipped (false) when another
     * instance folded it meanwhile, or when the minute has rows and is not final yet (late deltas wait for finality,
     * so that a minute row is written at most twice). The deltas are read and merged a part at a time, at most
     * {@code foldBytes} of them in memory: a busy block-minute's deltas hold hundreds of megabytes.
     */
    boolean fold(TapMinute minute, Instant finalBefore) {
        windowPartitions.ensure(minute.windowStart(), "minute");
        return inTransaction("folding " + minute, c -> {
            deltas.lock(c, minute);
            boolean isFinal = minute.windowStart().isBefore(finalBefore);
            if (!isFinal && rollups.minuteExists(c, minute)) {
                return false;
            }
            // the map the minute's rows sum through (the layout's registered scales, as TapWindowStore.merge starts
            // them): the rows' own, or the whole tap's where block 0's rows carry projections; none where the block
            // keeps no sums, or where some deltas carry projections and others not (then no map covers them all).
            // Decided for the deltas there are now, before the first part is merged, so that every part sums alike;
            // one committed meanwhile (flushes do not take the minute's lock) waits for the next fold
            WindowDeltaStore.Unfolded found = deltas.unfolded(c, minute);
            FoldMap map = null;
            long after = 0;
            boolean folded = false;
            while (after < found.lastId()) {
                List<WindowDeltaStore.Delta> part = deltas.unfolded(c, minute, after, found.lastId(), foldBytes);
                if (part.isEmpty()) {
                    break;
                }
                if (map == null) {
                    map = FoldMap.of(c, minute, found.alikeProjected() ? part.get(0).rows().featureNeurons() : -1);
                }
                long[] ids = new long[part.size()];
                for (int i = 0; i < part.size(); i++) {
                    ids[i] = part.get(i).id();
                }
                mergePart(c, minute, part, map);
                // merged: not held while the next part is read
                part = null;
                deltas.markFolded(c, minute.windowStart(), ids);
                after = ids[ids.length - 1];
                folded = true;
            }
            return folded;
        });
    }

    /** The feature map a minute's fold sums through, with what a summed row records of it; none: {@code map} null. */
    private record FoldMap(RandomFeatureMap map, long seed, int mapNeurons, float[] scales) {

        /** The map of {@code mapNeurons} neurons for {@code minute}'s block; none when negative or not kept. */
        static FoldMap of(Connection c, TapMinute minute, int mapNeurons) throws SQLException {
            OptionalLong seed = mapNeurons < 0 ? OptionalLong.empty()
                    : LayerFeatures.seed(minute.modelId(), minute.tap(), minute.block(), mapNeurons);
            if (seed.isEmpty()) {
                return new FoldMap(null, 0, mapNeurons, null);
            }
            float[] scales = CatalogStore.registeredScales(c, minute.modelId(), minute.tap(), mapNeurons);
            return new FoldMap(FeatureMaps.of(seed.getAsLong(), mapNeurons, scales), seed.getAsLong(), mapNeurons,
                    scales);
        }
    }

    /** Merges one part of a minute's deltas into its rows, a slice at a time. */
    private void mergePart(Connection c, TapMinute minute, List<WindowDeltaStore.Delta> part, FoldMap map)
            throws SQLException {
        java.util.Map<Slice, List<float[]>> bySlice = new java.util.LinkedHashMap<>();
        for (WindowDeltaStore.Delta d : part) {
            d.rows().bySlice().forEach((slice, rows) -> bySlice.computeIfAbsent(slice,
                    k -> new ArrayList<>()).addAll(rows.rows()));
        }
        int neurons = part.get(0).rows().neuronCount();
        java.util.Map<Slice, FeatureSums> sums = map.map() == null ? null : featureSums(map.map(), part);
        for (java.util.Map.Entry<Slice, List<float[]>> e : bySlice.entrySet()) {
            RawRows rows = new RawRows(neurons, e.getValue());
            FeatureSums slice = sums == null ? null : sums.get(e.getKey());
            windows.merge(c, minute.window(e.getKey()), slice == null ? rows
                    : new SummedRows(rows, slice, map.seed(), map.mapNeurons(), map.scales()));
        }
    }

    /**
     * Each slice's layer feature sums of a minute's deltas through {@code map}: every observation projected once,
     * whatever the number of slices it is in. A slice that some delta has no sums for (a wide tap's late-label rows,
     * which came without projections) has none (a null value): its rows are then added without them.
     */
    private static java.util.Map<Slice, FeatureSums> featureSums(RandomFeatureMap map,
            List<WindowDeltaStore.Delta> found) {
        java.util.Map<Slice, FeatureSums> out = new java.util.HashMap<>();
        for (WindowDeltaStore.Delta d : found) {
            FeatureSums[] bySlice = d.rows().featureSums(map);
            for (int i = 0; i < bySlice.length; i++) {
                Slice slice = d.rows().slices().get(i);
                if (!out.containsKey(slice)) {
                    out.put(slice, bySlice[i]);
                } else if (out.get(slice) != null) {
                    if (bySlice[i] == null) {
                        out.put(slice, null);
                    } else {
                        out.get(slice).merge(bySlice[i]);
                    }
                }
            }
        }
        return out;
    }

    /** Folds the exemplar deltas of complete (and, once more, final) tap minutes into their rows. */
    private int foldExemplars(Instant completeBefore, Instant finalBefore) {
        return this.<ExemplarStore.Key>drain("exemplar minutes to fold", (c, after) -> exemplars.toFold(c,
                completeBefore, finalBefore, after, batch),
                key -> isolated("folding the exemplars of " + key, () -> {
                    exemplarPartitions.ensure(key.minute(), "");
                    return inTransaction("folding the exemplars of " + key, c -> exemplars.fold(c, key,
                            key.minute().isBefore(finalBefore)));
                }));
    }

    /**
     * Builds every window of {@code granularity} due in {@code [since, before)}, a batch at a time, paging past those
     * it cannot build yet (a minute whose fold keeps failing, a window another instance is building): a batch of
     * those must not keep every later hour from being built.
     */
    private int buildAll(Granularity granularity, Instant since, Instant before, Instant[] oldestUnbuilt) {
        int total = 0;
        WindowKey after = null;
        while (true) {
            List<WindowKey> keys;
            try (Connection c = dataSource.getConnection()) {
                keys = rollups.toBuild(c, granularity, since, before, after, batch);
            } catch (SQLException e) {
                throw new StorageException("listing " + granularity.word() + "s to build", e);
            }
            for (WindowKey key : keys) {
                if (Thread.currentThread().isInterrupted()) {
                    return total; // shutting down: the rest waits for the next start
                }
                if (isolated("building " + key, () -> build(key))) {
                    total++;
                } else if (oldestUnbuilt[0] == null || key.windowStart().isBefore(oldestUnbuilt[0])) {
                    oldestUnbuilt[0] = key.windowStart();
                }
            }
            if (keys.size() < batch) {
                return total;
            }
            after = keys.get(keys.size() - 1);
        }
    }

    /**
     * Builds one hour (day) from its minutes (hours) and inserts it; skipped (false) when it exists already or a part
     * of it is not folded or built yet.
     */
    boolean build(WindowKey key) {
        windowPartitions.ensure(key.windowStart(), key.granularity().word());
        BuildResult result = inTransaction("building " + key, c -> {
            windows.lockWindows(c, List.of(key));
            if (key.granularity() == Granularity.HOUR) {
                // after the flushes that hold it: their deltas are then committed, and the hour not ready
                WindowRollups.takeHour(c, key);
            }
            if (rollups.exists(c, key) || !rollups.readyToBuild(c, key)) {
                return BuildResult.SKIPPED;
            }
            Optional<TapDescriptor> tap = catalog.find(c, key.modelId(), key.modelVersion(), key.tap());
            if (tap.isEmpty() || key.block() >= tap.get().blockCount()) {
                return BuildResult.SKIPPED;
            }
            TapDistribution merged = rollups.mergeParts(c, key, tap.get().blockNeurons(key.block()));
            if (merged.observationCount() == 0 || !rollups.insertBuilt(c, key, merged)) {
                return BuildResult.SKIPPED;
            }
            if (tap.get().blockCount() == 1) {
                return new BuildResult(true, new Built(key, tap.get(), merged.observationCount()), null);
            }
            return new BuildResult(true, null, tap.get());
        });
        if (result.announced() != null) {
            listener.built(result.announced());
        } else if (result.inserted()) {
            // the whole tap's window is announced by the build that completes it (its count the blocks' minimum): a
            // block alone is no window of the tap. Counted once committed: two instances building two blocks at
            // once each counted inside its transaction, saw only its own block of the other's, and neither
            // announced; now the later to commit sees both (both may: an event twice says nothing new)
            try (Connection c = dataSource.getConnection()) {
                OptionalLong whole = rollups.wholeCount(c, key, result.tap().blockCount());
                if (whole.isPresent()) {
                    listener.built(new Built(key.inBlock(0), result.tap(), whole.getAsLong()));
                }
            } catch (SQLException e) {
                // the block is built and stays built: reported, not retried as a build that failed (the window's
                // readers find it; only its event is missing)
                listener.failed("announcing the whole window of " + key, new StorageException(
                        "counting the blocks of " + key, e));
            }
        }
        return result.inserted();
    }

    /**
     * Whether a build inserted its row, and the window it announces (null: none yet; for a tap in several blocks,
     * {@code tap} says the whole window is to be counted once committed).
     */
    private record BuildResult(boolean inserted, Built announced, TapDescriptor tap) {
        static final BuildResult SKIPPED = new BuildResult(false, null, null);
    }

    /**
     * Runs one fold or build; a failure (a row that cannot be decoded, a lock not granted) is logged and counted and
     * skips only that key: the rest of the pass goes on, and the key is tried again at the next pass.
     */
    private boolean isolated(String what, java.util.function.BooleanSupplier step) {
        try {
            return step.getAsBoolean();
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            listener.failed(what, e);
            // a partition retired by another instance may be the cause: asked of the database again next time
            windowPartitions.forgetAll();
            exemplarPartitions.forgetAll();
            return false;
        }
    }

    private <T> T inTransaction(String what, Transactions.Work<T> work) {
        return Transactions.run(dataSource, what, c -> {
            Transactions.bounded(c);
            return work.run(c);
        });
    }
}
