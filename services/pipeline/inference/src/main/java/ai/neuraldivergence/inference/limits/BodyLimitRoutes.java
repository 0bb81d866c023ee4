package ai.neuraldivergence.inference.limits;

import ai.neuraldivergence.inference.api.ErrorResponse;
import ai.neuraldivergence.inference.config.LimitsConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.http.runtime.VertxHttpRecorder;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Per-endpoint body limits at the HTTP layer, before any resource, token check or body read. A declared
 * {@code Content-Length} over the limit is answered 413 at once, and the connection closed so that the rest is never
 * read. A chunked body is counted as the resource reads it ({@link BodyLimitInterceptor}, 413 with the same body).
 */
@ApplicationScoped
public class BodyLimitRoutes {

    /** Where the request's limit is kept for {@link BodyLimitInterceptor}. */
    static final String LIMIT_KEY = "nd.body-limit";
    /**
     * Quarkus' own count of a chunked body stops it this far past our limit: ours answers first (with the JSON body),
     * Quarkus' stays as the backstop. A read is at most a few chunks ahead of what the resource has consumed.
     */
    static final long BACKSTOP_SLACK = 1024 * 1024;

    private final BodyLimits limits;
    private final long frameworkLimit;
    private final ObjectMapper json;

    @Inject
    public BodyLimitRoutes(LimitsConfig config,
            @ConfigProperty(name = "quarkus.http.limits.max-body-size") io.quarkus.runtime.configuration.MemorySize
                    frameworkLimit, ObjectMapper json) {
        this.limits = new BodyLimits(Map.of(
                "/v1/observations", new BodyLimits.Limit(config.observationsBody().asLongValue(),
                        "nd.inference.limits.observations-body"),
                "/v1/predict", new BodyLimits.Limit(config.predictBody().asLongValue(),
                        "nd.inference.limits.predict-body"),
                "/v1/labels", new BodyLimits.Limit(config.labelsBody().asLongValue(),
                        "nd.inference.limits.labels-body")));
        this.frameworkLimit = frameworkLimit.asLongValue();
        this.json = json;
    }

    /** A per-endpoint limit above the framework's would never be reached: say so at start rather than in a 413. */
    void check(@Observes StartupEvent start) {
        if (limits.largest() > frameworkLimit) {
            throw new IllegalStateException("quarkus.http.limits.max-body-size (" + frameworkLimit + " bytes) must be "
                    + "at least the largest nd.inference.limits.*-body (" + limits.largest() + " bytes)");
        }
    }

    void routes(@Observes Router router) {
        // before Quarkus' own limit (order -2), whose 413 has no body
        router.route().order(-3).handler(this::checkDeclaredLength);
        // after it: it sets its own limit for chunked bodies, ours replaces it
        router.route().order(-1).handler(this::backstopChunked);
    }

    private void checkDeclaredLength(RoutingContext ctx) {
        Optional<BodyLimits.Limit> limit = limits.limit(ctx.normalizedPath());
        if (limit.isEmpty()) {
            ctx.next();
            return;
        }
        OptionalLong declared = BodyLimits.declaredLength(ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH));
        if (declared.isPresent() && declared.getAsLong() > limit.get().bytes()) {
            refuse(ctx, BodyLimits.refusal(ctx.request().method() + " " + ctx.normalizedPath(), limit.get()));
            return;
        }
        ctx.put(LIMIT_KEY, limit.get());
        ctx.next();
    }

    private void backstopChunked(RoutingContext ctx) {
        BodyLimits.Limit limit = ctx.get(LIMIT_KEY);
        if (limit != null && ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH) == null) {
            ctx.put(VertxHttpRecorder.MAX_REQUEST_SIZE_KEY, limit.bytes() + BACKSTOP_SLACK);
        }
        ctx.next();
    }

    /**
     * A request whose body passed its limit while it was read: the connection reads no more of it and, on HTTP/1,
     * closes once the answer (the 413 of {@code ErrorMappers}) is out.
     */
    static void stopReading(RoutingContext ctx) {
        ctx.request().pause();
        if (ctx.request().version() != HttpVersion.HTTP_2) {
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
            ctx.addEndHandler(v -> ctx.request().connection().close());
        }
    }

    private void refuse(RoutingContext ctx, String message) {
        String body;
        try {
            body = json.writeValueAsString(new ErrorResponse(413, "Payload Too Large", message));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ctx.response().setStatusCode(413).putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        if (ctx.request().version() != HttpVersion.HTTP_2) {
            // the unread body is not wanted: close once the answer is out, as Quarkus' own limit does (an HTTP/2
            // stream ends by itself, and its connection carries other streams)
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close")
                    .endHandler(v -> ctx.request().connection().close());
        }
        ctx.response().end(body);
    }
}
