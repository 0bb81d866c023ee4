package ai.neuraldivergence.inference.api;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Activations computed elsewhere (a model this service does not host, a batch job, a test), recorded as if this
 * service had captured them. Each tap's activations are already one value per neuron, read straight into a float
 * array (a 16,384-neuron tap at 256 observations is four million values: boxing each would cost ten times the
 * heap); {@code "NaN"}, {@code "Infinity"} and {@code "-Infinity"} are values too, as protobuf's JSON spells them.
 */
public record ObservationRequest(String modelId, String modelVersion, List<Tap> taps,
        List<ObservationRequest.Observation> observations) {

    /**
     * A tap as the model declares it: name, network order, output shape without the batch dimension; optionally each
     * neuron's scale for the layer statistic ({@code neuron_scales} of the activation batch; absent: 1).
     */
    public record Tap(String name, Integer index, List<Integer> shape, String reduction, float[] neuronScales) {
    }

    public record Observation(String instanceId, Instant eventTime, Integer predictedClass, Float confidence,
            Integer trueLabel, Map<String, String> tags, String pairId, String pairRole,
            Map<String, float[]> activations) {
    }
}
