package ai.neuraldivergence.inference.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Activation capture settings (prefix {@code nd.capture}). */
@ConfigMapping(prefix = "nd.capture")
public interface CaptureConfig {

    /** The topic ActivationBatch records go to. */
    @WithDefault("nd.activations")
    String topic();

    /**
     * Bytes the Kafka producer may hold unsent. When it is full (Kafka slow or down), new captures are shed and
     * counted rather than blocking predictions or growing the heap.
     */
    @WithDefault("33554432")
    long bufferBytes();

    /** How long a capture may wait for buffer space before it is shed. */
    @WithDefault("100ms")
    Duration maxBlock();

    /** Observations one request may carry. */
    @WithDefault("1024")
    int maxObservationsPerRequest();
}
