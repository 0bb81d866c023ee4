package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.query.ClassMatrixQuery;
import ai.neuraldivergence.domain.query.CompareQuery;
import ai.neuraldivergence.domain.query.ExemplarQuery;
import ai.neuraldivergence.domain.query.InstanceQuery;
import ai.neuraldivergence.domain.query.LayerQuery;
import ai.neuraldivergence.domain.query.ModelVersion;
import ai.neuraldivergence.domain.query.PairQuery;
import ai.neuraldivergence.domain.query.PairsQuery;
import ai.neuraldivergence.domain.query.ReferenceQueries;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.domain.query.ShapesQuery;
import ai.neuraldivergence.domain.query.TimelineQuery;
import ai.neuraldivergence.domain.query.Verdict;
import ai.neuraldivergence.proto.v1.ClassMatrixRequest;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CreateMonitorRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.DriftTimelineRequest;
import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.InspectPairRequest;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListPairsRequest;
import ai.neuraldivergence.proto.v1.NeuronExemplarsRequest;
import ai.neuraldivergence.proto.v1.SealReferenceRequest;
import ai.neuraldivergence.proto.v1.TimeRange;
import ai.neuraldivergence.proto.v1.UpdateMonitorRequest;
import ai.neuraldivergence.wire.WireMapping;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The edge: each request message becomes the domain query record its query service takes, checked once, here and
 * in the record's constructor. Malformed arguments raise {@link IllegalArgumentException} naming the field.
 */
final class Requests {

    private Requests() {
    }

    static CompareQuery compare(CompareRequest r) {
        return new CompareQuery(model(r.getModelId(), r.getModelVersion()), r.getTap(),
                selection(r.hasA(), r.getA(), "a"), selection(r.hasB(), r.getB(), "b"),
                new Verdict(WireMapping.metric(r.getRankBy()), r.getDriftThreshold(), r.getFamilyWiseAlpha(),
                        r.getLayerDriftThreshold()), r.getTopK(),
                r.getIncludeBinEdges(), r.getOnsetShare());
    }

    static LayerQuery layerOverview(LayerOverviewRequest r) {
        return new LayerQuery(model(r.getModelId(), r.getModelVersion()), selection(r.hasA(), r.getA(), "a"),
                selection(r.hasB(), r.getB(), "b"),
                new Verdict(WireMapping.metric(r.getMetric()), r.getDriftThreshold(), r.getFamilyWiseAlpha(),
                        r.getLayerDriftThreshold()), r.getOnsetShare());
    }

    static ClassMatrixQuery classMatrix(ClassMatrixRequest r) {
        ModelVersion model = model(r.getModelId(), r.getModelVersion());
        Slice.Kind kind = switch (r.getClassBy()) {
            case CLASS_BY_UNSPECIFIED, CLASS_BY_PREDICTED -> Slice.Kind.PREDICTED_CLASS;
            case CLASS_BY_TRUE_LABEL -> Slice.Kind.TRUE_LABEL;
            default -> throw new IllegalArgumentException("unknown class_by");
        };
        Selection source = switch (r.getSourceCase()) {
            case REFERENCE -> reference(r.getReference(), Slice.ALL, "selection source");
            case TIME_RANGE -> range(r.getTimeRange(), Slice.ALL, "selection source");
            default -> null;
        };
        return new ClassMatrixQuery(model, r.getTap(), source, kind,
                new Verdict(WireMapping.metric(r.getMetric()), r.getDriftThreshold(), r.getFamilyWiseAlpha()));
    }

    static TimelineQuery driftTimeline(DriftTimelineRequest r) {
        ModelVersion model = model(r.getModelId(), r.getModelVersion());
        Slice slice = r.hasSlice() ? WireMapping.slice(r.getSlice()) : Slice.ALL;
        Selection.Range range = r.hasRange() ? range(r.getRange(), slice, "range") : null;
        return new TimelineQuery(model, r.getTapsList(), range, r.getReference(),
                new Verdict(WireMapping.metric(r.getMetric()), r.getDriftThreshold(), r.getFamilyWiseAlpha(),
                        r.getLayerDriftThreshold()), r.getOnsetShare(), WireMapping.granularity(r.getGranularity()));
    }

