package ai.neuraldivergence.comparison.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The comparison service's settings (application.properties, prefix {@code nd.comparison}). */
@ConfigMapping(prefix = "nd.comparison")
public interface ComparisonConfig {

    /** Sketch size of merged selections; match the aggregator's {@code nd.aggregator.sketch-k}. */
    @WithDefault("200")
    int sketchK();

    Auth auth();

    Cache cache();

    interface Cache {
        /**
         * Keep merged selections between queries, dropped as the aggregator announces changed windows
         * (nd.window-updates); off, every query reads the store.
         */
        @io.smallrye.config.WithDefault("true")
        boolean enabled();
    }

    interface Auth {
        /**
         * API tokens (comma-separated; environment ND_COMPARISON_AUTH_TOKENS, from a Secret in a cluster). When
         * set, every gRPC and JSON call needs {@code authorization: Bearer <one of them>}; health and metrics stay
         * open.
         */
        java.util.Optional<java.util.List<String>> tokens();
    }
}
