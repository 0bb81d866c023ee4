package ai.neuraldivergence.aggregator.health;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.ingest.ActivationConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.Instant;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready while the consumer loop polls Kafka. Kafka's and PostgreSQL's own reachability are reported by the
 * Kafka client's and the datasource's checks beside this one.
 */
@Readiness
@ApplicationScoped
public class ConsumerHealthCheck implements HealthCheck {

    private static final Duration STALE = Duration.ofSeconds(30);

    @Inject
    ActivationConsumer consumer;

    @Inject
    AggregatorConfig config;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("activation-consumer");
        if (!config.enabled()) {
            return b.up().withData("enabled", false).build();
        }
        Instant last = consumer.lastPoll();
        boolean polling = consumer.isRunning() && last != null && last.isAfter(Instant.now().minus(STALE));
        b.status(polling).withData("lastPoll", String.valueOf(last));
        consumer.lastError().ifPresent(e -> b.withData("lastError", e));
        return b.build();
    }
}
