package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.query.Catalogs;
import ai.neuraldivergence.comparison.query.ClassMatrices;
import ai.neuraldivergence.comparison.query.Comparisons;
import ai.neuraldivergence.comparison.query.Investigations;
import ai.neuraldivergence.comparison.query.Layers;
import ai.neuraldivergence.comparison.query.MonitorDefinitions;
import ai.neuraldivergence.comparison.query.References;
import ai.neuraldivergence.comparison.query.Shapes;
import ai.neuraldivergence.comparison.query.Timelines;
import ai.neuraldivergence.comparison.service.Monitors;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.domain.query.NeuronShapes;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.CatalogModel;
import ai.neuraldivergence.proto.v1.CatalogVersion;
import ai.neuraldivergence.proto.v1.ClassMatrix;
import ai.neuraldivergence.proto.v1.ClassMatrixCell;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.Direction;
import ai.neuraldivergence.proto.v1.DistributionShapes;
import ai.neuraldivergence.proto.v1.DistributionSummary;
import ai.neuraldivergence.proto.v1.DriftTimeline;
import ai.neuraldivergence.proto.v1.Exemplar;
import ai.neuraldivergence.proto.v1.InstanceInspection;
import ai.neuraldivergence.proto.v1.InstanceSummary;
import ai.neuraldivergence.proto.v1.LayerOverview;
import ai.neuraldivergence.proto.v1.ListPairsResponse;
import ai.neuraldivergence.proto.v1.ListReferencesResponse;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.NeuronExemplars;
import ai.neuraldivergence.proto.v1.NeuronPlacement;
import ai.neuraldivergence.proto.v1.NeuronShape;
import ai.neuraldivergence.proto.v1.NeuronShift;
import ai.neuraldivergence.proto.v1.PairInspection;
import ai.neuraldivergence.proto.v1.PairSummary;
import ai.neuraldivergence.proto.v1.PairTapShift;
import ai.neuraldivergence.proto.v1.Quantile;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.ReferenceOrigin;
import ai.neuraldivergence.proto.v1.ReferenceState;
import ai.neuraldivergence.proto.v1.TagValues;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.proto.v1.TapPlacement;
import ai.neuraldivergence.proto.v1.TapSummary;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.proto.v1.TimelinePoint;
import ai.neuraldivergence.proto.v1.Window;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.wire.WireMapping;
import com.google.protobuf.ByteString;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** The edge's other half: each query service's result as the response message the wire carries. */
final class Responses {

    private Responses() {
    }

    static Catalog catalog(List<Catalogs.VersionEntry> versions) {
        Map<String, CatalogModel.Builder> models = new LinkedHashMap<>();
        for (Catalogs.VersionEntry v : versions) {
            CatalogVersion.Builder version = CatalogVersion.newBuilder().setModelVersion(v.coverage().modelVersion())
                    .setObservationCount(v.coverage().observationCount());
            v.taps().forEach(t -> version.addTaps(WireMapping.tapInfo(t)));
            Map<String, TreeSet<String>> tagValues = new TreeMap<>();
            for (Slice slice : v.slices()) {
                version.addSlices(WireMapping.slice(slice));
                if (slice.kind() == Slice.Kind.TAG) {
                    tagValues.computeIfAbsent(slice.tagKey(), k -> new TreeSet<>()).add(slice.value());
                }
            }
            tagValues.forEach((k, values) -> version.addTagValues(TagValues.newBuilder().setKey(k)
                    .addAllValues(values)));
            if (v.coverage().coverageFrom() != null) {
                version.setCoverage(TimeRange.newBuilder().setFrom(WireMapping.timestamp(v.coverage().coverageFrom()))
                        .setTo(WireMapping.timestamp(v.coverage().coverageTo())));
            }
            v.references().forEach(r -> version.addReferences(reference(r)));
            models.computeIfAbsent(v.coverage().modelId(), id -> CatalogModel.newBuilder().setModelId(id))
                    .addVersions(version);
        }
        Catalog.Builder out = Catalog.newBuilder();
        models.values().forEach(out::addModels);
        return out.build();
    }