    static InstanceQuery inspectInstance(InspectInstanceRequest r) {
        ModelVersion model = model(r.getModelId(), r.getModelVersion());
        Map<String, float[]> inline = new LinkedHashMap<>();
        if (r.getSubjectCase() == InspectInstanceRequest.SubjectCase.INLINE) {
            for (var t : r.getInline().getTapsList()) {
                float[] values = new float[t.getActivationsCount()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = t.getActivations(i);
                }
                if (inline.put(t.getTap(), values) != null) {
                    // two sets of activations for one tap: placing either would drop the other silently
                    throw new IllegalArgumentException("inline names tap '" + t.getTap() + "' twice");
                }
            }
            if (inline.isEmpty()) {
                throw new IllegalArgumentException("inline needs the activations of at least one tap");
            }
        }
        return new InstanceQuery(model, r.getInstanceId(), inline, selection(r.hasAgainst(), r.getAgainst(),
                "against"), r.getTapsList());
    }

    static PairQuery inspectPair(InspectPairRequest r) {
        if (r.getModelId().isEmpty() || r.getPairId().isEmpty()) {
            throw new IllegalArgumentException("model_id and pair_id are required");
        }
        return new PairQuery(model(r.getModelId(), r.getModelVersion()), r.getPairId(), r.getTopK(),
                r.hasAgainst() ? selection(true, r.getAgainst(), "against") : null);
    }

    static PairsQuery listPairs(ListPairsRequest r) {
        return new PairsQuery(r.getModelId(), r.getLimit());
    }

    static ExemplarQuery neuronExemplars(NeuronExemplarsRequest r) {
        return new ExemplarQuery(model(r.getModelId(), r.getModelVersion()), r.getTap(), r.getNeuron(),
                r.getLimit());
    }

    static ShapesQuery distributionShapes(DistributionShapesRequest r) {
        return new ShapesQuery(model(r.getModelId(), r.getModelVersion()), r.getTap(), r.getNeuronsList(),
                r.getBins(), r.getRanksList().stream().mapToDouble(Double::doubleValue).toArray(),
                selection(r.hasA(), r.getA(), "a"), r.hasB() ? selection(true, r.getB(), "b") : null);
    }

    static ReferenceQueries.Freeze createReference(CreateReferenceRequest r) {
        ModelVersion model = model(r.getModelId(), r.getModelVersion());
        return new ReferenceQueries.Freeze(model, r.getName(),
                r.hasRange() ? range(r.getRange(), Slice.ALL, "range") : null,
                r.hasSlice() ? WireMapping.slice(r.getSlice()) : null);
    }

    static ReferenceQueries.Seal sealReference(SealReferenceRequest r) {
        return new ReferenceQueries.Seal(model(r.getModelId(), r.getModelVersion()), r.getName(),
                r.getExpectedObservations());
    }

    static ReferenceQueries.Delete deleteReference(DeleteReferenceRequest r) {
        return new ReferenceQueries.Delete(r.getModelId(), r.getName(), r.getModelVersion());
    }

    static MonitorDefinition createMonitor(CreateMonitorRequest r) {
        if (!r.hasMonitor()) {
            throw new IllegalArgumentException("monitor is required");
        }
        return monitor(r.getMonitor().getName(), r.getMonitor());
    }

    static MonitorDefinition updateMonitor(UpdateMonitorRequest r) {
        if (!r.hasMonitor()) {
            throw new IllegalArgumentException("monitor is required");
        }
        if (!r.getMonitor().getName().isEmpty() && !r.getMonitor().getName().equals(r.getName())) {
            throw new IllegalArgumentException("monitor.name must be empty or the name updated ('" + r.getName()
                    + "'): a monitor is not renamed");
        }
        return monitor(r.getName(), r.getMonitor());
    }

