package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import java.util.List;

/**
 * One tap's captured rows, before they become ActivationBatch records: {@code header} carries everything but the
 * observations and activations; {@code activations} is [observations x neurons], row-major, unboxed.
 */
public record TapRows(ActivationBatch header, List<Observation> observations, float[] activations) {
}
