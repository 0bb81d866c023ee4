package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.ApiTokens;
import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.comparison.service.SelectionCache;
import ai.neuraldivergence.comparison.service.WindowUpdateListener;
import io.agroal.api.AgroalDataSource;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Map;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/** Wires the framework-free API classes: one {@link ComparisonApi} for both transports, its cache and tokens. */
@ApplicationScoped
public class ApiProducer {

    @Inject
    ComparisonConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafkaConfig;

    @ConfigProperty(name = "nd.topics.window-updates", defaultValue = "nd.window-updates")
    String windowUpdatesTopic;

    private final SelectionCache cache = new SelectionCache(64, java.time.Duration.ofSeconds(60));
    private WindowUpdateListener listener;

    @Inject
    io.micrometer.core.instrument.MeterRegistry registry;

    void start(@Observes StartupEvent event) {
        if (config.cache().enabled()) {
            listener = new WindowUpdateListener(kafkaConfig, windowUpdatesTopic, cache);
            listener.start();
        }
        registry.gauge("nd.comparison.cache.following", cache, c -> listener != null && listener.following() ? 1 : 0);
        io.micrometer.core.instrument.FunctionCounter.builder("nd.comparison.cache.hits", cache,
                SelectionCache::hits).description("Selections served from the cache").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("nd.comparison.cache.misses", cache,
                SelectionCache::misses).description("Selections read (wholly or their newest window) from the store")
                .register(registry);
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (listener != null) {
            listener.close();
        }
    }

    @Produces
    @Singleton
    ComparisonApi api(AgroalDataSource dataSource) {
        return new ComparisonApi(dataSource, config.sketchK(), cache);
    }

    @Produces
    @Singleton
    ApiTokens tokens() {
        return new ApiTokens(config.auth().tokens());
    }
}
