package ai.neuraldivergence.aggregator.health;

import ai.neuraldivergence.aggregator.config.AggregatorConfig;
import ai.neuraldivergence.aggregator.ingest.ActivationConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.Optional;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;

/**
 * Alive unless the consumer thread died of an {@link Error} (an OutOfMemoryError, say), or has been stuck in one
 * call for {@code nd.aggregator.stall-timeout} ({@link ConsumerWatchdog}). Nothing in the process can be trusted
 * after the first, a stuck thread may never come back, and a pod that is up but aggregates nothing is worse than a
 * restart: Kubernetes restarts it, and the new process re-reads from the stored offsets.
 */
@Liveness
@ApplicationScoped
public class ConsumerLivenessCheck implements HealthCheck {

    @Inject
    ActivationConsumer consumer;

    @Inject
    AggregatorConfig config;

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("activation-consumer-alive");
        if (consumer.fatalError().isPresent()) {
            return b.down().withData("error", consumer.fatalError().get().toString()).build();
        }
        Optional<Duration> stuck = consumer.withoutProgress();
        if (stuck.isPresent() && stuck.get().compareTo(config.stallTimeout()) >= 0) {
            return b.down().withData("stuckForSeconds", stuck.get().toSeconds()).build();
        }
        return b.up().build();
    }
}
