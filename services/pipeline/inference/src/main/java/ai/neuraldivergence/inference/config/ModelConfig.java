package ai.neuraldivergence.inference.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.List;
import java.util.Optional;

/** The served model (prefix {@code nd.model}). */
@ConfigMapping(prefix = "nd.model")
public interface ModelConfig {

    /** The SavedModel folder (holding saved_model.pb). Environment: ND_MODEL_PATH. */
    String path();

    /** Overrides the manifest's model id. */
    Optional<String> id();

    /** Overrides the manifest's version. */
    Optional<String> version();

    /** Taps in network order; default: the manifest's. */
    Optional<List<String>> taps();

    /** How rank-4 taps become one value per channel: max (as Summit) or mean. */
    @WithDefault("max")
    String reduction();

    /** The input's shape without the batch dimension; default: the manifest's ({@code input.shape}). */
    Optional<List<Integer>> inputShape();

    @WithDefault("probabilities")
    String probabilitiesOutput();

    @WithDefault("logits")
    String logitsOutput();

    /** Predictors, one per concurrent request; a Predictor is not thread-safe. */
    @WithDefault("4")
    int predictorPoolSize();

    /** Instances one predict request may carry. */
    @WithDefault("256")
    int maxInstancesPerRequest();

    /** Where JavaCPP extracts TensorFlow's natives (about 600 MB, once). */
    Optional<String> javacppCacheDir();
}
