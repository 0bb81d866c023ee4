package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RangePlan;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Turns one side of a comparison (a reference, or a time range, in a slice) into one merged tap distribution, from
 * stored sketches only: no raw activations are kept or needed. Time ranges are read at the coarsest granularity
 * that tiles them ({@link RangePlan}).
 */
public final class SelectionReader {

    /** The longest range one query may merge; bounds the rows read and the merge work per request. */
    public static final Duration MAX_RANGE = Duration.ofDays(400);

    /** One side: a reference or a time range [from, to), narrowed to a slice. */
    public sealed interface Side permits ReferenceSide, RangeSide {
        Slice slice();
    }

    public record ReferenceSide(String reference, Slice slice) implements Side {
    }

    public record RangeSide(Instant from, Instant to, Slice slice) implements Side {

        public RangeSide {
            if (from == null || to == null) {
                throw new IllegalArgumentException("a time range needs both from and to");
            }
            if (!from.isBefore(to)) {
                throw new IllegalArgumentException("time range must have from < to, got [" + from + ", " + to + ")");
            }
            if (Duration.between(from, to).compareTo(MAX_RANGE) > 0) {
                throw new IllegalArgumentException("time range may span at most " + MAX_RANGE.toDays() + " days");
            }
        }
    }

    private final CatalogStore catalog;
    private final TapWindowStore windows;
    private final ReferenceStore references;
    private final int sketchK;
    private final SelectionCache cache;
    /** Decoded deltas shared by every slice's cached selection (64 MB at most). */
    private final DeltaRowsCache deltaRows = new DeltaRowsCache(64L << 20);

    public SelectionReader(CatalogStore catalog, TapWindowStore windows, ReferenceStore references, int sketchK,
            SelectionCache cache) {
        this.catalog = catalog;
        this.windows = windows;
        this.references = references;
        this.sketchK = sketchK;
        this.cache = cache;
    }

    /**
     * A side read for one tap. {@code cacheKey} and {@code version} identify what it was merged from while cached
     * (null for uncached reads): equal keys and versions mean equal distributions.
     */
    public record Read(TapDistribution distribution, Object cacheKey, long version) {
    }

    /** The model's version to read: the one asked for, or the newest seen when none is given. */
    public String resolveVersion(String modelId, String modelVersion) {
        if (modelId == null || modelId.isEmpty()) {
            throw new IllegalArgumentException("model_id is required");
        }
        List<CatalogStore.VersionCoverage> versions = catalog.versions(modelId);
        if (versions.isEmpty()) {
            throw new NotFoundException("model '" + modelId + "' has no stored distributions");
        }
        if (modelVersion == null || modelVersion.isEmpty()) {
            return versions.get(0).modelVersion();
        }
        return versions.stream().map(CatalogStore.VersionCoverage::modelVersion).filter(modelVersion::equals)
                .findFirst()
                .orElseThrow(() -> new NotFoundException("model '" + modelId + "' has no version '" + modelVersion
                        + "'"));
    }

    public TapDescriptor tap(String modelId, String modelVersion, String tap) {
        if (tap == null || tap.isEmpty()) {
            throw new IllegalArgumentException("tap is required");
        }
        return catalog.find(modelId, modelVersion, tap).orElseThrow(() -> new NotFoundException("model '" + modelId
                + "' version '" + modelVersion + "' has no tap '" + tap + "'"));
    }

    /** The version's taps in network order. */
    public List<TapDescriptor> taps(String modelId, String modelVersion) {
        return catalog.taps(modelId, modelVersion);
    }

    /** The slices a range holds stored windows of, for one tap. */
    public List<Slice> slicesIn(TapDescriptor tap, RangeSide range) {
        return windows.slicesIn(tap.modelId(), tap.modelVersion(), tap.tap(),
                Granularity.DAY.windowStart(range.from()), range.to());
    }

    /** The slices a side holds for one tap (a range's stored slices, or a reference's). */
    public List<Slice> slicesOf(TapDescriptor tap, Side side) {
        if (side instanceof RangeSide r) {
            return slicesIn(tap, r);
        }
        ReferenceStore.StoredReference stored = reference(tap, ((ReferenceSide) side).reference());
        return references.slices(tap.modelId(), stored.modelVersion(), stored.name(), tap.tap());
    }

    /** Resolves a side's reference (if any) before any tap is read, so that a missing one fails the whole call. */
    public void check(TapDescriptor anyTap, Side side) {
        if (side instanceof ReferenceSide r) {
            reference(anyTap, r.reference());
        }
    }

    /**
     * Merges a side's stored distributions of one tap; empty (count 0) when nothing was observed there. The result
     * may be shared with the cache: read it, never modify it.
     */
    public TapDistribution read(TapDescriptor tap, Side side) {
        return readTracked(tap, side).distribution();
    }