    static CompareResponse compare(Comparisons.Compared compared, boolean binEdges) {
        CompareResponse.Builder out = CompareResponse.newBuilder().setModelVersion(compared.version());
        for (TapComparison c : compared.taps()) {
            TapDivergence.Builder t = TapDivergence.newBuilder().setSummary(summary(c));
            double threshold = compared.verdict().threshold();
            for (int n = 0; n < c.neurons().size(); n++) {
                t.addNeurons(neuron(n, c.neurons().get(n), threshold, binEdges));
            }
            Arrays.stream(c.topNeurons()).forEach(t::addTopNeurons);
            out.addTaps(t);
        }
        if (compared.onset() != null) {
            out.setOnsetTap(compared.onset().tap()).setOnsetTapIndex(compared.onset().tapIndex());
        }
        return out.build();
    }

    static LayerOverview layerOverview(Layers.Overview overview) {
        LayerOverview.Builder out = LayerOverview.newBuilder().setModelVersion(overview.version());
        overview.taps().forEach(c -> out.addTaps(summary(c)));
        if (overview.onset() != null) {
            out.setOnsetTap(overview.onset().tap()).setOnsetTapIndex(overview.onset().tapIndex());
        }
        return out.build();
    }

    static ClassMatrix classMatrix(ClassMatrices.Matrix matrix) {
        ClassMatrix.Builder out = ClassMatrix.newBuilder().addAllClasses(matrix.classes());
        for (ClassMatrices.Cell[] row : matrix.cells()) {
            for (ClassMatrices.Cell c : row) {
                ClassMatrixCell.Builder cell = ClassMatrixCell.newBuilder().setClassA(c.classA())
                        .setClassB(c.classB()).setCountA(c.countA()).setCountB(c.countB());
                if (c.classA() != c.classB()) {
                    cell.setValue(c.value()).setDriftedShare(c.driftedShare());
                }
                out.addCells(cell);
            }
        }
        return out.build();
    }

    static DriftTimeline driftTimeline(List<Timelines.Point> points) {
        DriftTimeline.Builder out = DriftTimeline.newBuilder();
        for (Timelines.Point p : points) {
            TimelinePoint.Builder point = TimelinePoint.newBuilder().setWindow(Window.newBuilder()
                    .setGranularity(WireMapping.granularity(p.granularity())).setStart(WireMapping.timestamp(p.start()))
                    .setEnd(WireMapping.timestamp(p.start().plus(p.granularity().length()))));
            p.taps().forEach(c -> point.addTaps(summary(c)));
            if (p.onsetTap() != null) {
                point.setOnsetTap(p.onsetTap());
            }
            out.addPoints(point);
        }
        return out.build();
    }

    static InstanceInspection inspectInstance(Investigations.Inspection inspection) {
        InstanceInspection.Builder out = InstanceInspection.newBuilder().setInstanceId(inspection.instanceId())
                .setAnomalyScore(inspection.anomalyScore());
        for (Investigations.Placed p : inspection.taps()) {
            TapPlacement.Builder t = TapPlacement.newBuilder().setTap(p.tap().tap()).setTapIndex(p.tap().tapIndex())
                    .addAllMissingBlocks(p.missingBlocks()).setBlockSize(p.tap().blockSize())
                    .setAnomalyScore(p.anomalyScore());
            for (int i = 0; i < p.neurons().length; i++) {
                t.addNeurons(NeuronPlacement.newBuilder().setNeuron(p.neurons()[i])
                        .setActivation(p.activations()[i]).setPercentile(p.percentiles()[i]));
            }
            out.addTaps(t);
        }
        return out.build();
    }

    static PairInspection inspectPair(Investigations.PairShifts pair) {
        PairInspection.Builder out = PairInspection.newBuilder().setPairId(pair.pairId())
                .setBenign(member(pair.benign())).setAttacked(member(pair.attacked()));
        for (Investigations.TapShift s : pair.taps()) {
            PairTapShift.Builder t = PairTapShift.newBuilder().setTap(s.tap().tap()).setTapIndex(s.tap().tapIndex())
                    .addAllMissingBlocks(s.missingBlocks()).setBlockSize(s.tap().blockSize());
            s.excited().forEach(n -> t.addExcited(shift(n)));
            s.inhibited().forEach(n -> t.addInhibited(shift(n)));
            out.addTaps(t);
        }
        return out.build();
    }

    static ListPairsResponse listPairs(List<RecentObservationStore.KeptPair> pairs) {
        ListPairsResponse.Builder out = ListPairsResponse.newBuilder();
        pairs.forEach(p -> out.addPairs(PairSummary.newBuilder().setPairId(p.pairId())
                .setEventTime(WireMapping.timestamp(p.eventTime())).putAllTags(p.tags())));
        return out.build();
    }

