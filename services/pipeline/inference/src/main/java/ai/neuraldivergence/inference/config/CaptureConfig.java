package ai.neuraldivergence.inference.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Activation capture settings (prefix {@code nd.capture}). */
@ConfigMapping(prefix = "nd.capture")
public interface CaptureConfig {

    /** The topic ActivationBatch records go to: set it as {@code nd.topics.activations} (this key is its alias). */
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

    /** The topic captured inputs go to: set it as {@code nd.topics.inputs} (this key is its alias). */
    @WithDefault("nd.inputs")
    String inputsTopic();

    /** Bytes the Kafka producer may hold unsent; when full, the publisher waits and the queue absorbs it. */
    @WithDefault("33554432")
    long bufferBytes();

    /** Observations one request to POST /v1/observations may carry. */
    @WithDefault("1024")
    int maxObservationsPerRequest();

    /**
     * How long POST /v1/observations waits for Kafka to acknowledge every record of the request before it answers
     * 503; also the producer's delivery timeout, so that a record's outcome is known by then.
     */
    @WithDefault("10s")
    Duration ackTimeout();

    /**
     * The largest record value capture sends, in bytes: batches are split to stay under it. At most the producer's
     * {@code max.request.size} (1 MiB by default) and the topic's {@code max.message.bytes}, which is read from the
     * broker at start and lowers it when smaller.
     */
    @WithDefault("1000000")
    int maxRecordBytes();

    /**
     * Neurons per block of a tap: a wider tap's captured batch is sent as one record per block (keyed by model, tap
     * and block, on consecutive partitions), so that one tap's traffic spreads over partitions and aggregators. The
     * aggregator's default (nd.aggregator.block-size), declared in every record: the tap keeps the size it was first
     * registered with, and records declaring another are dead-lettered. 0 sends whole taps and declares none (for a
     * model version registered before blocks existed with taps wider than this).
     */
    @WithDefault("1024")
    int blockSize();

    /** The most neurons a tap may have: the aggregator's limit (nd.aggregator.max-neurons-per-tap), same default. */
    @WithDefault("16384")
    int maxNeuronsPerTap();

    /** How far after now an observation's event time may lie (clocks drift). */
    @WithDefault("5m")
    Duration futureSkew();

    /**
     * How far before now a live observation's event time may lie: the aggregator's allowed lateness (later ones
     * would be dropped there; refusing them here tells the client). Reference-tagged observations are exempt.
     */
    @WithDefault("15m")
    Duration allowedLateness();
}
