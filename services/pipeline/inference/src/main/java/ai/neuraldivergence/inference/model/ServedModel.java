package ai.neuraldivergence.inference.model;

import ai.neuraldivergence.inference.config.ModelConfig;
import ai.neuraldivergence.proto.v1.Reduction;
import io.quarkus.runtime.Startup;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/** The one model of this process: natives and engine loaded once, the model and its predictors at startup. */
@Singleton
@Startup
public class ServedModel {

    private static final Logger LOG = Logger.getLogger(ServedModel.class);

    private final ModelRunner runner;

    @Inject
    public ServedModel(ModelConfig config) throws IOException {
        long t0 = System.nanoTime();
        TensorFlowEngine.load(config.javacppCacheDir().orElse(null));
        Reduction reduction = switch (config.reduction()) {
            case "max" -> Reduction.REDUCTION_MAX;
            case "mean" -> Reduction.REDUCTION_MEAN;
            default -> throw new IllegalArgumentException("nd.model.reduction must be max or mean, got "
                    + config.reduction());
        };
        int[] inputShape = config.inputShape().map(l -> l.stream().mapToInt(Integer::intValue).toArray())
                .orElseGet(() -> ModelSpecResolver.inputShape(Path.of(config.path())).orElseThrow(() ->
                        new IllegalStateException("the input shape of the model at " + config.path() + " is unknown:"
                                + " set nd.model.input-shape, or export a manifest.json with input.shape")));
        runner = new ModelRunner(Path.of(config.path()), inputShape, config.predictorPoolSize(),
                new ModelSpecResolver.Overrides(config.id(), config.version(), config.taps(), reduction,
                        config.probabilitiesOutput(), config.logitsOutput()));
        ModelSpec spec = runner.spec();
        LOG.infof("model %s version %s loaded from %s in %.0f ms; taps in network order: %s", spec.modelId(),
                spec.modelVersion(), config.path(), (System.nanoTime() - t0) / 1e6,
                spec.taps().stream().map(t -> t.tap() + java.util.Arrays.toString(t.shape())).toList());
    }

    public ModelRunner runner() {
        return runner;
    }

    public ModelSpec spec() {
        return runner.spec();
    }

    @PreDestroy
    void close() {
        runner.close();
    }
}
