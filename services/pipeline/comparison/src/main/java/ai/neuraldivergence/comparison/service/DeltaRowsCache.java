package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.SlicedRows;

/**
 * Decoded deltas by id, shared by every cached selection: a delta holds a tap minute's observations for all their
 * slices, and each slice's update announces it, so that without this every cached slice of the tap would fetch and
 * decode the same bytes. Whether a delta is folded is never cached: it is asked of the store at every use.
 */
public final class DeltaRowsCache extends ByteBoundedCache<Long, SlicedRows> {

    public DeltaRowsCache(long maxBytes) {
        // counted at their heap, not their encoded bytes: a narrow tap's decoded rows hold several times more
        super(maxBytes, SlicedRows::heapBytes);
    }
}
