package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.comparison.service.DeltaRowsCache;
import ai.neuraldivergence.comparison.service.SelectionCache;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.RangePlan;
import ai.neuraldivergence.domain.SlicedRows;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TapMinute;
import ai.neuraldivergence.domain.query.ModelVersion;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.domain.query.TimelineQuery;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import ai.neuraldivergence.storage.WindowRollups;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Turns a selection (a reference, or a time range, in a slice) into one merged distribution per tap, from stored
 * sketches only: no raw activations are kept or needed. Time ranges are read at the coarsest granularity that tiles
 * them ({@link RangePlan}), through the selection cache when there is one; immutable references through the
 * reference cache. The one place the query services read distributions from.
 */
public final class Selections {

    private final CatalogStore catalog;
    private final TapWindowStore windows;
    private final WindowRollups rollups;
    private final WindowDeltaStore deltaStore;
    private final ReferenceStore references;
    private final int sketchK;
    private final SelectionCache cache;
    private final ReferenceCache referenceCache;
    /** Decoded deltas shared by every slice's cached selection (64 MB at most). */
    private final DeltaRowsCache deltaRows = new DeltaRowsCache(64L << 20);

    /**
     * @param cache null to read every range from the store
     * @param referenceBytes the heap immutable reference distributions may hold (0: none is kept)
     */
    /**
     * A timeline's windows as what is stored can answer them: coarser where retention dropped the finer windows
     * ({@link TimelineQuery#windows}).
     */
    public List<TimelineQuery.Window> timelineWindows(TimelineQuery query, String version) {
        String modelId = query.model().modelId();
        return query.windows(rollups.earliest(modelId, version, Granularity.MINUTE),
                rollups.earliest(modelId, version, Granularity.HOUR));
    }

    public Selections(CatalogStore catalog, TapWindowStore windows, WindowRollups rollups,
            WindowDeltaStore deltaStore, ReferenceStore references, int sketchK, SelectionCache cache,
            long referenceBytes) {
        this.catalog = catalog;
        this.windows = windows;
        this.rollups = rollups;
        this.deltaStore = deltaStore;
        this.references = references;
        this.sketchK = sketchK;
        this.cache = cache;
        this.referenceCache = new ReferenceCache(referenceBytes);
    }

    /**
     * A selection of one call, its reference (if any) looked up once: every version of the model that holds one of
     * that name, newest first.
     */
    public record Bound(Selection selection, List<ReferenceStore.StoredReference> found) {

        public Bound withSlice(Slice slice) {
            return new Bound(selection.withSlice(slice), found);
        }
    }

    /**
     * A side read for one tap. {@code cacheKey} and {@code version} identify what it was merged from while cached
     * (null for uncached reads): equal keys and versions mean equal distributions.
     */
    public record Read(TapDistribution distribution, Object cacheKey, long version) {
    }

    /** The model's version to read: the one asked for, or the newest seen when none is given. */
    public String version(ModelVersion model) {
        List<String> versions = catalog.versionNames(model.modelId());
        if (versions.isEmpty()) {
            throw new NotFoundException("model '" + model.modelId() + "' has no stored distributions");
        }
        if (model.newest()) {
            return versions.get(0);
        }
        if (!versions.contains(model.version())) {
            throw new NotFoundException("model '" + model.modelId() + "' has no version '" + model.version() + "'");
        }
        return model.version();
    }

    public TapDescriptor tap(String modelId, String version, String tap) {
        return catalog.find(modelId, version, tap).orElseThrow(() -> new NotFoundException("model '" + modelId
                + "' version '" + version + "' has no tap '" + tap + "'"));
    }

    /** The version's taps in network order. */
    public List<TapDescriptor> taps(String modelId, String version) {
        return catalog.taps(modelId, version);
    }

    /** Binds a selection to a call: a reference missing from the model fails the whole call before any read. */
    public Bound bind(String modelId, Selection selection) {
        if (selection instanceof Selection.Reference r) {
            List<ReferenceStore.StoredReference> found = references.find(modelId, r.name());
            if (found.isEmpty()) {
                throw new NotFoundException("model '" + modelId + "' has no reference '" + r.name() + "'");
            }
            return new Bound(selection, found);
        }
        return new Bound(selection, List.of());
    }

    /** The slices a range holds stored windows of, for one tap. */
    public List<Slice> slicesIn(TapDescriptor tap, Selection.Range range) {
        return windows.slicesIn(tap.modelId(), tap.modelVersion(), tap.tap(),
                Granularity.DAY.windowStart(range.from()), range.to());
    }

    /** The slices a selection holds for one tap (a range's stored slices, or a reference's). */
    public List<Slice> slicesOf(TapDescriptor tap, Bound side) {
        if (side.selection() instanceof Selection.Range r) {
            return slicesIn(tap, r);
        }
        ReferenceStore.StoredReference stored = reference(tap, side).reference();
        return references.slices(tap.modelId(), stored.modelVersion(), stored.name(), tap.tap());
    }

    /**
     * Merges a selection's stored distributions of one tap; empty (count 0) when nothing was observed there. The
     * result may be shared with a cache: read it, never modify it.
     */
    public TapDistribution read(TapDescriptor tap, Bound side) {
        return readTracked(tap, side, true).distribution();
    }

    /** {@link #read}, not through the cache: for one-off sweeps (a timeline) that would only evict its entries. */
    public TapDistribution readUncached(TapDescriptor tap, Bound side) {
        return readTracked(tap, side, false).distribution();
    }

