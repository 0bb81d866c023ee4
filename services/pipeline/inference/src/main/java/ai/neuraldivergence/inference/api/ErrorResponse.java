package ai.neuraldivergence.inference.api;

/** The body of every 4xx/5xx this service answers: what went wrong, in words. */
public record ErrorResponse(int status, String error, String message) {
}
