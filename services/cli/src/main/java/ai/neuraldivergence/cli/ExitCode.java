package ai.neuraldivergence.cli;

import io.grpc.Status;

/** Exit codes a script can trust. */
public final class ExitCode {

    public static final int OK = 0;
    /** Something unexpected (a bug, an internal error of the service). */
    public static final int FAILED = 1;
    /** Bad flags or arguments (picocli's own usage errors are 2 too). */
    public static final int USAGE = 2;
    /** The service refused the request as invalid (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE). */
    public static final int INVALID = 3;
    /** A model, version, tap, reference, instance or pair that does not exist (NOT_FOUND). */
    public static final int NOT_FOUND = 4;
    /** No or a wrong token (UNAUTHENTICATED, PERMISSION_DENIED). */
    public static final int UNAUTHENTICATED = 5;
    /** The service could not be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED). */
    public static final int UNAVAILABLE = 6;
    /** The name exists already (ALREADY_EXISTS). */
    public static final int CONFLICT = 7;

    private ExitCode() {
    }

    static int of(Status.Code code) {
        return switch (code) {
            case OK -> OK;
            case INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE -> INVALID;
            case NOT_FOUND -> NOT_FOUND;
            case UNAUTHENTICATED, PERMISSION_DENIED -> UNAUTHENTICATED;
            case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED -> UNAVAILABLE;
            case ALREADY_EXISTS -> CONFLICT;
            default -> FAILED;
        };
    }
}
