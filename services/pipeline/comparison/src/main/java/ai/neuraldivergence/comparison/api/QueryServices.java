package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.comparison.query.Catalogs;
import ai.neuraldivergence.comparison.query.ClassMatrices;
import ai.neuraldivergence.comparison.query.Comparisons;
import ai.neuraldivergence.comparison.query.Investigations;
import ai.neuraldivergence.comparison.query.Layers;
import ai.neuraldivergence.comparison.query.MonitorDefinitions;
import ai.neuraldivergence.comparison.query.References;
import ai.neuraldivergence.comparison.query.Selections;
import ai.neuraldivergence.comparison.query.Shapes;
import ai.neuraldivergence.comparison.query.Timelines;
import ai.neuraldivergence.comparison.service.Monitors;
import ai.neuraldivergence.comparison.service.SelectionCache;
import ai.neuraldivergence.proto.v1.ClassMatrixRequest;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CreateMonitorRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteMonitorRequest;
import ai.neuraldivergence.proto.v1.DeleteMonitorResponse;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceResponse;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.DriftTimelineRequest;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.InspectPairRequest;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.ListPairsRequest;
import ai.neuraldivergence.proto.v1.MonitorHistoryRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.NeuronExemplarsRequest;
import ai.neuraldivergence.proto.v1.SealReferenceRequest;
import ai.neuraldivergence.proto.v1.UpdateMonitorRequest;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.MonitorStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.SealStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import ai.neuraldivergence.storage.WindowRollups;
import ai.neuraldivergence.comparison.query.LayerNulls;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.time.Duration;

/**
 * Makes the framework-free query services, one per question, and the table that wires each RPC to one of them.
 */
@ApplicationScoped
public class QueryServices {

    @Inject
    ComparisonConfig config;

    /** Selections of live views: at most a quarter of the heap (a 10,000-neuron selection is tens of MB). */
    @Produces
    @Singleton
    SelectionCache cache() {
        return new SelectionCache(64, Duration.ofSeconds(60), Runtime.getRuntime().maxMemory() / 4);
    }

    /** Immutable references a live view compares against on every redraw: at most a sixteenth of the heap. */
    @Produces
    @Singleton
    Selections selections(CatalogStore catalog, TapWindowStore windows, WindowRollups rollups,
            WindowDeltaStore deltas, ReferenceStore references, SelectionCache cache) {
        return new Selections(catalog, windows, rollups, deltas, references, config.sketchK(),
                config.cache().enabled() ? cache : null, Runtime.getRuntime().maxMemory() / 16);
    }

    @Produces
    @Singleton
    Comparisons comparisons(Selections selections, LayerNulls layerNulls) {
        return new Comparisons(selections, layerNulls);
    }

    /** The layer statistic's resampled nulls; the samples they come from take at most a sixteenth of the heap. */
    @Produces
    @Singleton
    LayerNulls layerNulls(ai.neuraldivergence.storage.CalibrationSampleStore samples,
            ai.neuraldivergence.storage.LayerNullStore nulls) {
        return new LayerNulls(samples, nulls, config.calibrationSampleSize(), Runtime.getRuntime().maxMemory() / 16);
    }

