package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.contract.AccessTokens;
import io.quarkus.websockets.next.HttpUpgradeCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Optional;

/**
 * The WebSocket side of the token check: the watch needs {@link AccessRules#watch()}. Browsers cannot set an
 * authorization header on a WebSocket, so the token travels as a subprotocol, {@code bearer.<token>}, beside
 * {@code nd.v1} (which the server answers with); never in the URL, which proxies and logs keep. A refused upgrade
 * carries no message: 401 for no valid token, 403 for a token without the scope.
 */
@ApplicationScoped
public class WatchTokenCheck implements HttpUpgradeCheck {

    static final String PREFIX = "bearer.";

    @Inject
    jakarta.inject.Provider<AccessTokens> tokens;

    @Override
    public Uni<CheckResult> perform(HttpUpgradeContext context) {
        AccessTokens t = tokens.get();
        Optional<AccessTokens.Caller> caller = t.required() ? Optional.empty() : t.callerOf(null);
        String presented = null;
        for (String header : context.httpRequest().headers().getAll("Sec-WebSocket-Protocol")) {
            for (String protocol : header.split(",")) {
                String p = protocol.trim();
                // the first token offered alone: a handshake listing many must not try each (guesses in bulk)
                if (p.startsWith(PREFIX) && presented == null) {
                    presented = p;
                    caller = t.callerOf(p.substring(PREFIX.length()));
                }
            }
        }
        AccessRules.Verdict verdict = AccessRules.check(AccessRules.watch(), caller, presented, "Watch");
        if (verdict.admitted()) {
            return CheckResult.permitUpgrade();
        }
        return CheckResult.rejectUpgrade(verdict.refusal().getCode() == io.grpc.Status.Code.PERMISSION_DENIED
                ? 403 : 401);
    }
}
