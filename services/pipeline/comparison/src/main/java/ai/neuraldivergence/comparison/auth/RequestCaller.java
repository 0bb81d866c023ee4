package ai.neuraldivergence.comparison.auth;

import ai.neuraldivergence.contract.AccessTokens;
import jakarta.enterprise.context.RequestScoped;

/** Who made the current JSON mirror request, as {@link TokenFilter} found it; the resource names it in its logs. */
@RequestScoped
public class RequestCaller {

    private AccessTokens.Caller caller;

    void set(AccessTokens.Caller caller) {
        this.caller = caller;
    }

    /** The caller (null before the token filter ran: no product data is answered then). */
    public AccessTokens.Caller caller() {
        return caller;
    }

    /** The caller's token name ("anonymous" when no tokens are configured). */
    public String name() {
        return caller == null ? "unknown" : caller.name();
    }
}
