package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.StorageException;
import ai.neuraldivergence.storage.TapWindowStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.sql.DataSource;

/**
 * Rolls closed minute windows up into their hour and day, once, in transactions of at most {@code batchBytes} of
 * stored minute rows (at least one): each minute is locked (one another transaction holds is skipped) and merged
 * into its hour's and day's delta as it is read; then the hours and days, locked by key in one order, take their
 * deltas, and the minutes are marked rolled up. Rewriting an hour and a day row once per batch of minutes, rather
 * than at every flush, is what keeps roll-ups cheap; the byte budget keeps a wide tap's roll-up within the heap.
 *
 * <p>Any number may run at once (every aggregator instance runs one): they take disjoint minutes, and serialize on
 * the hours and days they share, so that neither overwrites the other's. Plain Java; {@link RollupJob} schedules it.
 */
public final class MinuteRollup {

    /** Minute rows considered per transaction; the byte budget usually takes fewer. */
    private static final int CANDIDATES = 500;
    /**
     * Minutes per roll-up transaction at most: each locks its hour and day (advisory locks, until the commit), and
     * PostgreSQL's lock table is shared and fixed in size.
     */
    static final int MAX_MINUTES_PER_BATCH = 200;

    private final DataSource dataSource;
    private final TapWindowStore windows;
    private final CatalogStore catalog;
    private final long budget;
    private final Committed announce;

    /** Told after each committed transaction: how many minutes it rolled up, and the hours and days it changed. */
    public interface Committed {
        void rolledUp(int minutes, List<FlushWriter.CommittedWindow> changed);
    }

    /**
     * @param batchBytes stored bytes of minute rows one transaction reads
     * @param announce told of each committed transaction
     */
    public MinuteRollup(DataSource dataSource, long batchBytes, Committed announce) {
        this.dataSource = dataSource;
        this.windows = new TapWindowStore(dataSource);
        this.catalog = new CatalogStore(dataSource);
        this.budget = batchBytes;
        this.announce = announce;
    }

    /** Rolls up every minute window that started before {@code closedBefore}; returns how many. */
    public long rollUp(Instant closedBefore) {
        long total = 0;
        while (true) {
            int done = rollUpBatch(closedBefore);
            total += done;
            if (done == 0) {
                return total;
            }
        }
    }

    /**
     * One transaction: the oldest closed minutes not rolled up yet, as many as fit the byte budget (at least one),
     * each locked (minutes another transaction holds are skipped) and merged into its hour's and day's delta as it
     * is read; then the hours and days, locked in one order, take their deltas, and the minutes are marked.
     *
     * @return the minutes rolled up; 0 when none was left (or every candidate was held by another transaction)
     */
    public int rollUpBatch(Instant closedBefore) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<TapWindowStore.Unrolled> candidates = windows.unrolled(c, closedBefore, CANDIDATES);
                Map<WindowKey, TapDistribution> rollups = new TreeMap<>(
                        Comparator.comparing(WindowKey::toString));
                List<WindowKey> minutes = new ArrayList<>();
                long bytes = 0;
                for (TapWindowStore.Unrolled candidate : candidates) {
                    if (!minutes.isEmpty() && (bytes + candidate.bytes() > budget
                            || minutes.size() >= MAX_MINUTES_PER_BATCH)) {
                        break;
                    }
                    Optional<TapDistribution> minute = windows.lockUnrolled(c, candidate.key());
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
                List<FlushWriter.CommittedWindow> changed = new ArrayList<>();
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
                // one event per hour and day row that changed, after the commit
                announce.rolledUp(minutes.size(), changed);
                return minutes.size();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException e) {
            throw new StorageException("rolling up minute windows", e);
        }
    }

    /** The start of the oldest minute window not rolled up yet; null when every minute is. */
    public Instant oldestUnrolledMinute() {
        return windows.oldestUnrolledMinute();
    }
}
