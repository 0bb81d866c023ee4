package ai.neuraldivergence.comparison.query;

/** The request would create something (a reference) that exists already. */
public class AlreadyExistsException extends RuntimeException {

    public AlreadyExistsException(String message) {
        super(message);
    }
}
