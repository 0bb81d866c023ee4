package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.SlicedRows;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decoded deltas by id, shared by every cached selection: a delta holds a tap minute's observations for all their
 * slices, and each slice's update announces it, so that without this every cached slice of the tap would fetch and
 * decode the same bytes. Bounded in bytes (least recently used first). Whether a delta is folded is never cached:
 * it is asked of the store at every use. Thread-safe.
 */
public final class DeltaRowsCache {

    private final long maxBytes;
    private final Map<Long, SlicedRows> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;

    public DeltaRowsCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The rows of a delta fetched before, or null. */
    public synchronized SlicedRows get(long id) {
        return entries.get(id);
    }

    public synchronized boolean contains(long id) {
        return entries.containsKey(id);
    }

    /** Keeps a delta's rows (a delta larger than the whole budget is not kept). */
    public synchronized void put(long id, SlicedRows rows) {
        long size = rows.encodedBytes();
        if (size > maxBytes || entries.containsKey(id)) {
            return;
        }
        entries.put(id, rows);
        bytes += size;
        Iterator<SlicedRows> eldest = entries.values().iterator();
        while (bytes > maxBytes && eldest.hasNext()) {
            bytes -= eldest.next().encodedBytes();
            eldest.remove();
        }
    }

    public synchronized long bytes() {
        return bytes;
    }
}