    /** {@link #read}, not through the cache: for one-off sweeps (a timeline) that would only evict its entries. */
    public TapDistribution readUncached(TapDescriptor tap, Side side) {
        return readTracked(tap, side, false).distribution();
    }

    /** {@link #read}, saying whether (and as what) the result is cached. */
    public Read readTracked(TapDescriptor tap, Side side) {
        return readTracked(tap, side, true);
    }

    private Read readTracked(TapDescriptor tap, Side side, boolean cached) {
        if (side instanceof RangeSide r) {
            Instant minuteFrom = Granularity.MINUTE.windowStart(r.from());
            TapWindowStore.Unbuilt unbuilt = windows.unbuilt(tap.modelId(), tap.modelVersion(), tap.tap(), r.slice(),
                    minuteFrom, r.to());
            List<RangePlan.Segment> plan = RangePlan.cover(r.from(), r.to(), unbuilt.minutes(), unbuilt.days(),
                    windows.earliest(tap.modelId(), tap.modelVersion(), Granularity.MINUTE),
                    windows.earliest(tap.modelId(), tap.modelVersion(), Granularity.HOUR));
            SelectionCache.Reader reader = new SelectionCache.Reader() {
                @Override
                public SelectionCache.Part read(List<RangePlan.Segment> segments) {
                    TapWindowStore.MergedRead read = windows.readMergedTracked(tap, r.slice(), segments, sketchK);
                    return new SelectionCache.Part(read.distribution(), read.deltaIds());
                }

                @Override
                public List<SelectionCache.Added> deltas(Instant minute, java.util.Set<Long> ids) {
                    if (tap.blockCount() > 1) {
                        // a block's rows alone cannot move a whole tap's count (its blocks' minimum): none is
                        // added, so the cache reads the newest minute again, every block in one statement
                        return List.of();
                    }
                    // whether each is folded, always from the store; the rows from the shared cache where they are
                    List<Long> unknown = ids.stream().filter(id -> !deltaRows.contains(id)).toList();
                    List<SelectionCache.Added> out = new java.util.ArrayList<>();
                    for (TapWindowStore.FetchedDelta d : windows.deltas(new TapMinute(tap.modelId(),
                            tap.modelVersion(), tap.tap(), minute), ids, unknown)) {
                        ai.neuraldivergence.domain.SlicedRows rows = d.rows() != null ? d.rows()
                                : deltaRows.get(d.id());
                        if (rows == null) {
                            continue; // dropped from the shared cache meanwhile: counted as gone, the window re-read
                        }
                        deltaRows.put(d.id(), rows);
                        out.add(new SelectionCache.Added(d.id(), d.folded(), rows.rowsOf(r.slice())));
                    }
                    return out;
                }
            };
            if (cache == null || !cached) {
                return new Read(reader.read(plan).distribution(), null, 0);
            }
            SelectionCache.Key key = new SelectionCache.Key(tap.modelId(), tap.modelVersion(), tap.tap(),
                    r.slice().key(), plan);
            SelectionCache.Merged merged = cache.get(key, reader,
                    () -> new TapDistribution(tap.neuronCount(), sketchK));
            return new Read(merged.distribution(), merged.version() < 0 ? null : key, merged.version());
        }
        ReferenceSide ref = (ReferenceSide) side;
        ReferenceStore.StoredReference stored = reference(tap, ref.reference());
        return new Read(references.read(tap.modelId(), stored.modelVersion(), stored.name(), tap.tap(), ref.slice())
                .orElseGet(() -> new TapDistribution(tap.neuronCount(), sketchK)), null, 0);
    }

    /**
     * The reference to compare a tap of this version with: the version's own, else the newest other version's if
     * its layout of the tap is the same.
     */
    ReferenceStore.StoredReference reference(TapDescriptor tap, String name) {
        List<ReferenceStore.StoredReference> found = references.find(tap.modelId(), name);
        if (found.isEmpty()) {
            throw new NotFoundException("model '" + tap.modelId() + "' has no reference '" + name + "'");
        }
        Optional<ReferenceStore.StoredReference> own = found.stream()
                .filter(r -> r.modelVersion().equals(tap.modelVersion())).findFirst();
        if (own.isPresent()) {
            return own.get();
        }
        ReferenceStore.StoredReference other = found.get(0);
        Optional<TapDescriptor> theirs = catalog.find(tap.modelId(), other.modelVersion(), tap.tap());
        if (theirs.isEmpty() || !theirs.get().sameLayout(tap)) {
            throw new FailedPreconditionException("reference '" + name + "' was built from version '"
                    + other.modelVersion() + "', whose tap '" + tap.tap() + "' " + theirs.map(t -> "has shape "
                            + Arrays.toString(t.shape()) + " and " + t.neuronCount() + " neurons").orElse("does not "
                                    + "exist") + "; version '" + tap.modelVersion() + "' has shape "
                    + Arrays.toString(tap.shape()) + " and " + tap.neuronCount() + " neurons");
        }
        return other;
    }
}