    /** A monitor's definition; zero values take the defaults the proto names. */
    private static MonitorDefinition monitor(String name, ai.neuraldivergence.proto.v1.MonitorDefinition m) {
        ai.neuraldivergence.domain.Divergence.Metric metric = WireMapping.metric(m.getMetric());
        return new MonitorDefinition(name, m.getModelId(),
                m.getTap().isEmpty() ? MonitorDefinition.EVERY_TAP : m.getTap(),
                m.getReference().isEmpty() ? MonitorDefinition.DEFAULT_REFERENCE : m.getReference(),
                m.hasSlice() ? WireMapping.slice(m.getSlice()) : Slice.ALL, metric,
                WireMapping.mode(m.getMode()), or(m.getThreshold(), MonitorDefinition.defaultThreshold(metric)),
                or(m.getMinimumEffect(), MonitorDefinition.defaultMinimumEffect(metric)),
                or(m.getFalseAlarmBudget(), MonitorDefinition.DEFAULT_FALSE_ALARM_BUDGET),
                m.getWindowsInARow() == 0 ? MonitorDefinition.DEFAULT_WINDOWS_IN_A_ROW : m.getWindowsInARow(),
                m.getMinObservations() == 0 ? MonitorDefinition.DEFAULT_MIN_OBSERVATIONS : m.getMinObservations(),
                m.getMaxSpanMinutes() == 0 ? MonitorDefinition.DEFAULT_MAX_SPAN_MINUTES : m.getMaxSpanMinutes());
    }

    private static double or(double value, double fallback) {
        return value == 0 ? fallback : value;
    }

    static String monitorName(String name) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("name is required");
        }
        return name;
    }

    /** At most this many transitions in one history answer. */
    static final int MAX_HISTORY = 1_000;

    /** Evaluations are kept 12 hours. */
    static final int MAX_EVALUATION_MINUTES = 720;

    static int evaluationMinutes(int minutes) {
        if (minutes < 0 || minutes > MAX_EVALUATION_MINUTES) {
            throw new IllegalArgumentException("evaluation_minutes must be 0.." + MAX_EVALUATION_MINUTES + ", got "
                    + minutes);
        }
        return minutes;
    }

    static int historyLimit(int limit) {
        if (limit < 0 || limit > MAX_HISTORY) {
            throw new IllegalArgumentException("limit must be 0 (100) .." + MAX_HISTORY + ", got " + limit);
        }
        return limit == 0 ? 100 : limit;
    }

    /** A model id filter: empty means every model (null). */
    static String modelFilter(String modelId) {
        return modelId.isEmpty() ? null : modelId;
    }

    // ------------------------------------------------------------------ parts

    private static ModelVersion model(String modelId, String version) {
        return new ModelVersion(modelId, version);
    }

    /** One side of a comparison: a reference or a time range, in a slice (all when unset). */
    static Selection selection(boolean present, ai.neuraldivergence.proto.v1.Selection s, String name) {
        if (!present) {
            throw new IllegalArgumentException("selection " + name + " is required");
        }
        Slice slice = s.hasSlice() ? WireMapping.slice(s.getSlice()) : Slice.ALL;
        return switch (s.getSourceCase()) {
            case REFERENCE -> reference(s.getReference(), slice, "selection " + name);
            case TIME_RANGE -> range(s.getTimeRange(), slice, "selection " + name);
            default -> throw new IllegalArgumentException("selection " + name + " needs a reference or a time_range");
        };
    }

    private static Selection.Reference reference(String name, Slice slice, String field) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException(field + ": reference name is empty");
        }
        return new Selection.Reference(name, slice);
    }

    private static Selection.Range range(TimeRange r, Slice slice, String field) {
        if (!r.hasFrom() || !r.hasTo()) {
            throw new IllegalArgumentException(field + ": time_range needs from and to");
        }
        try {
            return new Selection.Range(WireMapping.instant(r.getFrom()), WireMapping.instant(r.getTo()), slice);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + ": " + e.getMessage());
        }
    }
}
