package ai.neuraldivergence.inference.api;

import java.util.List;
import java.util.Map;

/** JSON bodies of POST /v1/predict. */
public final class PredictJson {

    private PredictJson() {
    }

    /** Instances to classify; {@code tags} apply to every instance, an instance's own tags win. */
    public record Request(List<Instance> instances, Map<String, String> tags) {
    }

    /** {@code pixels}: the model's input row-major (784 values in [0, 1] for 28 x 28 digits). */
    public record Instance(float[] pixels, String instanceId, Integer trueLabel, Map<String, String> tags,
            String pairId, String pairRole) {
    }

    public record Response(String modelId, String modelVersion, List<Prediction> predictions) {
    }

    /** {@code capture}: queued, shed (queue full) or not-sampled. */
    public record Prediction(String instanceId, int predictedClass, float confidence, float[] probabilities,
            String capture) {
    }

    /** The served model: what a client tags its requests against (a reference belongs to one model version). */
    public record Model(String modelId, String modelVersion, int[] inputShape, List<Tap> taps) {
    }

    public record Tap(String name, int index, int[] shape, String reduction) {
    }

    /** {@code modelId}: the model the labelled observations belong to; absent for the served model. */
    public record LabelsRequest(String modelId, List<Label> labels) {
    }

    public record Label(String instanceId, Integer trueLabel) {
    }

    public record LabelsResponse(int accepted) {
    }
}