    /** {@link #read}, saying whether (and as what) the result is cached. */
    public Read readTracked(TapDescriptor tap, Bound side, boolean cached) {
        if (side.selection() instanceof Selection.Range r) {
            return readRange(tap, r, cached);
        }
        Chosen chosen = reference(tap, side);
        ReferenceStore.StoredReference stored = chosen.reference();
        Slice slice = side.selection().slice();
        TapDistribution d = referenceCache.get(stored, tap.tap(), slice,
                () -> references.read(chosen.layout(), stored.name(), slice))
                .orElseGet(() -> new TapDistribution(tap.neuronCount(), sketchK));
        return new Read(d, null, 0);
    }

    private Read readRange(TapDescriptor tap, Selection.Range r, boolean cached) {
        List<RangePlan.Segment> plan = rollups.plan(tap, r.slice(), r.from(), r.to());
        SelectionCache.Reader reader = new RangeReader(tap, r.slice());
        if (cache == null || !cached) {
            return new Read(reader.read(plan).distribution(), null, 0);
        }
        SelectionCache.Key key = new SelectionCache.Key(tap.modelId(), tap.modelVersion(), tap.tap(),
                r.slice().key(), plan);
        // an empty start sums layer features, so that announced deltas added to it keep the layer statistic
        SelectionCache.Merged merged = cache.get(key, reader, () -> ai.neuraldivergence.domain.LayerFeatures.start(
                new TapDistribution(tap.neuronCount(), sketchK), tap, 0));
        return new Read(merged.distribution(), merged.version() < 0 ? null : key, merged.version());
    }

    /** How the selection cache reads a range's segments, and the deltas announced since. */
    private final class RangeReader implements SelectionCache.Reader {
        private final TapDescriptor tap;
        private final Slice slice;

        RangeReader(TapDescriptor tap, Slice slice) {
            this.tap = tap;
            this.slice = slice;
        }

        @Override
        public SelectionCache.Part read(List<RangePlan.Segment> segments) {
            TapWindowStore.MergedRead read = windows.readMergedTracked(tap, slice, segments, sketchK);
            return new SelectionCache.Part(read.distribution(), read.deltaIds());
        }

        @Override
        public List<SelectionCache.Added> deltas(Instant minute, Set<Long> ids) {
            if (tap.blockCount() > 1) {
                // a block's rows alone cannot move a whole tap's count (its blocks' minimum): none is added, so
                // the cache reads the newest minute again, every block in one statement
                return List.of();
            }
            // whether each is folded, always from the store; the rows from the shared cache where they are
            List<Long> unknown = ids.stream().filter(id -> !deltaRows.contains(id)).toList();
            List<SelectionCache.Added> out = new ArrayList<>();
            for (WindowDeltaStore.FetchedDelta d : deltaStore.deltas(new TapMinute(tap.modelId(), tap.modelVersion(),
                    tap.tap(), minute), ids, unknown)) {
                SlicedRows rows = d.rows() != null ? d.rows() : deltaRows.get(d.id());
                if (rows == null) {
                    continue; // dropped from the shared cache meanwhile: counted as gone, the window re-read
                }
                deltaRows.put(d.id(), rows);
                out.add(new SelectionCache.Added(d.id(), d.folded(), rows.rowsOf(slice)));
            }
            return out;
        }
    }

    /** The stored reference a tap is compared with, and the tap's layout in that reference's version. */
    private record Chosen(ReferenceStore.StoredReference reference, TapDescriptor layout) {
    }

    /**
     * The reference to compare a tap of this version with: the version's own, else the newest other version's if
     * its layout of the tap is the same.
     */
    private Chosen reference(TapDescriptor tap, Bound side) {
        String name = ((Selection.Reference) side.selection()).name();
        Optional<ReferenceStore.StoredReference> own = side.found().stream()
                .filter(r -> r.modelVersion().equals(tap.modelVersion())).findFirst();
        if (own.isPresent()) {
            return new Chosen(own.get(), tap);
        }
        ReferenceStore.StoredReference other = side.found().get(0);
        Optional<TapDescriptor> theirs = catalog.find(tap.modelId(), other.modelVersion(), tap.tap());
        if (theirs.isEmpty() || !theirs.get().sameLayout(tap)) {
            throw new FailedPreconditionException("reference '" + name + "' was built from version '"
                    + other.modelVersion() + "', whose tap '" + tap.tap() + "' " + theirs.map(t -> "has shape "
                            + Arrays.toString(t.shape()) + " and " + t.neuronCount() + " neurons").orElse("does not "
                                    + "exist") + "; version '" + tap.modelVersion() + "' has shape "
                    + Arrays.toString(tap.shape()) + " and " + tap.neuronCount() + " neurons");
        }
        return new Chosen(other, theirs.get());
    }

    /** Where the side's calibration sample of a tap lives, narrowed to its slice (null: a reference not found). */
    public LayerNulls.Scope sampleScope(TapDescriptor tap, Bound side) {
        if (side.selection() instanceof Selection.Range) {
            return LayerNulls.scopeOf(tap, side.selection(), null);
        }
        return LayerNulls.scopeOf(tap, side.selection(), reference(tap, side).reference());
    }

    /** Checks a tap can be compared with the selection's reference (its version's own, or one of the same layout). */
    public void check(TapDescriptor tap, Bound side) {
        if (side.selection() instanceof Selection.Reference) {
            reference(tap, side);
        }
    }
}
