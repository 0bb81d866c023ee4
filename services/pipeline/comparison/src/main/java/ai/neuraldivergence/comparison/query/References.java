package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.query.ReferenceQueries;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.ReferenceStore.StoredReference;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/** Named references: listed, frozen from a time range, sealed when tagged, deleted. Writes are logged with who. */
public final class References {

    private static final Logger LOG = Logger.getLogger(References.class);

    /** A reference and the taps of its version (the layout it was built with). */
    public record Described(StoredReference reference, List<TapDescriptor> taps) {
    }

    private final Selections selections;
    private final ReferenceStore references;
    private final SealStore seals;
    private final CatalogStore catalog;
    private final ReferenceStore.BeforeDelete tombstones;
    /**
     * Freezes running at once. A freeze holds a pooled connection for its write while its reads take another: as
     * many freezes as the pool has connections (16) would each hold one and wait for a second, and every other call
     * with them, until the pool's acquisition timed out.
     */
    private final java.util.concurrent.Semaphore freezing = new java.util.concurrent.Semaphore(CONCURRENT_FREEZES);

    /** Freezes that may run at once: four of the pool's connections at the most. */
    public static final int CONCURRENT_FREEZES = 2;

    /**
     * @param tombstones publishes the seal topic's tombstones of references being deleted (while they are locked),
     *     so that inference takes tagged requests for the name again
     */
    public References(Selections selections, ReferenceStore references, SealStore seals, CatalogStore catalog,
            ReferenceStore.BeforeDelete tombstones) {
        this.selections = selections;
        this.references = references;
        this.seals = seals;
        this.catalog = catalog;
        this.tombstones = tombstones;
    }

    /** Every reference of a model (of every model when {@code modelId} is null). */
    public List<Described> list(String modelId) {
        Map<String, List<TapDescriptor>> tapsByVersion = new LinkedHashMap<>();
        return references.list(modelId).stream().map(r -> new Described(r, tapsByVersion.computeIfAbsent(
                r.modelId() + '\u0000' + r.modelVersion(), k -> catalog.taps(r.modelId(), r.modelVersion()))))
                .toList();
    }

    /**
     * Freezes a time range into a named reference: per tap, the merged distributions of the range. With a source
     * slice, the reference holds that slice's observations as its whole population (its "all" slice); without one,
     * it keeps every slice the range holds, so that later comparisons can narrow it like live traffic.
     *
     * @param by the caller's token name, for the log (never the token)
     */
    public Described freeze(ReferenceQueries.Freeze query, Cancellation cancellation, String by) {
        if (!freezing.tryAcquire()) {
            throw new ResourceExhaustedException(CONCURRENT_FREEZES + " references are being frozen already: retry "
                    + "once one is done");
        }
        try {
            return frozen(query, cancellation, by);
        } finally {
            freezing.release();
        }
    }

    private Described frozen(ReferenceQueries.Freeze query, Cancellation cancellation, String by) {
        String modelId = query.model().modelId();
        String version = selections.version(query.model());
        Selection.Range range = query.range();
        if (!references.find(modelId, query.name()).isEmpty()) {
            throw exists(modelId, query.name());
        }
        List<TapDescriptor> taps = selections.taps(modelId, version);
        long[] observations = {0};
        // each distribution is written as it is read, in the reference's one transaction: every slice of every tap
        // of a long range held at once could exceed the heap
        boolean stored = references.createFrozen(modelId, version, query.name(), range.from(), range.to(),
                query.sourceSlice(), sink -> {
                    for (TapDescriptor tap : taps) {
                        List<Slice> slices = query.sourceSlice() != null ? List.of(Slice.ALL)
                                : selections.slicesIn(tap, range);
                        for (Slice s : slices) {
                            cancellation.check();
                            // a source slice is the reference's whole population: its slice all
                            TapDistribution d = readRange(tap, range.withSlice(query.sourceSlice() != null
                                    ? query.sourceSlice() : s));
                            if (d.observationCount() == 0) {
                                continue;
                            }
                            if (Slice.ALL.equals(s)) {
                                observations[0] = Math.max(observations[0], d.observationCount());
                            }
                            sink.put(tap.tap(), s, d);
                        }
                    }
                    if (observations[0] == 0) {
                        // thrown inside the transaction: nothing of the reference is kept
                        throw new FailedPreconditionException("the range [" + range.from() + ", " + range.to() + ")"
                                + (query.sourceSlice() == null ? "" : " in slice " + query.sourceSlice().key())
                                + " holds no observations: nothing to freeze");
                    }
                });
        if (!stored) {
            throw exists(modelId, query.name());
        }
        StoredReference created = references.find(modelId, query.name()).get(0);
        // writes change what every later comparison sees: who made them belongs in the log
        LOG.infof("reference %s of model %s created by token '%s'", query.name(), modelId, by);
        return new Described(created, taps);
    }

    private TapDistribution readRange(TapDescriptor tap, Selection.Range range) {
        // read once and written: through the cache it would only evict what live views use
        return selections.readUncached(tap, new Selections.Bound(range, List.of()));
    }

    private static AlreadyExistsException exists(String modelId, String name) {
        return new AlreadyExistsException("model '" + modelId + "' already has a reference '" + name + "'");
    }

    /**
     * Asks for a tagged reference to be sealed once each tap holds the expected observations; the aggregator seals
     * it (see {@link ReferenceStore#requestSeal}).
     *
     * @param by the caller's token name, for the log (never the token)
     */
    public Described seal(ReferenceQueries.Seal query, String by) {
        String version = selections.version(query.model());
        SealStore.SealRequest outcome = seals.requestSeal(new ReferenceStore.ReferenceId(
                query.model().modelId(), version, query.name()), query.expectedObservations());
        if (outcome instanceof SealStore.SealRequest.Refused refused) {
            throw new FailedPreconditionException("reference '" + query.name() + "' of model '"
                    + query.model().modelId() + "' version " + version + " cannot be sealed with "
                    + query.expectedObservations() + " observations: " + refused.why());
        }
        StoredReference r = ((SealStore.SealRequest.Accepted) outcome).reference();
        LOG.infof("seal of reference %s of model %s version %s at %d observations requested by token '%s'",
                query.name(), query.model().modelId(), version, query.expectedObservations(), by);
        return new Described(r, selections.taps(r.modelId(), r.modelVersion()));
    }

    /** @param by the caller's token name, for the log (never the token) */
    public void delete(ReferenceQueries.Delete query, String by) {
        String version = query.version().isEmpty() ? null : query.version();
        if (!references.delete(query.modelId(), query.name(), version, tombstones)) {
            throw new NotFoundException("model '" + query.modelId() + "' has no reference '" + query.name() + "'"
                    + (version == null ? "" : " in version " + version));
        }
        LOG.infof("reference %s of model %s%s deleted by token '%s'", query.name(), query.modelId(),
                version == null ? "" : " version " + version, by);
    }
}
