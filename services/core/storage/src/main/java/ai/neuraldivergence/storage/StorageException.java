package ai.neuraldivergence.storage;

/** A database operation failed; wraps the {@link java.sql.SQLException} with what was being done. */
public class StorageException extends RuntimeException {

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }

    public StorageException(String message) {
        super(message);
    }
}
