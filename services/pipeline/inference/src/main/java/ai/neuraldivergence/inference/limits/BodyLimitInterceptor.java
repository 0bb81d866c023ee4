package ai.neuraldivergence.inference.limits;

import io.quarkus.vertx.http.runtime.CurrentVertxRequest;
import io.vertx.ext.web.RoutingContext;
import jakarta.inject.Inject;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.ext.Provider;
import jakarta.ws.rs.ext.ReaderInterceptor;
import jakarta.ws.rs.ext.ReaderInterceptorContext;
import java.io.IOException;

/**
 * Counts the body bytes a resource reads against its endpoint's limit ({@link BodyLimitRoutes} found it): a chunked
 * body, whose length nobody declared, stops at the first byte past it. Every body reader (JSON, bytes) reads through
 * this stream.
 *
 * <p>The connection stops reading at once and closes once the 413 is out: until it closes, Quarkus' blocking reader
 * would keep queueing whatever the client sends, in the heap, with nobody left to read it.
 */
@Provider
public class BodyLimitInterceptor implements ReaderInterceptor {

    // looked up per request: providers are built before the request scope exists
    @Inject
    jakarta.inject.Provider<CurrentVertxRequest> request;

    @Override
    public Object aroundReadFrom(ReaderInterceptorContext context) throws IOException, WebApplicationException {
        RoutingContext ctx = request.get().getCurrent();
        BodyLimits.Limit limit = ctx == null ? null : ctx.get(BodyLimitRoutes.LIMIT_KEY);
        if (limit != null) {
            String refusal = BodyLimits.refusal(ctx.request().method() + " " + ctx.normalizedPath(), limit);
            context.setInputStream(new BodyLimits.LimitedInputStream(context.getInputStream(), limit.bytes(),
                    refusal, () -> BodyLimitRoutes.stopReading(ctx)));
        }
        return context.proceed();
    }
}
