package ai.neuraldivergence.inference.config;

import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/**
 * What one request may ask of the service (prefix {@code nd.inference.limits}): no request, however large or slow
 * its dependencies, can exhaust the heap or the worker pool.
 */
@ConfigMapping(prefix = "nd.inference.limits")
public interface LimitsConfig {

    /**
     * Body bytes of {@code POST /v1/observations}, the widest legitimate request: about 350 observations of a
     * 16,384-neuron tap at full float precision (11 characters a value); more take several requests.
     */
    @WithDefault("64M")
    MemorySize observationsBody();

    /** Body bytes of {@code POST /v1/predict}, JSON pixel arrays or one PNG. */
    @WithDefault("8M")
    MemorySize predictBody();

    /** Body bytes of {@code POST /v1/labels}: the 10,000 labels a request may carry, ids of about 60 characters. */
    @WithDefault("1M")
    MemorySize labelsBody();

    /** The most pixels a PNG upload may declare per side, checked in its header before it is decoded. */
    @WithDefault("2048")
    int pngMaxSide();

    /**
     * How long {@code POST /v1/labels} (and gRPC RecordLabels) waits for Kafka to acknowledge every label of the
     * request, all labels together: then 503. Also the label producer's longest wait for Kafka's metadata and its
     * delivery timeout, so that a label not acknowledged by then is not sent long after.
     */
    @WithDefault("5s")
    Duration labelsDeadline();
}
