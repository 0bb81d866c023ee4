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

    /** Share of predictions whose activations are captured, 0..1. */
    @WithDefault("1.0")
    double sampleRate();

    /** Captured requests waiting for Kafka; beyond it the policy applies. */
    @WithDefault("4096")
    int queueCapacity();

    /** {@code shed}: drop the capture at once when the queue is full; {@code block}: wait up to block-timeout. */
    @WithDefault("shed")
    String policy();

    @WithDefault("100ms")
    Duration blockTimeout();

    /** Publish each captured input as an image too (topic nd.inputs), for pairs and exemplars in the UI. */
    @WithDefault("false")
    boolean inputs();

    @WithDefault("nd.inputs")
    String inputsTopic();

    /** Bytes the Kafka producer may hold unsent; when full, the publisher waits and the queue absorbs it. */
    @WithDefault("33554432")
    long bufferBytes();

    /** Observations one request to POST /v1/observations may carry. */
    @WithDefault("1024")
    int maxObservationsPerRequest();
}
