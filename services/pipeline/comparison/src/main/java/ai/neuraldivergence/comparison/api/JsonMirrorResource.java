package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.RequestCaller;
import ai.neuraldivergence.comparison.query.Cancellation;
import ai.neuraldivergence.contract.HttpRoutes;
import ai.neuraldivergence.proto.v1.ComparisonProto;
import ai.neuraldivergence.storage.CallDeadline;
import com.google.protobuf.Descriptors.FieldDescriptor;
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
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.util.List;
import java.util.Map;

/**
 * The JSON mirror of the gRPC API, for browsers (which cannot speak native gRPC): every route is the one the proto's
 * {@code google.api.http} option gives its method ({@link HttpRoutes}), answered through the same {@link Rpcs} table
 * as gRPC. Requests and responses are protobuf's canonical JSON (lowerCamelCase fields, timestamps as RFC 3339
 * strings, 64-bit integers as strings); a request is the body ({@code body: "*"}), or the path's variables and the
 * query's parameters (by field name) for a route without one. Errors are the gRPC code's HTTP status with a
 * {@code {"code", "message"}} body; a method named {@code Create…} answers 201.
 */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
@Blocking
public class JsonMirrorResource {

    private static final JsonFormat.Parser PARSER = JsonFormat.parser();
    // fields at their default (a false "drifted", a zero count) are printed too: a UI need not know the defaults
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().includingDefaultValueFields()
            .omittingInsignificantWhitespace();
    static final HttpRoutes ROUTES = new HttpRoutes(ComparisonProto.getDescriptor()
            .findServiceByName("ComparisonService"));

    @Inject
    Rpcs rpcs;

    @Inject
    RequestCaller caller;

    @Inject
    ai.neuraldivergence.comparison.config.ComparisonConfig config;

    @GET
    @Path("{path: .+}")
    public Response get(@PathParam("path") String path, @Context UriInfo uri) {
        return answer("GET", path, uri.getQueryParameters(), null);
    }

    @POST
    @Path("{path: .+}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response post(@PathParam("path") String path, @Context UriInfo uri, String body) {
        return answer("POST", path, uri.getQueryParameters(), body);
    }

    @PUT
    @Path("{path: .+}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("path") String path, @Context UriInfo uri, String body) {
        return answer("PUT", path, uri.getQueryParameters(), body);
    }

    @DELETE
    @Path("{path: .+}")
    public Response delete(@PathParam("path") String path, @Context UriInfo uri) {
        return answer("DELETE", path, uri.getQueryParameters(), null);
    }

    private Response answer(String verb, String path, MultivaluedMap<String, String> query, String body) {
        String full = "/api/v1/" + path;
        var match = ROUTES.match(verb, full);
        if (match.isEmpty()) {
            // gRPC has no "method not allowed": the body names the nearest code, the status says 405
            return ROUTES.pathExists(full)
                    ? error(Status.UNIMPLEMENTED.withDescription(verb + " is not allowed on " + full), 405)
                    : error(Status.NOT_FOUND.withDescription("no API route " + verb + " " + full), 404);
        }
        HttpRoutes.Route route = match.get().route();
        String method = route.method().getName();
        try {
            Message.Builder request = rpcs.rpc(method).prototype().newBuilderForType();
            if (route.body()) {
                parse(body, request);
            } else {
                bind(request, query);
            }
            match.get().variables().forEach((field, value) -> set(request, field, value));
            Message answer;
            // the mirror's own deadline bounds the statements and the work between taps alike
            long deadline = System.nanoTime() + config.json().deadline().toNanos();
            Cancellation passed = () -> {
                if (System.nanoTime() - deadline > 0) {
                    throw Status.DEADLINE_EXCEEDED.withDescription("the deadline passed while the comparison ran")
                            .asRuntimeException();
                }
            };
            try (var bounded = CallDeadline.within(config.json().deadline())) {
                answer = rpcs.answer(method, request.build(), new Rpcs.Call(passed, caller.caller()));
            }
            return Response.status(method.startsWith("Create") ? 201 : 200).entity(PRINTER.print(answer)).build();
        } catch (InvalidProtocolBufferException e) {
            return error(GrpcErrors.status(method, new IllegalStateException("printing the response", e)));
        } catch (RuntimeException e) {
            return error(GrpcErrors.status(method, e));
        }
    }

    private static void parse(String body, Message.Builder builder) {
        if (body == null || body.isBlank()) {
            throw new IllegalArgumentException("the request body must be a JSON object");
        }
        try {
            PARSER.merge(body, builder);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("malformed request: " + e.getMessage());
        }
    }

    /** Query parameters named like a top-level scalar field of the request (snake or camel case) set it. */
    private static void bind(Message.Builder request, MultivaluedMap<String, String> query) {
        for (Map.Entry<String, List<String>> p : query.entrySet()) {
            FieldDescriptor f = field(request, p.getKey());
            if (f != null && !p.getValue().isEmpty()) {
                set(request, f.getName(), p.getValue().get(0));
            }
        }
    }

    private static FieldDescriptor field(Message.Builder request, String name) {
        for (FieldDescriptor f : request.getDescriptorForType().getFields()) {
            if (!f.isRepeated() && f.getJavaType() != FieldDescriptor.JavaType.MESSAGE
                    && (f.getName().equals(name) || f.getJsonName().equals(name))) {
                return f;
            }
        }
        return null;
    }

    private static void set(Message.Builder request, String name, String value) {
        FieldDescriptor f = field(request, name);
        if (f == null) {
            throw new IllegalStateException("route variable " + name + " is no scalar field of "
                    + request.getDescriptorForType().getName());
        }
        try {
            request.setField(f, switch (f.getJavaType()) {
                case STRING -> value;
                case INT -> Integer.parseInt(value);
                case LONG -> Long.parseLong(value);
                case DOUBLE -> Double.parseDouble(value);
                case FLOAT -> Float.parseFloat(value);
                case BOOLEAN -> Boolean.parseBoolean(value);
                case ENUM -> f.getEnumType().findValueByName(value);
                default -> throw new IllegalArgumentException(f.getName() + " cannot be given in the URL");
            });
        } catch (NumberFormatException | NullPointerException e) {
            throw new IllegalArgumentException(f.getName() + " must be a " + f.getJavaType().name().toLowerCase(
                    java.util.Locale.ROOT) + ", got '" + value + "'");
        }
    }

    /** An error answer: the gRPC code's HTTP status and {@code {"code", "message"}}. */
    public static Response error(Status status) {
        return error(status, GrpcErrors.httpStatus(status.getCode()));
    }

    private static Response error(Status status, int httpStatus) {
        String json = "{\"code\":\"" + status.getCode().name() + "\",\"message\":"
                + quote(String.valueOf(status.getDescription())) + "}";
        return Response.status(httpStatus).type(MediaType.APPLICATION_JSON).entity(json).build();
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
