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
import ai.neuraldivergence.proto.v1.ClassMatrix;
import ai.neuraldivergence.proto.v1.ClassMatrixCell;
import ai.neuraldivergence.proto.v1.ClassMatrixRequest;
import ai.neuraldivergence.proto.v1.DriftTimeline;
import ai.neuraldivergence.proto.v1.DriftTimelineRequest;
import ai.neuraldivergence.proto.v1.TimelinePoint;
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
import ai.neuraldivergence.proto.v1.ReferenceState;
import ai.neuraldivergence.proto.v1.SealReferenceRequest;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TagValues;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.proto.v1.TapSummary;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.domain.Placement;
import ai.neuraldivergence.proto.v1.Exemplar;
import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.InspectPairRequest;
import ai.neuraldivergence.proto.v1.InstanceInspection;
import ai.neuraldivergence.proto.v1.InstanceSummary;
import ai.neuraldivergence.proto.v1.NeuronExemplars;
import ai.neuraldivergence.proto.v1.NeuronExemplarsRequest;
import ai.neuraldivergence.proto.v1.NeuronPlacement;
import ai.neuraldivergence.proto.v1.NeuronShift;
import ai.neuraldivergence.proto.v1.PairInspection;
import ai.neuraldivergence.proto.v1.PairTapShift;
import ai.neuraldivergence.proto.v1.TapPlacement;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.RecentObservationStore;
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
import org.jboss.logging.Logger;

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
    /** Classes one class matrix compares (a million cells): ImageNet's thousand fit. */
    public static final int MAX_MATRIX_CLASSES = 1000;
    private static final Logger LOG = Logger.getLogger(ComparisonApi.class);
    /** The most observations a seal may wait for per tap. */
    public static final long MAX_EXPECTED_OBSERVATIONS = 1_000_000_000L;
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

    private final RecentObservationStore recent;
    private final ExemplarStore exemplars;

    private final java.util.function.Supplier<ai.neuraldivergence.comparison.service.Monitors> monitors;
    private final ReferenceStore.BeforeDelete tombstones;

    public ComparisonApi(DataSource dataSource, int sketchK, SelectionCache cache) {
        this(dataSource, sketchK, cache, () -> null, deleted -> { });
    }

    /**
     * @param tombstones publishes the seal topic's tombstones of references being deleted (while they are locked),
     *     so that inference takes tagged requests for the name again
     */
    public ComparisonApi(DataSource dataSource, int sketchK, SelectionCache cache,
            java.util.function.Supplier<ai.neuraldivergence.comparison.service.Monitors> monitors,
            ReferenceStore.BeforeDelete tombstones) {
        this.monitors = monitors;
        this.tombstones = tombstones;
        this.recent = new RecentObservationStore(dataSource);
        this.exemplars = new ExemplarStore(dataSource);
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
        // counts are of the finite values; the rest is reported per side, and only where there is some
        if (d.nonFiniteA().total() > 0) {
            out.setNonFiniteA(ProtoMapping.nonFinite(d.nonFiniteA()));
        }
        if (d.nonFiniteB().total() > 0) {
            out.setNonFiniteB(ProtoMapping.nonFinite(d.nonFiniteB()));
        }
        if (binEdges) {
            Arrays.stream(d.binEdges()).forEach(out::addBinEdges);
        }
        return out.build();
    }

    // ------------------------------------------------------------------ class matrix

    /**
     * Every pair of classes (predicted or true label) of one tap in one source, compared: each cell holds the
     * metric's mean over the tap's neurons and the share of drifted neurons. The metrics are symmetric, so each pair
     * is computed once and mirrored; classes without observations are left out.
     */
    public ClassMatrix classMatrix(ClassMatrixRequest request, Cancellation cancellation) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        TapDescriptor tap = reader.tap(request.getModelId(), version, request.getTap());
        Divergence.Metric metric = ProtoMapping.metric(request.getMetric());
        double threshold = threshold(request.getDriftThreshold());
        Slice.Kind kind = switch (request.getClassBy()) {
            case CLASS_BY_UNSPECIFIED, CLASS_BY_PREDICTED -> Slice.Kind.PREDICTED_CLASS;
            case CLASS_BY_TRUE_LABEL -> Slice.Kind.TRUE_LABEL;
            default -> throw new IllegalArgumentException("unknown class_by");
        };
        SelectionReader.Side source = switch (request.getSourceCase()) {
            case REFERENCE -> ProtoMapping.side(Selection.newBuilder().setReference(request.getReference()).build(),
                    "source");
            case TIME_RANGE -> ProtoMapping.side(Selection.newBuilder().setTimeRange(request.getTimeRange()).build(),
                    "source");
            default -> throw new IllegalArgumentException("a reference or a time_range is required");
        };
        reader.check(tap, source);
        List<Slice> classSlices = reader.slicesOf(tap, source).stream().filter(s -> s.kind() == kind).toList();
        // counted before any is read: the matrix grows with the square of its classes
        if (classSlices.size() > MAX_MATRIX_CLASSES) {
            throw new ai.neuraldivergence.comparison.service.FailedPreconditionException("the source holds "
                    + classSlices.size() + " classes of tap '" + tap.tap() + "', more than a class matrix carries ("
                    + MAX_MATRIX_CLASSES + ")");
        }
        List<Integer> classes = new ArrayList<>();
        List<TapDistribution> distributions = new ArrayList<>();
        for (Slice s : classSlices) {
            TapDistribution d = reader.read(tap, withSlice(source, s));
            if (d.observationCount() > 0) {
                classes.add(Integer.parseInt(s.value()));
                distributions.add(d);
            }
        }
        ClassMatrix.Builder out = ClassMatrix.newBuilder().addAllClasses(classes);
        ClassMatrixCell[][] cells = new ClassMatrixCell[classes.size()][classes.size()];
        for (int i = 0; i < classes.size(); i++) {
            long n = distributions.get(i).observationCount();
            cells[i][i] = ClassMatrixCell.newBuilder().setClassA(classes.get(i)).setClassB(classes.get(i))
                    .setCountA(n).setCountB(n).build();
            for (int j = i + 1; j < classes.size(); j++) {
                cancellation.check();
                TapComparison c = TapComparison.of(tap, distributions.get(i), distributions.get(j), metric, 0,
                        threshold, Divergence.DEFAULT_BINS);
                ClassMatrixCell cell = ClassMatrixCell.newBuilder().setClassA(classes.get(i))
                        .setClassB(classes.get(j)).setValue(c.mean()).setDriftedShare(c.driftedShare())
                        .setCountA(c.countA()).setCountB(c.countB()).build();
                cells[i][j] = cell;
                cells[j][i] = cell.toBuilder().setClassA(classes.get(j)).setClassB(classes.get(i))
                        .setCountA(c.countB()).setCountB(c.countA()).build();
            }
        }
        for (ClassMatrixCell[] row : cells) {
            out.addAllCells(Arrays.asList(row));
        }
        return out.build();
    }

    private static SelectionReader.Side withSlice(SelectionReader.Side side, Slice slice) {
        if (side instanceof SelectionReader.RangeSide r) {
            return new SelectionReader.RangeSide(r.from(), r.to(), slice);
        }
        return new SelectionReader.ReferenceSide(((SelectionReader.ReferenceSide) side).reference(), slice);
    }

    // ------------------------------------------------------------------ drift timeline

    /** Points a timeline may hold; a longer one must ask for a coarser granularity. */
    public static final int MAX_TIMELINE_POINTS = 1500;

    /**
     * Each window of a range against a reference, per tap: the drifted share and the onset tap per window. The
     * granularity, unless given, is the finest that keeps the timeline within a few hundred points: minutes up to
     * 6 hours, hours up to 21 days, days beyond. Windows without observations are left out.
     */
    public DriftTimeline driftTimeline(DriftTimelineRequest request, Cancellation cancellation) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        List<TapDescriptor> taps = new ArrayList<>();
        if (request.getTapsCount() == 0) {
            taps.addAll(reader.taps(request.getModelId(), version));
        } else {
            for (String t : request.getTapsList()) {
                taps.add(reader.tap(request.getModelId(), version, t));
            }
        }
        if (!request.hasRange()) {
            throw new IllegalArgumentException("range is required");
        }
        if (request.getReference().isEmpty()) {
            throw new IllegalArgumentException("reference is required");
        }
        Slice slice = request.hasSlice() ? ProtoSlices.fromProto(request.getSlice()) : Slice.ALL;
        SelectionReader.RangeSide range;
        try {
            range = new SelectionReader.RangeSide(ProtoMapping.instant(request.getRange().getFrom()),
                    ProtoMapping.instant(request.getRange().getTo()), slice);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("range: " + e.getMessage());
        }
        Divergence.Metric metric = ProtoMapping.metric(request.getMetric());
        double threshold = threshold(request.getDriftThreshold());
        double onsetShare = onsetShare(request.getOnsetShare());
        ai.neuraldivergence.domain.Granularity g = timelineGranularity(request.getGranularity(), range);
        long points = java.time.Duration.between(g.windowStart(range.from()), range.to()).toSeconds()
                / g.length().toSeconds() + 1;
        if (points > MAX_TIMELINE_POINTS) {
            throw new IllegalArgumentException("the range holds " + points + " windows of a " + g.word() + ", more than "
                    + MAX_TIMELINE_POINTS + ": ask for a coarser granularity or a shorter range");
        }
        SelectionReader.ReferenceSide reference = new SelectionReader.ReferenceSide(request.getReference(), slice);
        Map<String, TapDistribution> referenceByTap = new LinkedHashMap<>();
        for (TapDescriptor tap : taps) {
            TapDistribution d = reader.read(tap, reference);
            if (d.observationCount() == 0) {
                throw new ai.neuraldivergence.comparison.service.FailedPreconditionException("reference '"
                        + request.getReference() + "' holds no observations of tap '" + tap.tap() + "' in slice "
                        + slice.key());
            }
            referenceByTap.put(tap.tap(), d);
        }
        DriftTimeline.Builder out = DriftTimeline.newBuilder();
        for (java.time.Instant t = g.windowStart(range.from()); t.isBefore(range.to()); t = t.plus(g.length())) {
            cancellation.check();
            SelectionReader.RangeSide window = new SelectionReader.RangeSide(t, t.plus(g.length()), slice);
            TimelinePoint.Builder point = TimelinePoint.newBuilder().setWindow(ai.neuraldivergence.proto.v1.Window
                    .newBuilder().setGranularity(ProtoMapping.granularity(g)).setStart(ProtoMapping.timestamp(t))
                    .setEnd(ProtoMapping.timestamp(t.plus(g.length()))));
            for (TapDescriptor tap : taps) {
                TapDistribution d = reader.readUncached(tap, window);
                if (d.observationCount() == 0) {
                    continue;
                }
                TapComparison c = TapComparison.of(tap, referenceByTap.get(tap.tap()), d, metric, 0, threshold,
                        Divergence.DEFAULT_BINS);
                point.addTaps(summary(c));
                if (point.getOnsetTap().isEmpty() && c.crosses(onsetShare)) {
                    point.setOnsetTap(tap.tap());
                }
            }
            if (point.getTapsCount() > 0) {
                out.addPoints(point);
            }
        }
        return out.build();
    }

    static ai.neuraldivergence.domain.Granularity timelineGranularity(
            ai.neuraldivergence.proto.v1.Granularity asked, SelectionReader.RangeSide range) {
        return switch (asked) {
            case GRANULARITY_MINUTE -> ai.neuraldivergence.domain.Granularity.MINUTE;
            case GRANULARITY_HOUR -> ai.neuraldivergence.domain.Granularity.HOUR;
            case GRANULARITY_DAY -> ai.neuraldivergence.domain.Granularity.DAY;
            case GRANULARITY_UNSPECIFIED -> {
                java.time.Duration span = java.time.Duration.between(range.from(), range.to());
                yield span.compareTo(java.time.Duration.ofHours(6)) <= 0 ? ai.neuraldivergence.domain.Granularity.MINUTE
                        : span.compareTo(java.time.Duration.ofDays(21)) <= 0
                                ? ai.neuraldivergence.domain.Granularity.HOUR
                                : ai.neuraldivergence.domain.Granularity.DAY;
            }
            default -> throw new IllegalArgumentException("unknown granularity");
        };
    }

    // ------------------------------------------------------------------ monitors

    public ai.neuraldivergence.proto.v1.ListMonitorsResponse listMonitors(
            ai.neuraldivergence.proto.v1.ListMonitorsRequest request) {
        var out = ai.neuraldivergence.proto.v1.ListMonitorsResponse.newBuilder();
        var m = monitors.get();
        if (m != null) {
            for (var status : m.statuses()) {
                if (request.getModelId().isEmpty() || request.getModelId().equals(status.definition().modelId())) {
                    out.addMonitors(ProtoMapping.monitor(status));
                }
            }
        }
        return out.build();
    }

    // ------------------------------------------------------------------ instances

    public static final int DEFAULT_PAIR_TOP_K = 10;

    /**
     * Places one observation (a recent prediction by its instance id, or activations given inline) in a selection's
     * distributions: each neuron's percentile and each tap's anomaly score ({@link Placement}).
     */
    public InstanceInspection inspectInstance(InspectInstanceRequest request, Cancellation cancellation) {
        if (request.getModelId().isEmpty()) {
            throw new IllegalArgumentException("model_id is required");
        }
        Map<String, float[]> activations = new LinkedHashMap<>();
        Map<String, List<Integer>> missingBlocks = new java.util.HashMap<>();
        String version;
        String instanceId = "";
        switch (request.getSubjectCase()) {
            case INSTANCE_ID -> {
                instanceId = request.getInstanceId();
                List<RecentObservationStore.Recent> kept = recent.find(request.getModelId(), instanceId);
                version = kept.isEmpty() ? request.getModelVersion() : request.getModelVersion().isEmpty()
                        ? kept.get(kept.size() - 1).modelVersion() : request.getModelVersion();
                String chosen = version;
                List<RecentObservationStore.Recent> ofVersion = kept.stream()
                        .filter(r -> r.modelVersion().equals(chosen)).toList();
                for (RecentObservationStore.Assembled a : assembled(request.getModelId(), chosen, ofVersion)) {
                    activations.put(a.tap().tap(), a.tap().activations());
                    missingBlocks.put(a.tap().tap(), a.missingBlocks());
                }
                if (activations.isEmpty()) {
                    throw new NotFoundException("instance '" + instanceId + "' of model '" + request.getModelId()
                            + "' is not in the recent-observation store (never captured, or evicted after its TTL)");
                }
                version = reader.resolveVersion(request.getModelId(), version);
            }
            case INLINE -> {
                version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
                for (var t : request.getInline().getTapsList()) {
                    float[] values = new float[t.getActivationsCount()];
                    for (int i = 0; i < values.length; i++) {
                        values[i] = t.getActivations(i);
                    }
                    activations.put(t.getTap(), values);
                }
                if (activations.isEmpty()) {
                    throw new IllegalArgumentException("inline needs the activations of at least one tap");
                }
            }
            default -> throw new IllegalArgumentException("an instance_id or inline activations are required");
        }
        SelectionReader.Side against = side(request.hasAgainst(), request.getAgainst(), "against");
        List<String> wanted = request.getTapsList();
        InstanceInspection.Builder out = InstanceInspection.newBuilder().setInstanceId(instanceId);
        double total = 0;
        for (TapDescriptor tap : reader.taps(request.getModelId(), version)) {
            float[] values = activations.get(tap.tap());
            if (values == null || !wanted.isEmpty() && !wanted.contains(tap.tap())) {
                continue;
            }
            if (values.length != tap.neuronCount()) {
                throw new IllegalArgumentException("tap '" + tap.tap() + "' has " + tap.neuronCount()
                        + " neurons, got " + values.length + " activations");
            }
            cancellation.check();
            TapPlacement placement = place(tap, values, missingBlocks.getOrDefault(tap.tap(), List.of()),
                    reader.read(tap, against), against);
            out.addTaps(placement);
            total += placement.getAnomalyScore();
        }
        for (String t : activations.keySet()) {
            if (reader.taps(request.getModelId(), version).stream().noneMatch(d -> d.tap().equals(t))) {
                throw new NotFoundException("model '" + request.getModelId() + "' version '" + version
                        + "' has no tap '" + t + "'");
            }
        }
        if (out.getTapsCount() == 0) {
            throw new IllegalArgumentException("none of the requested taps has activations");
        }
        return out.setAnomalyScore(total / out.getTapsCount()).build();
    }

    private static TapPlacement place(TapDescriptor tap, float[] values, List<Integer> missingBlocks,
            TapDistribution d, SelectionReader.Side against) {
        if (d.observationCount() == 0) {
            throw new ai.neuraldivergence.comparison.service.FailedPreconditionException("the selection to place in ("
                    + describe(against) + ") holds no observations of tap '" + tap.tap() + "'");
        }
        TapPlacement.Builder out = TapPlacement.newBuilder().setTap(tap.tap()).setTapIndex(tap.tapIndex())
                .addAllMissingBlocks(missingBlocks).setBlockSize(tap.blockSize());
        boolean[] missing = missingNeurons(tap, missingBlocks);
        double[] percentiles = new double[values.length];
        int placed = 0;
        for (int n = 0; n < values.length; n++) {
            if (missing[n]) {
                continue;
            }
            percentiles[placed] = Placement.percentile(d.neuron(n), values[n]);
            out.addNeurons(NeuronPlacement.newBuilder().setNeuron(n).setActivation(values[n])
                    .setPercentile(percentiles[placed]));
            placed++;
        }
        return out.setAnomalyScore(Placement.anomalyScore(java.util.Arrays.copyOf(percentiles, placed),
                d.observationCount())).build();
    }

    /** The neurons of a tap's missing blocks. */
    private static boolean[] missingNeurons(TapDescriptor tap, List<Integer> missingBlocks) {
        boolean[] missing = new boolean[tap.neuronCount()];
        for (int b : missingBlocks) {
            java.util.Arrays.fill(missing, tap.blockStart(b), tap.blockStart(b) + tap.blockNeurons(b), true);
        }
        return missing;
    }

    /** Kept rows of one model version put back together tap by tap (a tap is kept one row per block). */
    private List<RecentObservationStore.Assembled> assembled(String modelId, String version,
            List<RecentObservationStore.Recent> rows) {
        if (rows.isEmpty()) {
            return List.of();
        }
        Map<String, TapDescriptor> layouts = new java.util.HashMap<>();
        for (TapDescriptor t : reader.taps(modelId, version)) {
            layouts.put(t.tap(), t);
        }
        return RecentObservationStore.assemble(rows, r -> layouts.get(r.tap()));
    }

    /**
     * A benign/attacked pair side by side, from the recent-observation store: per tap, the neurons the attack
     * excited and inhibited most (by the change of activation), with percentiles against a selection when one is
     * given, and both inputs' images when inference captured them.
     */
    public PairInspection inspectPair(InspectPairRequest request, Cancellation cancellation) {
        if (request.getModelId().isEmpty() || request.getPairId().isEmpty()) {
            throw new IllegalArgumentException("model_id and pair_id are required");
        }
        int topK = request.getTopK() == 0 ? DEFAULT_PAIR_TOP_K : request.getTopK();
        if (topK < 1 || topK > MAX_TOP_K) {
            throw new IllegalArgumentException("top_k must be 1.." + MAX_TOP_K + ", got " + request.getTopK());
        }
        List<RecentObservationStore.Recent> rows = recent.findPair(request.getModelId(), request.getPairId());
        String version = request.getModelVersion().isEmpty()
                ? rows.isEmpty() ? "" : rows.get(rows.size() - 1).modelVersion() : request.getModelVersion();
        Map<String, RecentObservationStore.Assembled> benign = new LinkedHashMap<>();
        Map<String, RecentObservationStore.Assembled> attacked = new LinkedHashMap<>();
        String chosen = version;
        for (RecentObservationStore.Assembled a : assembled(request.getModelId(), version, rows.stream()
                .filter(r -> r.modelVersion().equals(chosen) && r.pairRole() != null).toList())) {
            (a.tap().pairRole() == ai.neuraldivergence.domain.PairRole.BENIGN ? benign : attacked)
                    .put(a.tap().tap(), a);
        }
        if (benign.isEmpty() || attacked.isEmpty()) {
            throw new NotFoundException("pair '" + request.getPairId() + "' of model '" + request.getModelId()
                    + "' is not in the recent-observation store" + (rows.isEmpty() ? ""
                            : " with both members (has only the " + (benign.isEmpty() ? "attacked" : "benign")
                                    + " one)"));
        }
        version = reader.resolveVersion(request.getModelId(), version);
        SelectionReader.Side against = request.hasAgainst() ? ProtoMapping.side(request.getAgainst(), "against")
                : null;
        PairInspection.Builder out = PairInspection.newBuilder().setPairId(request.getPairId())
                .setBenign(summary(benign.values().iterator().next().tap()))
                .setAttacked(summary(attacked.values().iterator().next().tap()));
        for (TapDescriptor tap : reader.taps(request.getModelId(), version)) {
            RecentObservationStore.Assembled b = benign.get(tap.tap());
            RecentObservationStore.Assembled a = attacked.get(tap.tap());
            if (a == null || b == null) {
                continue;
            }
            cancellation.check();
            TapDistribution d = against == null ? null : reader.read(tap, against);
            java.util.SortedSet<Integer> missingBlocks = new java.util.TreeSet<>(a.missingBlocks());
            missingBlocks.addAll(b.missingBlocks());
            boolean[] missing = missingNeurons(tap, List.copyOf(missingBlocks));
            List<Integer> order = new ArrayList<>();
            for (int n = 0; n < tap.neuronCount(); n++) {
                if (!missing[n]) {
                    order.add(n);
                }
            }
            float[] ba = b.tap().activations();
            float[] aa = a.tap().activations();
            order.sort((x, y) -> Float.compare(aa[y] - ba[y], aa[x] - ba[x]));
            PairTapShift.Builder shift = PairTapShift.newBuilder().setTap(tap.tap()).setTapIndex(tap.tapIndex())
                    .addAllMissingBlocks(missingBlocks).setBlockSize(tap.blockSize());
            for (int i = 0; i < order.size() && shift.getExcitedCount() < topK; i++) {
                int n = order.get(i);
                if (aa[n] > ba[n]) {
                    shift.addExcited(neuronShift(n, ba[n], aa[n], d));
                }
            }
            for (int i = order.size() - 1; i >= 0 && shift.getInhibitedCount() < topK; i--) {
                int n = order.get(i);
                if (aa[n] < ba[n]) {
                    shift.addInhibited(neuronShift(n, ba[n], aa[n], d));
                }
            }
            out.addTaps(shift);
        }
        return out.build();
    }

    /** The pairs still in the recent-observation store, newest first. */
    public ai.neuraldivergence.proto.v1.ListPairsResponse listPairs(ai.neuraldivergence.proto.v1.ListPairsRequest r) {
        if (r.getModelId().isEmpty()) {
            throw new IllegalArgumentException("model_id is required");
        }
        int limit = r.getLimit() == 0 ? 20 : r.getLimit();
        if (limit < 1 || limit > 1000) {
            throw new IllegalArgumentException("limit must be 1..1000, got " + r.getLimit());
        }
        var out = ai.neuraldivergence.proto.v1.ListPairsResponse.newBuilder();
        for (RecentObservationStore.KeptPair p : recent.recentPairs(r.getModelId(), limit)) {
            out.addPairs(ai.neuraldivergence.proto.v1.PairSummary.newBuilder().setPairId(p.pairId())
                    .setEventTime(ProtoMapping.timestamp(p.eventTime())).putAllTags(p.tags()));
        }
        return out.build();
    }

    private static NeuronShift neuronShift(int n, float benign, float attacked, TapDistribution d) {
        NeuronShift.Builder s = NeuronShift.newBuilder().setNeuron(n).setBenignActivation(benign)
                .setAttackedActivation(attacked);
        if (d != null && d.observationCount() > 0) {
            s.setBenignPercentile(Placement.percentile(d.neuron(n), benign))
                    .setAttackedPercentile(Placement.percentile(d.neuron(n), attacked));
        }
        return s.build();
    }

    private InstanceSummary summary(RecentObservationStore.Recent r) {
        InstanceSummary.Builder s = InstanceSummary.newBuilder().setInstanceId(r.instanceId())
                .setPredictedClass(r.predictedClass()).setConfidence(r.confidence()).putAllTags(r.tags());
        if (r.trueLabel() != null) {
            s.setTrueLabel(r.trueLabel());
        }
        recent.input(r.modelId(), r.instanceId()).ifPresent(in ->
                s.setImagePng(com.google.protobuf.ByteString.copyFrom(in.png())));
        return s.build();
    }

    /** How far back exemplars are gathered: the last hour of stored minutes. */
    public static final java.time.Duration EXEMPLAR_SPAN = java.time.Duration.ofHours(1);

    /**
     * The observations that excited one neuron most over the tap's last hour of stored minutes, highest first, with
     * what the recent-observation store still knows of them (predicted class, time, input image).
     */
    public NeuronExemplars neuronExemplars(NeuronExemplarsRequest request) {
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        TapDescriptor tap = reader.tap(request.getModelId(), version, request.getTap());
        if (request.getNeuron() < 0 || request.getNeuron() >= tap.neuronCount()) {
            throw new IllegalArgumentException("neuron " + request.getNeuron() + " does not exist: tap '" + tap.tap()
                    + "' has neurons 0.." + (tap.neuronCount() - 1));
        }
        int limit = request.getLimit() == 0 ? ai.neuraldivergence.domain.TopExemplars.DEFAULT_K : request.getLimit();
        if (limit < 1 || limit > ai.neuraldivergence.domain.TopExemplars.DEFAULT_K) {
            throw new IllegalArgumentException("limit must be 1.." + ai.neuraldivergence.domain.TopExemplars.DEFAULT_K
                    + " (the exemplars kept per neuron), got " + request.getLimit());
        }
        NeuronExemplars.Builder out = NeuronExemplars.newBuilder().setTap(tap.tap()).setNeuron(request.getNeuron());
        // only the neuron's block is read: a tap's exemplars are one row per block
        int block = request.getNeuron() / tap.blockSize();
        int inBlock = request.getNeuron() - tap.blockStart(block);
        java.util.Optional<ai.neuraldivergence.domain.TopExemplars> found = exemplars.readLatest(
                request.getModelId(), version, tap.tap(), block, EXEMPLAR_SPAN);
        if (found.isEmpty() && tap.blockCount() > 1 && exemplars.readLatest(request.getModelId(), version,
                tap.tap(), block == 0 ? 1 : 0, EXEMPLAR_SPAN).isPresent()) {
            out.setBlockMissing(true);
        }
        found.ifPresent(top -> {
            String[] ids = top.ids(inBlock);
            float[] values = top.activations(inBlock);
            for (int i = 0; i < ids.length && i < limit; i++) {
                Exemplar.Builder e = Exemplar.newBuilder().setInstanceId(ids[i]).setActivation(values[i]);
                List<RecentObservationStore.Recent> kept = recent.find(request.getModelId(), ids[i]);
                if (!kept.isEmpty()) {
                    e.setPredictedClass(kept.get(0).predictedClass())
                            .setEventTime(ProtoMapping.timestamp(kept.get(0).eventTime()));
                }
                recent.input(request.getModelId(), ids[i]).ifPresent(in ->
                        e.setImagePng(com.google.protobuf.ByteString.copyFrom(in.png())));
                out.addExemplars(e);
            }
        });
        return out.build();
    }

    // ------------------------------------------------------------------ distribution shapes

    public DistributionShapes distributionShapes(DistributionShapesRequest request) {
        ShapesQuery.requireCounts(request.getNeuronsCount(), request.getRanksCount());
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
        if (side.nonFinite().total() > 0) {
            s.setNonFinite(ProtoMapping.nonFinite(side.nonFinite()));
        }
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
     *
     * @param by the caller's token name, for the log (never the token)
     */
    public Reference createReference(CreateReferenceRequest request, Cancellation cancellation, String by) {
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
        // writes change what every later comparison sees: who made them belongs in the log
        LOG.infof("reference %s of model %s created by token '%s'", request.getName(), request.getModelId(), by);
        return reference(created, taps);
    }

    /**
     * Asks for a tagged reference to be sealed once each tap holds {@code expected_observations}; the aggregator
     * seals it (see {@link ReferenceStore#requestSeal}).
     *
     * @param by the caller's token name, for the log (never the token)
     */
    public Reference sealReference(SealReferenceRequest request, String by) {
        if (!REFERENCE_NAME.matcher(request.getName()).matches()) {
            throw new IllegalArgumentException("reference name must be 1..128 characters of letters, digits, '.', "
                    + "'_' and '-', starting with a letter or digit");
        }
        if (request.getExpectedObservations() < 1 || request.getExpectedObservations() > MAX_EXPECTED_OBSERVATIONS) {
            throw new IllegalArgumentException("expected_observations must be 1.." + MAX_EXPECTED_OBSERVATIONS
                    + ", got " + request.getExpectedObservations());
        }
        String version = reader.resolveVersion(request.getModelId(), request.getModelVersion());
        ReferenceStore.SealRequest outcome = references.requestSeal(new ReferenceStore.ReferenceId(
                request.getModelId(), version, request.getName()), request.getExpectedObservations());
        if (outcome instanceof ReferenceStore.SealRequest.Refused refused) {
            throw new ai.neuraldivergence.comparison.service.FailedPreconditionException("reference '"
                    + request.getName() + "' of model '" + request.getModelId() + "' version " + version
                    + " cannot be sealed with " + request.getExpectedObservations() + " observations: "
                    + refused.why());
        }
        ReferenceStore.StoredReference r = ((ReferenceStore.SealRequest.Accepted) outcome).reference();
        LOG.infof("seal of reference %s of model %s version %s at %d observations requested by token '%s'",
                request.getName(), request.getModelId(), version, request.getExpectedObservations(), by);
        return reference(r, reader.taps(r.modelId(), r.modelVersion()));
    }

    /** @param by the caller's token name, for the log (never the token) */
    public DeleteReferenceResponse deleteReference(DeleteReferenceRequest request, String by) {
        if (request.getModelId().isEmpty() || request.getName().isEmpty()) {
            throw new IllegalArgumentException("model_id and name are required");
        }
        String version = request.getModelVersion().isEmpty() ? null : request.getModelVersion();
        if (!references.delete(request.getModelId(), request.getName(), version, tombstones)) {
            throw new NotFoundException("model '" + request.getModelId() + "' has no reference '" + request.getName()
                    + "'" + (version == null ? "" : " in version " + version));
        }
        LOG.infof("reference %s of model %s%s deleted by token '%s'", request.getName(), request.getModelId(),
                version == null ? "" : " version " + version, by);
        return DeleteReferenceResponse.newBuilder().setDeleted(true).build();
    }

    private static Reference reference(ReferenceStore.StoredReference r, List<TapDescriptor> taps) {
        Reference.Builder out = Reference.newBuilder().setName(r.name()).setModelId(r.modelId())
                .setModelVersion(r.modelVersion())
                .setOrigin("tagged".equals(r.origin()) ? ReferenceOrigin.REFERENCE_ORIGIN_TAGGED
                        : ReferenceOrigin.REFERENCE_ORIGIN_TIME_RANGE)
                .setObservationCount(r.observationCount()).setCreatedAt(ProtoMapping.timestamp(r.createdAt()))
                .setState(r.sealed() ? ReferenceState.REFERENCE_STATE_SEALED : ReferenceState.REFERENCE_STATE_BUILDING);
        if (r.sealed()) {
            out.setSealedAt(ProtoMapping.timestamp(r.sealedAt()));
        }
        if (r.expectedObservations() != null) {
            out.setExpectedObservations(r.expectedObservations());
        }
        if (r.shortfall() != null) {
            out.setShortfall(r.shortfall());
        }
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
