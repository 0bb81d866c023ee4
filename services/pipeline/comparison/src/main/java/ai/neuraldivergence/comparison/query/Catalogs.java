package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What is stored: models, their versions with coverage, taps in network order, slices and references. */
public final class Catalogs {

    /** One model version: its coverage, taps, slices, and references (each with this version's taps). */
    public record VersionEntry(CatalogStore.VersionCoverage coverage, List<TapDescriptor> taps, List<Slice> slices,
            List<References.Described> references) {
    }

    private final CatalogStore catalog;
    private final ReferenceStore references;

    public Catalogs(CatalogStore catalog, ReferenceStore references) {
        this.catalog = catalog;
        this.references = references;
    }

    /** Every version of a model (of every model when {@code modelId} is null), grouped by model in stored order. */
    public List<VersionEntry> versions(String modelId) {
        Map<String, List<ReferenceStore.StoredReference>> referencesByVersion = new LinkedHashMap<>();
        for (ReferenceStore.StoredReference r : references.list(modelId)) {
            referencesByVersion.computeIfAbsent(r.modelId() + '\u0000' + r.modelVersion(), k -> new ArrayList<>())
                    .add(r);
        }
        List<VersionEntry> out = new ArrayList<>();
        for (CatalogStore.VersionCoverage v : catalog.versions(modelId)) {
            List<TapDescriptor> taps = catalog.taps(v.modelId(), v.modelVersion());
            List<Slice> slices = catalog.sliceKeys(v.modelId(), v.modelVersion()).stream().map(Slice::parse).toList();
            List<References.Described> refs = referencesByVersion.getOrDefault(
                    v.modelId() + '\u0000' + v.modelVersion(), List.of()).stream()
                    .map(r -> new References.Described(r, taps)).toList();
            out.add(new VersionEntry(v, taps, slices, refs));
        }
        return out;
    }
}
