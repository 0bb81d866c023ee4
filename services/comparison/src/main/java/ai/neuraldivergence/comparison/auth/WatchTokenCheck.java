package ai.neuraldivergence.comparison.auth;

import io.quarkus.websockets.next.HttpUpgradeCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * The WebSocket side of the token check. Browsers cannot set an authorization header on a WebSocket, so the token
 * travels as a subprotocol, {@code bearer.<token>}, beside {@code nd.v1} (which the server answers with); never in
 * the URL, which proxies and logs keep.
 */
@ApplicationScoped
public class WatchTokenCheck implements HttpUpgradeCheck {

    static final String PREFIX = "bearer.";

    @Inject
    jakarta.inject.Provider<ApiTokens> tokens;

    @Override
    public Uni<CheckResult> perform(HttpUpgradeContext context) {
        ApiTokens t = tokens.get();
        if (!t.required()) {
            return CheckResult.permitUpgrade();
        }
        for (String header : context.httpRequest().headers().getAll("Sec-WebSocket-Protocol")) {
            for (String protocol : header.split(",")) {
                String p = protocol.trim();
                if (p.startsWith(PREFIX) && t.acceptsToken(p.substring(PREFIX.length()))) {
                    return CheckResult.permitUpgrade();
                }
            }
        }
        return CheckResult.rejectUpgrade(401);
    }
}
