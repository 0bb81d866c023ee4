package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.service.AlreadyExistsException;
import ai.neuraldivergence.comparison.service.NotFoundException;
import ai.neuraldivergence.comparison.service.SelectionCache;
import ai.neuraldivergence.comparison.service.SelectionReader;
import ai.neuraldivergence.comparison.service.ShapesQuery;
import ai.neuraldivergence.contract.ProtoSlices;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CatalogModel;
import ai.neuraldivergence.proto.v1.CatalogVersion;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceResponse;
import ai.neuraldivergence.proto.v1.Direction;
import ai.neuraldivergence.proto.v1.DistributionShapes;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.DistributionSummary;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.LayerOverview;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.ListReferencesResponse;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.NeuronShape;
import ai.neuraldivergence.proto.v1.Quantile;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.ReferenceOrigin;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TagValues;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.proto.v1.TapSummary;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * Every comparison query, on the wire's request and response messages, independent of the transport: the gRPC
 * service and the JSON mirror both call this. Invalid arguments raise {@link IllegalArgumentException}, missing
 * things {@link NotFoundException}; the transports turn them into status codes.
 */
public final class ComparisonApi {

    /** Checked between units of work (taps), so that a cancelled call or a passed deadline stops early. */
    public interface Cancellation {
        void check();

        Cancellation NONE = () -> { };
    }

    public static final double DEFAULT_ONSET_SHARE = 0.05;
    /** Neurons one response may carry; a larger comparison must name a tap. */
    public static final int MAX_NEURONS_PER_RESPONSE = 65_536;
    public static final int MAX_TOP_K = 4096;
    private static final Pattern REFERENCE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final CatalogStore catalog;
    private final SelectionReader reader;
    private final ReferenceStore references;
    private final int sketchK;

    // recent tap comparisons of cached selections: a live query repeated between two commits is answered at once
    private final Map<ComparisonKey, TapComparison> comparisons = new LinkedHashMap<>(16, 0.75f, true);
    private static final int MAX_COMPARISONS = 64;

    private record ComparisonKey(Object a, long versionA, Object b, long versionB, Divergence.Metric metric,
            int topK, double threshold) {
    }

    public ComparisonApi(DataSource dataSource, int sketchK, SelectionCache cache) {
        this.catalog = new CatalogStore(dataSource);
        this.references = new ReferenceStore(dataSource);
        this.reader = new SelectionReader(catalog, new TapWindowStore(dataSource), references, sketchK, cache);
        this.sketchK = sketchK;
    }

    // ------------------------------------------------------------------ catalog

    public Catalog catalog(GetCatalogRequest request) {
        String modelId = request.getModelId().isEmpty() ? null : request.getModelId();
        Map<String, List<ReferenceStore.StoredReference>> referencesByVersion = new LinkedHashMap<>();
        for (ReferenceStore.StoredReference r : references.list(modelId)) {
            referencesByVersion.computeIfAbsent(r.modelId() + '\u0000' + r.modelVersion(), k -> new ArrayList<>())
                    .add(r);
        }
        Map<String, CatalogModel.Builder> models = new LinkedHashMap<>();
        for (CatalogStore.VersionCoverage v : catalog.versions(modelId)) {
            CatalogVersion.Builder version = CatalogVersion.newBuilder()
                    .setModelVersion(v.modelVersion())
                    .setObservationCount(v.observationCount());
            List<TapDescriptor> taps = catalog.taps(v.modelId(), v.modelVersion());
            taps.forEach(t -> version.addTaps(ProtoMapping.tapInfo(t)));
            Map<String, TreeSet<String>> tagValues = new TreeMap<>();
            for (String key : catalog.sliceKeys(v.modelId(), v.modelVersion())) {
                Slice slice = Slice.parse(key);
                version.addSlices(ProtoSlices.toProto(slice));
                if (slice.kind() == Slice.Kind.TAG) {
                    tagValues.computeIfAbsent(slice.tagKey(), k -> new TreeSet<>()).add(slice.value());
                }
            }
            tagValues.forEach((k, values) -> version.addTagValues(TagValues.newBuilder().setKey(k)
                    .addAllValues(values)));
            if (v.coverageFrom() != null) {
                version.setCoverage(TimeRange.newBuilder().setFrom(ProtoMapping.timestamp(v.coverageFrom()))
                        .setTo(ProtoMapping.timestamp(v.coverageTo())));
            }
            for (ReferenceStore.StoredReference r : referencesByVersion.getOrDefault(
                    v.modelId() + '\u0000' + v.modelVersion(), List.of())) {
                version.addReferences(reference(r, taps));
            }
            models.computeIfAbsent(v.modelId(), id -> CatalogModel.newBuilder().setModelId(id)).addVersions(version);
        }
        Catalog.Builder out = Catalog.newBuilder();
        models.values().forEach(out::addModels);
        return out.build();
    }

