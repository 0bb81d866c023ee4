package ai.neuraldivergence.inference.auth;

import ai.neuraldivergence.contract.AccessTokens;
import jakarta.enterprise.context.RequestScoped;

/**
 * The REST caller the token filter identified, for the resource that maps the request: whether it may tag
 * observations {@code reference} is only known once the body is read.
 */
@RequestScoped
public class RequestCaller {

    private AccessTokens.Caller caller;

    public void set(AccessTokens.Caller caller) {
        this.caller = caller;
    }

    /** Always set behind the filter; unset (no filter ran) is a bug, and fails rather than grants. */
    public AccessTokens.Caller get() {
        if (caller == null) {
            throw new IllegalStateException("no caller: the token filter did not run");
        }
        return caller;
    }
}