    @Produces
    @Singleton
    Rpcs rpcs(Selections selections, Comparisons comparisons, LayerNulls layerNulls, CatalogStore catalog,
            ReferenceStore references, RecentObservationStore recent, ExemplarStore exemplars, SealStore seals,
            Monitors monitors, MonitorStore monitorStore, ReferenceStore.BeforeDelete tombstones) {
        Layers layers = new Layers(comparisons, selections);
        ClassMatrices matrices = new ClassMatrices(selections);
        Timelines timelines = new Timelines(selections, layerNulls);
        Investigations investigations = new Investigations(selections, recent, exemplars);
        Shapes shapes = new Shapes(selections);
        References refs = new References(selections, references, seals, catalog, tombstones);
        Catalogs catalogs = new Catalogs(catalog, references);
        MonitorDefinitions definitions = new MonitorDefinitions(monitorStore);
        return new Rpcs()
                .add("GetCatalog", GetCatalogRequest.getDefaultInstance(), (r, call) -> Responses.catalog(
                        catalogs.versions(Requests.modelFilter(r.getModelId()))))
                .add("Compare", CompareRequest.getDefaultInstance(), (r, call) -> Responses.compare(
                        comparisons.compare(Requests.compare(r), call.cancellation()), r.getIncludeBinEdges()))
                .add("GetLayerOverview", LayerOverviewRequest.getDefaultInstance(), (r, call) ->
                        Responses.layerOverview(layers.overview(Requests.layerOverview(r), call.cancellation())))
                .add("GetClassMatrix", ClassMatrixRequest.getDefaultInstance(), (r, call) ->
                        Responses.classMatrix(matrices.matrix(Requests.classMatrix(r), call.cancellation())))
                .add("GetDriftTimeline", DriftTimelineRequest.getDefaultInstance(), (r, call) ->
                        Responses.driftTimeline(timelines.timeline(Requests.driftTimeline(r), call.cancellation())))
                .add("ListMonitors", ListMonitorsRequest.getDefaultInstance(), (r, call) -> {
                    // this replica's view of the stored monitors, fresh: one made through another shows at once
                    monitors.refresh();
                    return Responses.listMonitors(monitors.statuses(), r.getModelId());
                })
                .add("CreateMonitor", CreateMonitorRequest.getDefaultInstance(), (r, call) ->
                        Responses.monitorDefinition(definitions.create(Requests.createMonitor(r), call.by())))
                .add("UpdateMonitor", UpdateMonitorRequest.getDefaultInstance(), (r, call) ->
                        Responses.monitorDefinition(definitions.update(Requests.updateMonitor(r), call.by(),
                                call::grants)))
                .add("DeleteMonitor", DeleteMonitorRequest.getDefaultInstance(), (r, call) -> {
                    definitions.delete(Requests.monitorName(r.getName()), call.by(), call::grants);
                    return DeleteMonitorResponse.newBuilder().setDeleted(true).build();
                })
                .add("GetMonitorHistory", MonitorHistoryRequest.getDefaultInstance(), (r, call) ->
                        Responses.monitorHistory(definitions.history(Requests.monitorName(r.getName()),
                                Requests.historyLimit(r.getLimit()), Requests.evaluationMinutes(
                                        r.getEvaluationMinutes()), call::grants, call.confined())))
                .add("InspectInstance", InspectInstanceRequest.getDefaultInstance(), (r, call) ->
                        Responses.inspectInstance(investigations.inspect(Requests.inspectInstance(r),
                                call.cancellation())))
                .add("InspectPair", InspectPairRequest.getDefaultInstance(), (r, call) ->
                        Responses.inspectPair(investigations.inspectPair(Requests.inspectPair(r), call.cancellation())))
                .add("ListPairs", ListPairsRequest.getDefaultInstance(), (r, call) ->
                        Responses.listPairs(investigations.pairs(Requests.listPairs(r))))
                .add("GetNeuronExemplars", NeuronExemplarsRequest.getDefaultInstance(), (r, call) ->
                        Responses.neuronExemplars(investigations.exemplars(Requests.neuronExemplars(r))))
                .add("GetDistributionShapes", DistributionShapesRequest.getDefaultInstance(), (r, call) ->
                        Responses.distributionShapes(shapes.shapes(Requests.distributionShapes(r))))
                .add("ListReferences", ListReferencesRequest.getDefaultInstance(), (r, call) ->
                        Responses.listReferences(refs.list(Requests.modelFilter(r.getModelId()))))
                .add("CreateReference", CreateReferenceRequest.getDefaultInstance(), (r, call) ->
                        Responses.reference(refs.freeze(Requests.createReference(r), call.cancellation(),
                                call.by())))
                .add("SealReference", SealReferenceRequest.getDefaultInstance(), (r, call) ->
                        Responses.reference(refs.seal(Requests.sealReference(r), call.by())))
                .add("DeleteReference", DeleteReferenceRequest.getDefaultInstance(), (r, call) -> {
                    refs.delete(Requests.deleteReference(r), call.by());
                    return DeleteReferenceResponse.newBuilder().setDeleted(true).build();
                });
    }
}
