package ai.neuraldivergence.comparison.query;

/** The request names something (a model, version, tap, reference) that does not exist. */
public class NotFoundException extends RuntimeException {

    public NotFoundException(String message) {
        super(message);
    }
}