    static NeuronExemplars neuronExemplars(Investigations.Exemplars found) {
        NeuronExemplars.Builder out = NeuronExemplars.newBuilder().setTap(found.tap()).setNeuron(found.neuron())
                .setBlockMissing(found.blockMissing());
        for (Investigations.Exemplar e : found.exemplars()) {
            Exemplar.Builder x = Exemplar.newBuilder().setInstanceId(e.instanceId()).setActivation(e.activation());
            if (e.kept() != null) {
                x.setPredictedClass(e.kept().predictedClass()).setEventTime(WireMapping.timestamp(e.kept().eventTime()));
            }
            if (e.png() != null) {
                x.setImagePng(ByteString.copyFrom(e.png()));
            }
            out.addExemplars(x);
        }
        return out.build();
    }

    static DistributionShapes distributionShapes(Shapes.Shaped shaped) {
        DistributionShapes.Builder out = DistributionShapes.newBuilder().setModelVersion(shaped.version())
                .setTap(WireMapping.tapInfo(shaped.tap()));
        for (NeuronShapes.NeuronShape shape : shaped.neurons()) {
            NeuronShape.Builder n = NeuronShape.newBuilder().setNeuron(shape.neuron())
                    .addAllBinEdges(boxed(shape.binEdges())).setA(shapeSummary(shape.a()));
            if (shape.b() != null) {
                n.setB(shapeSummary(shape.b()));
            }
            out.addNeurons(n);
        }
        return out.build();
    }

    static ListReferencesResponse listReferences(List<References.Described> references) {
        ListReferencesResponse.Builder out = ListReferencesResponse.newBuilder();
        references.forEach(r -> out.addReferences(reference(r)));
        return out.build();
    }

    static Reference reference(References.Described described) {
        ReferenceStore.StoredReference r = described.reference();
        Reference.Builder out = Reference.newBuilder().setName(r.name()).setModelId(r.modelId())
                .setModelVersion(r.modelVersion())
                .setOrigin("tagged".equals(r.origin()) ? ReferenceOrigin.REFERENCE_ORIGIN_TAGGED
                        : ReferenceOrigin.REFERENCE_ORIGIN_TIME_RANGE)
                .setObservationCount(r.observationCount()).setCreatedAt(WireMapping.timestamp(r.createdAt()))
                .setState(r.sealed() ? ReferenceState.REFERENCE_STATE_SEALED : ReferenceState.REFERENCE_STATE_BUILDING);
        if (r.sealed()) {
            out.setSealedAt(WireMapping.timestamp(r.sealedAt()));
        }
        if (r.expectedObservations() != null) {
            out.setExpectedObservations(r.expectedObservations());
        }
        if (r.shortfall() != null) {
            out.setShortfall(r.shortfall());
        }
        described.taps().forEach(t -> out.addTaps(WireMapping.tapInfo(t)));
        if (r.sourceFrom() != null) {
            out.setSourceRange(TimeRange.newBuilder().setFrom(WireMapping.timestamp(r.sourceFrom()))
                    .setTo(WireMapping.timestamp(r.sourceTo())));
        }
        if (r.sourceSlice() != null) {
            out.setSourceSlice(WireMapping.slice(Slice.parse(r.sourceSlice())));
        }
        return out.build();
    }

    static ai.neuraldivergence.proto.v1.ListMonitorsResponse listMonitors(List<Monitors.Status> statuses,
            String modelId) {
        var out = ai.neuraldivergence.proto.v1.ListMonitorsResponse.newBuilder();
        for (var status : statuses) {
            if (modelId.isEmpty() || modelId.equals(status.definition().modelId())) {
                out.addMonitors(monitor(status));
            }
        }
        return out.build();
    }