    // ------------------------------------------------------------------ compare

    public CompareResponse compare(CompareRequest request, Cancellation cancellation) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        List<TapDescriptor> taps = request.getTap().isEmpty() ? reader.taps(request.getModelId(), version)
                : List.of(reader.tap(request.getModelId(), version, request.getTap()));
        Divergence.Metric metric = ProtoMapping.metric(request.getRankBy());
        int topK = topK(request.getTopK());
        double threshold = threshold(request.getDriftThreshold());
        int neurons = taps.stream().mapToInt(TapDescriptor::neuronCount).sum();
        if (neurons > MAX_NEURONS_PER_RESPONSE) {
            throw new IllegalArgumentException("the model's taps hold " + neurons + " neurons, more than one response "
                    + "carries (" + MAX_NEURONS_PER_RESPONSE + "): name a tap");
        }
        SelectionReader.Side a = side(request.hasA(), request.getA(), "a");
        SelectionReader.Side b = side(request.hasB(), request.getB(), "b");
        checkSides(taps, a, b);
        CompareResponse.Builder out = CompareResponse.newBuilder().setModelVersion(version);
        for (TapDescriptor tap : taps) {
            cancellation.check();
            TapComparison c = compareTap(tap, a, b, metric, topK, threshold);
            TapDivergence.Builder t = TapDivergence.newBuilder().setSummary(summary(c));
            for (int n = 0; n < c.neurons().size(); n++) {
                t.addNeurons(neuron(n, c.neurons().get(n), threshold, request.getIncludeBinEdges()));
            }
            Arrays.stream(c.topNeurons()).forEach(t::addTopNeurons);
            out.addTaps(t);
        }
        return out.build();
    }

    // ------------------------------------------------------------------ layer overview

    public LayerOverview layerOverview(LayerOverviewRequest request, Cancellation cancellation) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        List<TapDescriptor> taps = reader.taps(request.getModelId(), version);
        Divergence.Metric metric = ProtoMapping.metric(request.getMetric());
        double threshold = threshold(request.getDriftThreshold());
        double onsetShare = onsetShare(request.getOnsetShare());
        SelectionReader.Side a = side(request.hasA(), request.getA(), "a");
        SelectionReader.Side b = side(request.hasB(), request.getB(), "b");
        checkSides(taps, a, b);
        LayerOverview.Builder out = LayerOverview.newBuilder().setModelVersion(version);
        for (TapDescriptor tap : taps) {
            cancellation.check();
            TapComparison c = compareTap(tap, a, b, metric, 0, threshold);
            out.addTaps(summary(c));
            if (out.getOnsetTap().isEmpty() && c.crosses(onsetShare)) {
                out.setOnsetTap(tap.tap()).setOnsetTapIndex(tap.tapIndex());
            }
        }
        return out.build();
    }

    private TapComparison compareTap(TapDescriptor tap, SelectionReader.Side a, SelectionReader.Side b,
            Divergence.Metric metric, int topK, double threshold) {
        SelectionReader.Read ra = reader.readTracked(tap, a);
        SelectionReader.Read rb = reader.readTracked(tap, b);
        TapDistribution da = ra.distribution();
        TapDistribution db = rb.distribution();
        ComparisonKey key = ra.cacheKey() == null || rb.cacheKey() == null ? null
                : new ComparisonKey(ra.cacheKey(), ra.version(), rb.cacheKey(), rb.version(), metric, topK, threshold);
        if (key != null) {
            synchronized (comparisons) {
                TapComparison cached = comparisons.get(key);
                if (cached != null) {
                    return cached;
                }
            }
        }
        if (da.observationCount() == 0 || db.observationCount() == 0) {
            throw new ai.neuraldivergence.comparison.service.FailedPreconditionException("selection "
                    + (da.observationCount() == 0 ? "a (" + describe(a) + ")" : "b (" + describe(b) + ")")
                    + " holds no observations of tap '" + tap.tap() + "'");
        }
        TapComparison c = TapComparison.of(tap, da, db, metric, topK, threshold, Divergence.DEFAULT_BINS);
        if (key != null) {
            synchronized (comparisons) {
                comparisons.put(key, c);
                while (comparisons.size() > MAX_COMPARISONS) {
                    comparisons.remove(comparisons.keySet().iterator().next());
                }
            }
        }
        return c;
    }

    private void checkSides(List<TapDescriptor> taps, SelectionReader.Side a, SelectionReader.Side b) {
        if (taps.isEmpty()) {
            return;
        }
        for (TapDescriptor tap : taps) {
            reader.check(tap, a);
            reader.check(tap, b);
        }
    }

    private static String describe(SelectionReader.Side side) {
        if (side instanceof SelectionReader.ReferenceSide r) {
            return "reference '" + r.reference() + "', slice " + r.slice().key();
        }
        SelectionReader.RangeSide r = (SelectionReader.RangeSide) side;
        return "[" + r.from() + ", " + r.to() + "), slice " + r.slice().key();
    }

    private static TapSummary summary(TapComparison c) {
        return TapSummary.newBuilder().setTap(c.tap().tap()).setTapIndex(c.tap().tapIndex())
                .setNeuronCount(c.tap().neuronCount()).setMetric(ProtoMapping.metric(c.metric()))
                .setMean(c.mean()).setMax(c.max()).setDriftedShare(c.driftedShare()).setCountA(c.countA())
                .setCountB(c.countB()).build();
    }

    private static NeuronDivergence neuron(int n, Divergence d, double threshold, boolean binEdges) {
        NeuronDivergence.Builder out = NeuronDivergence.newBuilder().setNeuron(n).setKs(d.ks())
                .setKsErrorBound(d.ksErrorBound()).setWasserstein(d.wasserstein())
                .setWassersteinErrorBound(d.wassersteinErrorBound()).setJensenShannon(d.jensenShannon())
                .setJensenShannonErrorBound(d.jensenShannonErrorBound()).setPsi(d.psi())
                .setPsiErrorBound(d.psiErrorBound()).setMeanShift(d.meanShift())
                .setDirection(switch (d.direction()) {
                    case EXCITED -> Direction.DIRECTION_EXCITED;
                    case INHIBITED -> Direction.DIRECTION_INHIBITED;
                    case UNCHANGED -> Direction.DIRECTION_UNCHANGED;
                })
                .setCountA(d.countA()).setCountB(d.countB()).setDrifted(d.drifted(threshold));
        if (binEdges) {
            Arrays.stream(d.binEdges()).forEach(out::addBinEdges);
        }
        return out.build();
    }

    // ------------------------------------------------------------------ distribution shapes

    public DistributionShapes distributionShapes(DistributionShapesRequest request) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        TapDescriptor tap = reader.tap(request.getModelId(), version, request.getTap());
        ShapesQuery.Request query = new ShapesQuery.Request(tap, request.getNeuronsList(), request.getBins(),
                request.getRanksList().stream().mapToDouble(Double::doubleValue).toArray());
        SelectionReader.Side sideA = side(request.hasA(), request.getA(), "a");
        SelectionReader.Side sideB = request.hasB() ? side(true, request.getB(), "b") : null;
        reader.check(tap, sideA);
        if (sideB != null) {
            reader.check(tap, sideB);
        }
        TapDistribution a = reader.read(tap, sideA);
        TapDistribution b = sideB == null ? null : reader.read(tap, sideB);
        DistributionShapes.Builder out = DistributionShapes.newBuilder().setModelVersion(version)
                .setTap(ProtoMapping.tapInfo(tap));
        for (ShapesQuery.NeuronShape shape : ShapesQuery.shapes(query, a, b)) {
            NeuronShape.Builder n = NeuronShape.newBuilder().setNeuron(shape.neuron())
                    .addAllBinEdges(boxed(shape.binEdges())).setA(shapeSummary(shape.a()));
            if (shape.b() != null) {
                n.setB(shapeSummary(shape.b()));
            }
            out.addNeurons(n);
        }
        return out.build();
    }

    private static DistributionSummary shapeSummary(ShapesQuery.Side side) {
        DistributionSummary.Builder s = DistributionSummary.newBuilder().setCount(side.count())
                .setZeroCount(side.zeroCount()).setRankError(side.rankError())
                .addAllBinShares(boxed(side.binShares()));
        if (side.count() > 0) {
            s.setMin(side.min()).setMax(side.max()).setMean(side.mean()).setStddev(side.stddev());
            for (int i = 0; i < side.ranks().length; i++) {
                s.addQuantiles(Quantile.newBuilder().setRank(side.ranks()[i]).setValue(side.quantiles()[i]));
            }
        }
        return s.build();
    }

    // ------------------------------------------------------------------ references

    public ListReferencesResponse listReferences(ListReferencesRequest request) {
        ListReferencesResponse.Builder out = ListReferencesResponse.newBuilder();
        Map<String, List<TapDescriptor>> tapsByVersion = new LinkedHashMap<>();
        for (ReferenceStore.StoredReference r : references.list(request.getModelId().isEmpty() ? null
                : request.getModelId())) {
            List<TapDescriptor> taps = tapsByVersion.computeIfAbsent(r.modelId() + '\u0000' + r.modelVersion(),
                    k -> catalog.taps(r.modelId(), r.modelVersion()));
            out.addReferences(reference(r, taps));
        }
        return out.build();
    }

    /**
     * Freezes a time range into a named reference: per tap, the merged distributions of the range. With a slice,
     * the reference holds that slice's observations as its whole population (its "all" slice); without one, it
     * keeps every slice the range holds, so that later comparisons can narrow it like live traffic.
     */
    public Reference createReference(CreateReferenceRequest request, Cancellation cancellation) {
        if (!REFERENCE_NAME.matcher(request.getName()).matches()) {
            throw new IllegalArgumentException("reference name must be 1..128 characters of letters, digits, '.', "
                    + "'_' and '-', starting with a letter or digit; got '" + request.getName() + "'");
        }
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        if (!request.hasRange()) {
            throw new IllegalArgumentException("range is required");
        }
        SelectionReader.RangeSide range = new SelectionReader.RangeSide(
                ProtoMapping.instant(request.getRange().getFrom()), ProtoMapping.instant(request.getRange().getTo()),
                Slice.ALL);
        Slice sourceSlice = request.hasSlice() ? ProtoSlices.fromProto(request.getSlice()) : null;
        if (!references.find(request.getModelId(), request.getName()).isEmpty()) {
            throw new AlreadyExistsException("model '" + request.getModelId() + "' already has a reference '"
                    + request.getName() + "'");
        }
        List<TapDescriptor> taps = reader.taps(request.getModelId(), version);
        Map<String, Map<Slice, TapDistribution>> frozen = new LinkedHashMap<>();
        long observations = 0;
        for (TapDescriptor tap : taps) {
            cancellation.check();
            Map<Slice, TapDistribution> slices = new LinkedHashMap<>();
            if (sourceSlice != null) {
                slices.put(Slice.ALL, reader.read(tap, new SelectionReader.RangeSide(range.from(), range.to(),
                        sourceSlice)));
            } else {
                for (Slice s : reader.slicesIn(tap, range)) {
                    slices.put(s, reader.read(tap, new SelectionReader.RangeSide(range.from(), range.to(), s)));
                }
            }
            slices.values().removeIf(d -> d.observationCount() == 0);
            TapDistribution all = slices.get(Slice.ALL);
            observations = Math.max(observations, all == null ? 0 : all.observationCount());
            if (!slices.isEmpty()) {
                frozen.put(tap.tap(), slices);
            }
        }
        if (observations == 0) {
            throw new ai.neuraldivergence.comparison.service.FailedPreconditionException("the range [" + range.from()
                    + ", " + range.to() + ")" + (sourceSlice == null ? "" : " in slice " + sourceSlice.key())
                    + " holds no observations: nothing to freeze");
        }
        if (!references.createFrozen(request.getModelId(), version, request.getName(), range.from(), range.to(),
                sourceSlice, frozen)) {
            throw new AlreadyExistsException("model '" + request.getModelId() + "' already has a reference '"
                    + request.getName() + "'");
        }
        ReferenceStore.StoredReference created = references.find(request.getModelId(), request.getName()).get(0);
        return reference(created, taps);
    }

    public DeleteReferenceResponse deleteReference(DeleteReferenceRequest request) {
        if (request.getModelId().isEmpty() || request.getName().isEmpty()) {
            throw new IllegalArgumentException("model_id and name are required");
        }
        if (!references.delete(request.getModelId(), request.getName())) {
            throw new NotFoundException("model '" + request.getModelId() + "' has no reference '" + request.getName()
                    + "'");
        }
        return DeleteReferenceResponse.newBuilder().setDeleted(true).build();
    }

    private static Reference reference(ReferenceStore.StoredReference r, List<TapDescriptor> taps) {
        Reference.Builder out = Reference.newBuilder().setName(r.name()).setModelId(r.modelId())
                .setModelVersion(r.modelVersion())
                .setOrigin("tagged".equals(r.origin()) ? ReferenceOrigin.REFERENCE_ORIGIN_TAGGED
                        : ReferenceOrigin.REFERENCE_ORIGIN_TIME_RANGE)
                .setObservationCount(r.observationCount()).setCreatedAt(ProtoMapping.timestamp(r.createdAt()));
        taps.forEach(t -> out.addTaps(ProtoMapping.tapInfo(t)));
        if (r.sourceFrom() != null) {
            out.setSourceRange(TimeRange.newBuilder().setFrom(ProtoMapping.timestamp(r.sourceFrom()))
                    .setTo(ProtoMapping.timestamp(r.sourceTo())));
        }
        if (r.sourceSlice() != null) {
            out.setSourceSlice(ProtoSlices.toProto(Slice.parse(r.sourceSlice())));
        }
        return out.build();
    }

    // ------------------------------------------------------------------ arguments

    private static SelectionReader.Side side(boolean present, Selection s, String name) {
        if (!present) {
            throw new IllegalArgumentException("selection " + name + " is required");
        }
        return ProtoMapping.side(s, name);
    }

    static int topK(int topK) {
        if (topK == 0) {
            return TapComparison.DEFAULT_TOP_K;
        }
        if (topK < 0 || topK > MAX_TOP_K) {
            throw new IllegalArgumentException("top_k must be 1.." + MAX_TOP_K + " (0 for the default "
                    + TapComparison.DEFAULT_TOP_K + "), got " + topK);
        }
        return topK;
    }

    static double threshold(double threshold) {
        if (threshold == 0) {
            return TapComparison.DEFAULT_THRESHOLD;
        }
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("drift_threshold must lie in (0, 1) (0 for the default "
                    + TapComparison.DEFAULT_THRESHOLD + "), got " + threshold);
        }
        return threshold;
    }

    static double onsetShare(double share) {
        if (share == 0) {
            return DEFAULT_ONSET_SHARE;
        }
        if (!(share > 0 && share < 1)) {
            throw new IllegalArgumentException("onset_share must lie in (0, 1) (0 for the default "
                    + DEFAULT_ONSET_SHARE + "), got " + share);
        }
        return share;
    }

    private static List<Double> boxed(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
