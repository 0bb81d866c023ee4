package ai.neuraldivergence.comparison.query;

/** The service has no room for the request now (a bounded resource is in use); the caller may retry later. */
public class ResourceExhaustedException extends RuntimeException {

    public ResourceExhaustedException(String message) {
        super(message);
    }
}