    static ai.neuraldivergence.proto.v1.Monitor monitor(Monitors.Status s) {
        var d = s.definition();
        ai.neuraldivergence.proto.v1.Monitor.Builder m = ai.neuraldivergence.proto.v1.Monitor.newBuilder()
                .setName(d.name()).setModelId(d.modelId()).setTap(s.tap()).setReference(d.reference())
                .setSlice(WireMapping.slice(d.slice())).setMetric(WireMapping.metric(d.metric()))
                .setThreshold(d.threshold()).setWindowsInARow(d.windowsInARow())
                .setState(WireMapping.state(s.current())).setMode(WireMapping.mode(d.mode()))
                .setSource(WireMapping.source(s.monitor().source())).setDefinition(monitorDefinition(s.monitor()));
        MonitorStatus state = s.state();
        if (state == null) {
            return m.build();
        }
        if (state.since() != null) {
            m.setSince(WireMapping.timestamp(state.since())).setSinceLowerBound(state.sinceLowerBound());
        }
        if (!Double.isNaN(state.value())) {
            m.setCurrentValue(state.value());
        }
        if (state.reason() != null) {
            m.setReason(state.reason());
        }
        if (state.windowStart() != null && state.lastEvaluated() != null) {
            m.setWindow(TimeRange.newBuilder().setFrom(WireMapping.timestamp(state.windowStart()))
                    .setTo(WireMapping.timestamp(state.lastEvaluated())));
        }
        m.setWindowObservations(state.windowObservations()).setReferenceObservations(state.referenceObservations())
                .setThresholdApplied(state.thresholdApplied());
        if (state.calibration() != null) {
            m.setSmallestDetectableEffect(state.smallestDetectableEffect())
                    .setCalibration(calibration(state.calibration()));
        }
        return m.build();
    }

    static ai.neuraldivergence.proto.v1.CalibratedThreshold calibration(
            ai.neuraldivergence.domain.monitor.CalibratedThreshold t) {
        return ai.neuraldivergence.proto.v1.CalibratedThreshold.newBuilder().setMinimumEffect(t.minimumEffect())
                .setNullQuantile(t.nullQuantile()).setSketchBound(t.sketchBound()).setAlpha(t.alpha())
                .setSmallestDetectableEffect(t.smallestDetectableEffect()).setCalibrating(t.calibrating()).build();
    }

    static ai.neuraldivergence.proto.v1.MonitorDefinition monitorDefinition(StoredMonitor stored) {
        MonitorDefinition d = stored.definition();
        return ai.neuraldivergence.proto.v1.MonitorDefinition.newBuilder().setName(d.name()).setModelId(d.modelId())
                .setTap(d.tap()).setReference(d.reference()).setSlice(WireMapping.slice(d.slice()))
                .setMetric(WireMapping.metric(d.metric())).setMode(WireMapping.mode(d.mode()))
                .setThreshold(d.threshold()).setMinimumEffect(d.minimumEffect())
                .setFalseAlarmBudget(d.falseAlarmBudget()).setWindowsInARow(d.windowsInARow())
                .setMinObservations(d.minObservations()).setMaxSpanMinutes(d.maxSpanMinutes())
                .setSource(WireMapping.source(stored.source())).setUpdatedBy(stored.updatedBy())
                .setUpdatedAt(WireMapping.timestamp(stored.updatedAt())).build();
    }

    /** A transition as a watcher sees it: the state it led to on its tap, the one before, and its stored id. */
    static ai.neuraldivergence.proto.v1.MonitorTransition transition(Monitors.Status status, Transition t) {
        return ai.neuraldivergence.proto.v1.MonitorTransition.newBuilder().setMonitor(monitor(status))
                .setPreviousState(WireMapping.state(t.previous())).setId(t.id())
                .setRecordedAt(WireMapping.timestamp(t.recordedAt())).addAllTopNeurons(t.topNeurons()).build();
    }

    static ai.neuraldivergence.proto.v1.MonitorHistory monitorHistory(MonitorDefinitions.History h) {
        var out = ai.neuraldivergence.proto.v1.MonitorHistory.newBuilder().setMonitor(monitorDefinition(h.monitor()));
        for (Transition t : h.transitions()) {
            // the monitor's current definition, with the transition's tap, state, window and value
            out.addTransitions(transition(new Monitors.Status(h.monitor(), t.tap(), Monitors.asStatus(t)), t));
        }
        for (var te : h.evaluations()) {
            var e = te.evaluation();
            var ev = ai.neuraldivergence.proto.v1.MonitorEvaluation.newBuilder().setTap(te.tap())
                    .setWindow(TimeRange.newBuilder().setFrom(WireMapping.timestamp(e.window().start()))
                            .setTo(WireMapping.timestamp(e.end())))
                    .setWindowObservations(e.window().observations())
                    .setReferenceObservations(e.referenceObservations()).setThresholdApplied(e.thresholdApplied())
                    .setOver(e.outcome() == ai.neuraldivergence.domain.monitor.MonitorRun.Outcome.OVER);
            if (!Double.isNaN(e.value())) {
                ev.setValue(e.value());
            }
            if (e.calibration() != null) {
                ev.setCalibration(calibration(e.calibration()));
            }
            out.addEvaluations(ev);
        }
        return out.build();
    }

