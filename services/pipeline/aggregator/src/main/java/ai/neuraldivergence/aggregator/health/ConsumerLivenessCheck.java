package ai.neuraldivergence.aggregator.health;

import ai.neuraldivergence.aggregator.ingest.ActivationConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;

/**
 * Alive unless the consumer thread died of an {@link Error} (an OutOfMemoryError, say). Nothing in the process can
 * be trusted after that, and a pod that is up but aggregates nothing is worse than a restart: Kubernetes restarts
 * it, and the new process re-reads from the stored offsets.
 */
@Liveness
@ApplicationScoped
public class ConsumerLivenessCheck implements HealthCheck {

    @Inject
    ActivationConsumer consumer;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("activation-consumer-alive");
        return consumer.fatalError().map(e -> b.down().withData("error", e.toString()).build())
                .orElseGet(() -> b.up().build());
    }
}
