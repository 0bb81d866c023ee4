package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.TapWindowStore;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What each window of the whole tap holds now, as a reader sees it (its rows and its deltas, every block): counts
 * only, for the window-updated events, which speak of whole taps. A tap's count is its blocks' minimum (a block the
 * flush did not write counts as it is stored), and what the flush added the rise of that minimum.
 */
final class CommittedWindows {

    private final TapWindowStore windows;

    CommittedWindows(TapWindowStore windows) {
        this.windows = windows;
    }

    /**
     * @param appended the windows the flush appended, per block
     * @param idOf the delta row appended to each tap minute
     */
    List<FlushWriter.CommittedWindow> of(Connection c, Map<WindowKey, PendingWindow> appended,
            Map<TapMinute, Long> idOf) throws SQLException {
        Map<WindowKey, List<WindowKey>> byTap = new LinkedHashMap<>();
        Set<WindowKey> every = new LinkedHashSet<>();
        for (Map.Entry<WindowKey, PendingWindow> e : appended.entrySet()) {
            WindowKey whole = e.getKey().inBlock(0);
            byTap.computeIfAbsent(whole, k -> new ArrayList<>()).add(e.getKey());
            for (int b = 0; b < e.getValue().tap().blockCount(); b++) {
                every.add(whole.inBlock(b));
            }
        }
        Map<WindowKey, Long> counts = windows.minuteCounts(c, every);
        List<FlushWriter.CommittedWindow> committed = new ArrayList<>(byTap.size());
        for (Map.Entry<WindowKey, List<WindowKey>> e : byTap.entrySet()) {
            WindowKey whole = e.getKey();
            TapDescriptor tap = appended.get(e.getValue().get(0)).tap();
            long now = Long.MAX_VALUE;
            long before = Long.MAX_VALUE;
            for (int b = 0; b < tap.blockCount(); b++) {
                WindowKey k = whole.inBlock(b);
                PendingWindow written = appended.get(k);
                long added = written == null ? 0 : written.observationCount();
                long count = counts.getOrDefault(k, added);
                now = Math.min(now, count);
                before = Math.min(before, count - added);
            }
            long[] ids = e.getValue().stream().mapToLong(k -> idOf.get(TapMinute.of(k))).distinct().toArray();
            committed.add(new FlushWriter.CommittedWindow(whole, tap, now, Math.max(0, now - before), ids));
        }
        return committed;
    }
}
