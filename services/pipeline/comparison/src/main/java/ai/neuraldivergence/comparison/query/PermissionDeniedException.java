package ai.neuraldivergence.comparison.query;

/** The caller may not reach what it asked for (its token is not granted that model): PERMISSION_DENIED. */
public class PermissionDeniedException extends RuntimeException {

    public PermissionDeniedException(String message) {
        super(message);
    }
}
