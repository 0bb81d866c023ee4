package ai.neuraldivergence.comparison.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The comparison service's settings (application.properties, prefix {@code nd.comparison}). */
@ConfigMapping(prefix = "nd.comparison")
public interface ComparisonConfig {

    /** Sketch size of merged selections; match the aggregator's {@code nd.aggregator.sketch-k}. */
    @WithDefault("200")
    int sketchK();
}
