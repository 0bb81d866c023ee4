package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import java.util.List;

/**
 * One tap's captured rows, before they become an ActivationBatch: {@code header} carries everything but the
 * observations and activations; {@code activations} is [observations x neurons], row-major.
 */
public record TapRows(ActivationBatch header, List<Observation> observations, float[] activations) {

    public static TapRows of(ActivationBatch batch) {
        float[] values = new float[batch.getActivationsCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = batch.getActivations(i);
        }
        return new TapRows(batch.toBuilder().clearObservations().clearActivations().build(),
                batch.getObservationsList(), values);
    }
}