    // ------------------------------------------------------------------ parts

    static TapSummary summary(TapComparison c) {
        return TapSummary.newBuilder().setTap(c.tap().tap()).setTapIndex(c.tap().tapIndex())
                .setNeuronCount(c.tap().neuronCount()).setMetric(WireMapping.metric(c.metric()))
                .setMean(c.mean()).setMax(c.max()).setDriftedShare(c.driftedShare()).setCountA(c.countA())
                .setCountB(c.countB()).setSmallestDetectableKs(c.smallestDetectableKs()).setLayer(layer(c.layer()))
                .build();
    }

    static ai.neuraldivergence.proto.v1.LayerDrift layer(ai.neuraldivergence.domain.LayerDrift d) {
        var out = ai.neuraldivergence.proto.v1.LayerDrift.newBuilder().setAvailable(d.available());
        if (!d.available()) {
            // NaN, not 0, for the numbers: a client that ignores `available` then reads no verdict into them
            return out.setUnavailableReason(d.unavailable()).setMmd(Double.NaN).setBandwidth(Double.NaN)
                    .setNullQuantile(Double.NaN).setMinimumEffect(Double.NaN).setThreshold(Double.NaN).build();
        }
        return out.setMmd(d.mmd()).setBandwidth(d.bandwidth()).setNullQuantile(d.nullQuantile())
                .setMinimumEffect(d.minimumEffect()).setThreshold(d.threshold()).setDrifted(d.drifted())
                .setCountA(d.countA()).setCountB(d.countB()).setNullResampled(d.resampled())
                .setCalibrating(d.calibrating()).build();
    }

    private static NeuronDivergence neuron(int n, Divergence d, double threshold, boolean binEdges) {
        NeuronDivergence.Builder out = NeuronDivergence.newBuilder().setNeuron(n).setKs(d.ks())
                .setKsErrorBound(d.ksErrorBound()).setKsSamplingBound(d.ksSamplingBound())
                .setWasserstein(d.wasserstein())
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
            out.setNonFiniteA(WireMapping.nonFinite(d.nonFiniteA()));
        }
        if (d.nonFiniteB().total() > 0) {
            out.setNonFiniteB(WireMapping.nonFinite(d.nonFiniteB()));
        }
        if (binEdges) {
            Arrays.stream(d.binEdges()).forEach(out::addBinEdges);
        }
        return out.build();
    }

    private static InstanceSummary member(Investigations.Member m) {
        RecentObservationStore.Recent r = m.observation();
        InstanceSummary.Builder s = InstanceSummary.newBuilder().setInstanceId(r.instanceId())
                .setPredictedClass(r.predictedClass()).setConfidence(r.confidence()).putAllTags(r.tags());
        if (r.trueLabel() != null) {
            s.setTrueLabel(r.trueLabel());
        }
        if (m.png() != null) {
            s.setImagePng(ByteString.copyFrom(m.png()));
        }
        return s.build();
    }

    private static NeuronShift shift(Investigations.Shift s) {
        NeuronShift.Builder out = NeuronShift.newBuilder().setNeuron(s.neuron()).setBenignActivation(s.benign())
                .setAttackedActivation(s.attacked());
        if (s.placed()) {
            out.setBenignPercentile(s.benignPercentile()).setAttackedPercentile(s.attackedPercentile());
        }
        return out.build();
    }

    private static DistributionSummary shapeSummary(NeuronShapes.Summary side) {
        DistributionSummary.Builder s = DistributionSummary.newBuilder().setCount(side.count())
                .setZeroCount(side.zeroCount()).setRankError(side.rankError())
                .addAllBinShares(boxed(side.binShares()));
        if (side.nonFinite().total() > 0) {
            s.setNonFinite(WireMapping.nonFinite(side.nonFinite()));
        }
        if (side.count() > 0) {
            s.setMin(side.min()).setMax(side.max()).setMean(side.mean()).setStddev(side.stddev());
            for (int i = 0; i < side.ranks().length; i++) {
                s.addQuantiles(Quantile.newBuilder().setRank(side.ranks()[i]).setValue(side.quantiles()[i]));
            }
        }
        return s.build();
    }

    private static List<Double> boxed(double[] values) {
        return Arrays.stream(values).boxed().toList();
    }
}
