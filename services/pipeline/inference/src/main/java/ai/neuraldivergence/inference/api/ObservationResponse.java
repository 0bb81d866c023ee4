package ai.neuraldivergence.inference.api;

import java.util.List;

/** Accepted observations, in request order, with the instance ids they are known by from now on. */
public record ObservationResponse(int accepted, List<String> instanceIds) {
}
