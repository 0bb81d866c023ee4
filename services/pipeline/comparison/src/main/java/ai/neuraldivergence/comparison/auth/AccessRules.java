package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.contract.HttpRoutes;
import ai.neuraldivergence.proto.v1.ComparisonProto;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import io.grpc.Status;
import java.util.Optional;
import java.util.Set;

/**
 * What each call of the comparison service needs, the same for gRPC, the JSON mirror and the watch WebSocket:
 * {@code write} to freeze, seal or delete a reference, {@code read} for everything else that reads product data. Health
 * (probes carry no token) is open; reflection and the UI's settings need a valid token of any scope, as they did
 * before scopes existed. A method of the service that is in neither list needs {@code write}: a new RPC is neither
 * open nor readable with a read token by mistake (AccessRulesTest fails until it is listed). Another service's method
 * or a path no route serves needs {@code read}: it answers UNIMPLEMENTED or 404 and reads nothing.
 */
public final class AccessRules {

    public static final String READ = "read";
    public static final String WRITE = "write";
    public static final Set<String> SCOPES = Set.of(READ, WRITE);

    static final Set<String> WRITE_METHODS = Set.of(
            ComparisonServiceGrpc.getCreateReferenceMethod().getFullMethodName(),
            ComparisonServiceGrpc.getDeleteReferenceMethod().getFullMethodName(),
            ComparisonServiceGrpc.getSealReferenceMethod().getFullMethodName(),
            ComparisonServiceGrpc.getCreateMonitorMethod().getFullMethodName(),
            ComparisonServiceGrpc.getUpdateMonitorMethod().getFullMethodName(),
            ComparisonServiceGrpc.getDeleteMonitorMethod().getFullMethodName());
    /** The methods that read product data, and no more; the service's others change it. */
    static final Set<String> READ_METHODS = Set.of(
            ComparisonServiceGrpc.getGetCatalogMethod().getFullMethodName(),
            ComparisonServiceGrpc.getCompareMethod().getFullMethodName(),
            ComparisonServiceGrpc.getGetLayerOverviewMethod().getFullMethodName(),
            ComparisonServiceGrpc.getGetClassMatrixMethod().getFullMethodName(),
            ComparisonServiceGrpc.getInspectInstanceMethod().getFullMethodName(),
            ComparisonServiceGrpc.getInspectPairMethod().getFullMethodName(),
            ComparisonServiceGrpc.getListPairsMethod().getFullMethodName(),
            ComparisonServiceGrpc.getGetNeuronExemplarsMethod().getFullMethodName(),
            ComparisonServiceGrpc.getGetDriftTimelineMethod().getFullMethodName(),
            ComparisonServiceGrpc.getListMonitorsMethod().getFullMethodName(),
            ComparisonServiceGrpc.getGetMonitorHistoryMethod().getFullMethodName(),
            ComparisonServiceGrpc.getWatchMethod().getFullMethodName(),
            ComparisonServiceGrpc.getGetDistributionShapesMethod().getFullMethodName(),
            ComparisonServiceGrpc.getListReferencesMethod().getFullMethodName());
    private static final String HEALTH_SERVICE = "grpc.health.v1.Health";
    private static final Set<String> REFLECTION_SERVICES = Set.of("grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection");
    private static final String API = "/api/v1";
    private static final HttpRoutes ROUTES = new HttpRoutes(ComparisonProto.getDescriptor()
            .findServiceByName("ComparisonService"));

    /** Nothing, a valid token of any scope ({@code scope} null), or a token granting {@code scope}. */
    public record Requirement(boolean token, String scope) {
        public static final Requirement OPEN = new Requirement(false, null);
        public static final Requirement ANY_TOKEN = new Requirement(true, null);

        static Requirement scope(String scope) {
            return new Requirement(true, scope);
        }
    }

    /** A checked call: who made it, or the status it is refused with. */
    public record Verdict(AccessTokens.Caller caller, Status refusal) {
        public boolean admitted() {
            return refusal == null;
        }
    }

    private AccessRules() {
    }

    /** @param fullMethodName as gRPC names it, {@code package.Service/Method} */
    public static Requirement grpc(String fullMethodName) {
        String service = io.grpc.MethodDescriptor.extractFullServiceName(fullMethodName);
        if (HEALTH_SERVICE.equals(service)) {
            return Requirement.OPEN;
        }
        if (REFLECTION_SERVICES.contains(service)) {
            return Requirement.ANY_TOKEN;
        }
        if (ComparisonServiceGrpc.SERVICE_NAME.equals(service)) {
            return Requirement.scope(READ_METHODS.contains(fullMethodName) ? READ : WRITE);
        }
        return Requirement.scope(READ);
    }

    /**
     * @param path the request's path from the root, as JAX-RS' {@code UriInfo.getPath()} gives it; only JSON mirror
     *     routes reach this (health, metrics and the UI's files are not REST resources)
     */
    public static Requirement http(String method, String path) {
        String p = path.startsWith("/") ? path : "/" + path;
        if (p.endsWith("/") && p.length() > 1) {
            p = p.substring(0, p.length() - 1);
        }
        if ("GET".equals(method) && p.equals(API + "/ui-settings")) {
            return Requirement.ANY_TOKEN;
        }
        // a route needs what its RPC needs: the proto's http options map one to the other
        return ROUTES.match(method, p).map(m -> grpc(io.grpc.MethodDescriptor.generateFullMethodName(
                m.route().method().getService().getFullName(), m.route().method().getName())))
                .orElse(Requirement.scope(READ));
    }

    /** The watch WebSocket streams product data. */
    public static Requirement watch() {
        return Requirement.scope(READ);
    }

    /**
     * Checks one call.
     *
     * @param presented the caller the presented token identifies (empty: none or not valid)
     * @param authorization what was presented, only to tell "missing" from "not valid"
     * @param what the call, as the refusal names it
     */
    public static Verdict check(Requirement need, Optional<AccessTokens.Caller> presented, String authorization,
            String what) {
        if (!need.token()) {
            return new Verdict(presented.orElse(null), null);
        }
        if (presented.isEmpty()) {
            return new Verdict(null, Status.UNAUTHENTICATED.withDescription(AccessTokens.refusal(authorization)));
        }
        AccessTokens.Caller caller = presented.get();
        if (need.scope() != null && !caller.may(need.scope())) {
            return new Verdict(caller, Status.PERMISSION_DENIED.withDescription(
                    AccessTokens.missingScope(caller, need.scope(), what)));
        }
        return new Verdict(caller, null);
    }
}
