package ai.neuraldivergence.comparison.query;

/** The request is well formed but cannot be answered in the system's state (e.g. incompatible tap layouts). */
public class FailedPreconditionException extends RuntimeException {

    public FailedPreconditionException(String message) {
        super(message);
    }
}
