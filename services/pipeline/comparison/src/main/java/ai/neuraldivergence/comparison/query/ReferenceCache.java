package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.storage.ReferenceStore;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Reference distributions that can no longer change, kept: a sealed tagged reference or a frozen time range. A
 * live view compares against the same reference on every redraw, and reading it is a wide row per block. A
 * reference still building is always read from the store. Entries are keyed by the reference's creation time too,
 * so that a reference deleted and created again under its name is never answered from its predecessor; a deleted
 * one is never asked for (its lookup fails first) and ages out of the least recently used order.
 */
final class ReferenceCache {

    private record Key(String modelId, String modelVersion, String name, Instant createdAt, String tap, String slice) {
    }

    private final long maxBytes;
    private final Map<Key, TapDistribution> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;

    /** @param maxBytes the heap the kept distributions may hold together (estimated) */
    ReferenceCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    static boolean immutable(ReferenceStore.StoredReference r) {
        return r.sealed() || !"tagged".equals(r.origin());
    }

    Optional<TapDistribution> get(ReferenceStore.StoredReference r, String tap, Slice slice,
            Supplier<Optional<TapDistribution>> read) {
        if (!immutable(r)) {
            return read.get();
        }
        Key key = new Key(r.modelId(), r.modelVersion(), r.name(), r.createdAt(), tap, slice.key());
        synchronized (this) {
            TapDistribution kept = entries.get(key);
            if (kept != null) {
                return Optional.of(kept);
            }
        }
        Optional<TapDistribution> found = read.get();
        found.ifPresent(d -> keep(key, d));
        return found;
    }

    private synchronized void keep(Key key, TapDistribution d) {
        long size = d.heapBytes();
        if (size > maxBytes || entries.containsKey(key)) {
            return;
        }
        entries.put(key, d);
        bytes += size;
        Iterator<TapDistribution> eldest = entries.values().iterator();
        while (bytes > maxBytes && eldest.hasNext()) {
            bytes -= eldest.next().heapBytes();
            eldest.remove();
        }
    }

    synchronized long bytes() {
        return bytes;
    }
}
