package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.contract.AccessTokens;
import io.quarkus.websockets.next.HttpUpgradeCheck;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.List;
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
        List<String> protocols = context.httpRequest().headers().getAll("Sec-WebSocket-Protocol");
        AccessRules.Verdict verdict = AccessRules.check(AccessRules.watch(), caller(tokens.get(), protocols),
                presented(protocols), "Watch");
        if (verdict.admitted()) {
            return CheckResult.permitUpgrade();
        }
        return CheckResult.rejectUpgrade(verdict.refusal().getCode() == io.grpc.Status.Code.PERMISSION_DENIED
                ? 403 : 401);
    }

    /**
     * Who opens a watch socket with these {@code Sec-WebSocket-Protocol} headers: the first bearer subprotocol's
     * token alone (a handshake listing many must not try each: guesses in bulk); anyone when no token is configured.
     */
    public static Optional<AccessTokens.Caller> caller(AccessTokens tokens, List<String> protocols) {
        if (!tokens.required()) {
            return tokens.callerOf(null);
        }
        String presented = presented(protocols);
        return presented == null ? Optional.empty() : tokens.callerOf(presented.substring(PREFIX.length()));
    }

    private static String presented(List<String> protocols) {
        for (String header : protocols) {
            for (String protocol : header.split(",")) {
                String p = protocol.trim();
                if (p.startsWith(PREFIX)) {
                    return p;
                }
            }
        }
        return null;
    }
}
