package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.comparison.service.ByteBoundedCache;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.storage.ReferenceStore;
import java.time.Instant;
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

    private final ByteBoundedCache<Key, TapDistribution> entries;

    /** @param maxBytes the heap the kept distributions may hold together (estimated) */
    ReferenceCache(long maxBytes) {
        this.entries = new ByteBoundedCache<>(maxBytes, TapDistribution::heapBytes);
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
        TapDistribution kept = entries.get(key);
        if (kept != null) {
            return Optional.of(kept);
        }
        Optional<TapDistribution> found = read.get();
        found.ifPresent(d -> entries.put(key, d));
        return found;
    }

    long bytes() {
        return entries.bytes();
    }
}
