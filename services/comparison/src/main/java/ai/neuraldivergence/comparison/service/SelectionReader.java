package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Turns "this model's tap, over this time range, in this slice" into one merged tap distribution, from stored
 * windows only: no raw activations are kept or needed.
 */
public final class SelectionReader {

    /** The longest range one query may merge; bounds the rows read and the merge work per request. */
    public static final Duration MAX_RANGE = Duration.ofDays(400);

    /** A time range [from, to) in a slice. */
    public record TimeSelection(Instant from, Instant to, Slice slice) {

        public TimeSelection {
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

    public SelectionReader(CatalogStore catalog, TapWindowStore windows) {
        this.catalog = catalog;
        this.windows = windows;
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

    /** Merges every stored minute window of the selection; empty (count 0) when nothing was observed there. */
    public TapDistribution read(TapDescriptor tap, TimeSelection selection, int sketchK) {
        TapDistribution merged = new TapDistribution(tap.neuronCount(), sketchK);
        for (TapWindowStore.StoredWindow w : windows.read(tap.modelId(), tap.modelVersion(), tap.tap(),
                selection.slice(), Granularity.MINUTE, Granularity.MINUTE.windowStart(selection.from()),
                selection.to())) {
            // a window that straddles "from" is included whole: minute windows are the finest resolution
            merged.merge(w.distribution());
        }
        return merged;
    }
}
