package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.RequestCaller;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.DistributionShapesRequest;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.smallrye.common.annotation.Blocking;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.function.Supplier;

/**
 * The JSON mirror of the gRPC API, for browsers (which cannot speak native gRPC): the same requests and responses
 * in protobuf's canonical JSON (lowerCamelCase fields, timestamps as RFC 3339 strings, 64-bit integers as
 * strings), the same errors as HTTP statuses with {@code {"code", "message"}} bodies.
 */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class JsonMirrorResource {

    private static final JsonFormat.Parser PARSER = JsonFormat.parser();
    // fields at their default (a false "drifted", a zero count) are printed too: a UI need not know the defaults
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().includingDefaultValueFields()
            .omittingInsignificantWhitespace();

    @Inject
    ComparisonApi api;

    @Inject
    ai.neuraldivergence.comparison.config.ComparisonConfig config;

    @Inject
    RequestCaller caller;

    @GET
    @Path("/catalog")
    public Response catalog(@QueryParam("model_id") String modelId) {
        return answer("GetCatalog", () -> api.catalog(GetCatalogRequest.newBuilder()
                .setModelId(modelId == null ? "" : modelId).build()));
    }

    @POST
    @Path("/compare")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response compare(String body) {
        return answer("Compare", () -> api.compare(parse(body, CompareRequest.newBuilder()),
                ComparisonApi.Cancellation.NONE));
    }

    @POST
    @Path("/layer-overview")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response layerOverview(String body) {
        return answer("GetLayerOverview", () -> api.layerOverview(parse(body, LayerOverviewRequest.newBuilder()),
                ComparisonApi.Cancellation.NONE));
    }

    @POST
    @Path("/class-matrix")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response classMatrix(String body) {
        return answer("GetClassMatrix", () -> api.classMatrix(parse(body,
                ai.neuraldivergence.proto.v1.ClassMatrixRequest.newBuilder()), ComparisonApi.Cancellation.NONE));
    }

    @POST
    @Path("/drift-timeline")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response driftTimeline(String body) {
        return answer("GetDriftTimeline", () -> api.driftTimeline(parse(body,
                ai.neuraldivergence.proto.v1.DriftTimelineRequest.newBuilder()), ComparisonApi.Cancellation.NONE));
    }

    @POST
    @Path("/inspect-instance")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response inspectInstance(String body) {
        return answer("InspectInstance", () -> api.inspectInstance(parse(body,
                ai.neuraldivergence.proto.v1.InspectInstanceRequest.newBuilder()), ComparisonApi.Cancellation.NONE));
    }

    @POST
    @Path("/inspect-pair")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response inspectPair(String body) {
        return answer("InspectPair", () -> api.inspectPair(parse(body,
                ai.neuraldivergence.proto.v1.InspectPairRequest.newBuilder()), ComparisonApi.Cancellation.NONE));
    }

    @GET
    @Path("/pairs")
    public Response listPairs(@QueryParam("model_id") String modelId, @QueryParam("limit") Integer limit) {
        return answer("ListPairs", () -> api.listPairs(ai.neuraldivergence.proto.v1.ListPairsRequest.newBuilder()
                .setModelId(modelId == null ? "" : modelId).setLimit(limit == null ? 0 : limit).build()));
    }

    @POST
    @Path("/neuron-exemplars")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response neuronExemplars(String body) {
        return answer("GetNeuronExemplars", () -> api.neuronExemplars(parse(body,
                ai.neuraldivergence.proto.v1.NeuronExemplarsRequest.newBuilder())));
    }

    @POST
    @Path("/distribution-shapes")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response distributionShapes(String body) {
        return answer("GetDistributionShapes",
                () -> api.distributionShapes(parse(body, DistributionShapesRequest.newBuilder())));
    }

    @GET
    @Path("/monitors")
    public Response listMonitors(@QueryParam("model_id") String modelId) {
        return answer("ListMonitors", () -> api.listMonitors(ai.neuraldivergence.proto.v1.ListMonitorsRequest
                .newBuilder().setModelId(modelId == null ? "" : modelId).build()));
    }

    /**
     * What the web UI needs to know of the deployment: where a browser reaches the inference service for an
     * uploaded digit (empty: uploads are off). Not part of the gRPC API: only the UI needs it.
     */
    @GET
    @Path("/ui-settings")
    public Response uiSettings() {
        return Response.ok("{\"inferenceUrl\":" + quote(config.ui().inferenceUrl().orElse("")) + "}").build();
    }

    @GET
    @Path("/references")
    public Response listReferences(@QueryParam("model_id") String modelId) {
        return answer("ListReferences", () -> api.listReferences(ListReferencesRequest.newBuilder()
                .setModelId(modelId == null ? "" : modelId).build()));
    }

    @POST
    @Path("/references")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response createReference(String body) {
        return answer("CreateReference", () -> api.createReference(parse(body, CreateReferenceRequest.newBuilder()),
                ComparisonApi.Cancellation.NONE, caller.name()), 201);
    }

    @POST
    @Path("/references/seal")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response sealReference(String body) {
        return answer("SealReference", () -> api.sealReference(parse(body,
                ai.neuraldivergence.proto.v1.SealReferenceRequest.newBuilder()), caller.name()));
    }

    @DELETE
    @Path("/references/{model_id}/{name}")
    public Response deleteReference(@PathParam("model_id") String modelId, @PathParam("name") String name,
            @QueryParam("model_version") String modelVersion) {
        return answer("DeleteReference", () -> api.deleteReference(DeleteReferenceRequest.newBuilder()
                .setModelId(modelId).setName(name).setModelVersion(modelVersion == null ? "" : modelVersion).build(),
                caller.name()));
    }

    @SuppressWarnings("unchecked")
    private static <B extends Message.Builder, M extends Message> M parse(String body, B builder) {
        if (body == null || body.isBlank()) {
            throw new IllegalArgumentException("the request body must be a JSON object");
        }
        try {
            PARSER.merge(body, builder);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("malformed request: " + e.getMessage());
        }
        M request = (M) builder.build();
        // as over gRPC; requests built from a URL's parameters are bounded by the URL's length (4 KB)
        RequestBounds.check(request);
        return request;
    }

    private static Response answer(String method, Supplier<Message> body) {
        return answer(method, body, 200);
    }

    private static Response answer(String method, Supplier<Message> body, int okStatus) {
        try {
            return Response.status(okStatus).entity(PRINTER.print(body.get())).build();
        } catch (InvalidProtocolBufferException e) {
            return error(GrpcErrors.status(method, new IllegalStateException("printing the response", e)));
        } catch (RuntimeException e) {
            return error(GrpcErrors.status(method, e));
        }
    }

    /** An error answer: the gRPC code's HTTP status and {@code {"code", "message"}}. */
    public static Response error(Status status) {
        String json = "{\"code\":\"" + status.getCode().name() + "\",\"message\":"
                + quote(String.valueOf(status.getDescription())) + "}";
        return Response.status(GrpcErrors.httpStatus(status.getCode())).type(MediaType.APPLICATION_JSON)
                .entity(json).build();
    }

    static String quote(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> out.append(ch < 0x20 ? String.format("\\u%04x", (int) ch) : String.valueOf(ch));
            }
        }
        return out.append('"').toString();
    }
}
