package ai.neuraldivergence.aggregator.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Kafka topic names (prefix {@code nd.topics}); the same keys and defaults in every service. */
@ConfigMapping(prefix = "nd.topics")
public interface Topics {

    @WithDefault("nd.activations")
    String activations();

    /** Records that could not be aggregated, with the reason in the {@code nd-error} header. */
    @WithDefault("nd.activations.dlq")
    String deadLetter();

    @WithDefault("nd.window-updates")
    String windowUpdates();

    /** True labels that arrive after their prediction (LabelEvent). */
    @WithDefault("nd.labels")
    String labels();

    /** Inputs captured by inference (CapturedInput), kept in the recent-observation store. */
    @WithDefault("nd.inputs")
    String inputs();

    /** Sealed references (ReferenceSeal, compacted; created by the aggregator), which inference follows. */
    @WithDefault("nd.reference-seals")
    String referenceSeals();
}
