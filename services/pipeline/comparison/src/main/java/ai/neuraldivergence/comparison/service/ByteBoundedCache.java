package ai.neuraldivergence.comparison.service;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Values kept within a heap budget in bytes, the least recently used going first. Sized in bytes rather than entries
 * because what the comparison service keeps ranges from a narrow tap's few kilobytes to a wide tap's megabytes: a
 * count of entries bounds neither. A value larger than the whole budget is not kept, and evicts nothing.
 * Thread-safe.
 */
public class ByteBoundedCache<K, V> {

    private final long maxBytes;
    private final ToLongFunction<V> sizeOf;
    private final Map<K, Sized<V>> entries = new LinkedHashMap<>(64, 0.75f, true);
    private long bytes;

    /** A value with the size it was counted at: an eviction gives back exactly that. */
    private record Sized<V>(V value, long size) {
    }

    /**
     * @param sizeOf a value's size in bytes (estimated), asked once, when the value is kept. (It was asked again at
     *     eviction: a distribution whose sketch is built in place on first use grows, so evictions gave back more
     *     than was counted, and the count drifted below the heap held, past zero, after which nothing was evicted.)
     */
    public ByteBoundedCache(long maxBytes, ToLongFunction<V> sizeOf) {
        this.maxBytes = maxBytes;
        this.sizeOf = sizeOf;
    }

    /** The value kept for {@code key}, or null. */
    public synchronized V get(K key) {
        Sized<V> kept = entries.get(key);
        return kept == null ? null : kept.value();
    }

    public synchronized boolean contains(K key) {
        return entries.containsKey(key);
    }

    /** Keeps a value unless one is kept for its key already. */
    public synchronized void put(K key, V value) {
        long size = sizeOf.applyAsLong(value);
        if (size > maxBytes || entries.containsKey(key)) {
            return;
        }
        entries.put(key, new Sized<>(value, size));
        bytes += size;
        Iterator<Sized<V>> eldest = entries.values().iterator();
        while (bytes > maxBytes && eldest.hasNext()) {
            bytes -= eldest.next().size();
            eldest.remove();
        }
    }

    public synchronized long bytes() {
        return bytes;
    }
}
