package ai.neuraldivergence.aggregator.health;

import io.smallrye.common.annotation.Identifier;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;

/**
 * Ready while a Kafka broker answers within {@value #TIMEOUT_MS} ms. Replaces the Kafka extension's check, which
 * waits for the admin client's default API timeout (a minute) while the broker is away, so that readiness probes
 * time out instead of answering DOWN.
 */
@Readiness
@ApplicationScoped
public class BrokerHealthCheck implements HealthCheck {

    static final int TIMEOUT_MS = 3_000;

    private final Admin admin;

    @Inject
    public BrokerHealthCheck(@Identifier("default-kafka-broker") Map<String, Object> kafkaConfig) {
        Map<String, Object> c = new HashMap<>(kafkaConfig);
        c.put(AdminClientConfig.CLIENT_ID_CONFIG, "nd-aggregator-health");
        c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, TIMEOUT_MS);
        c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, TIMEOUT_MS);
        // only the admin client's own settings: the consumer's and producer's would be logged as unknown
        c.keySet().retainAll(AdminClientConfig.configNames());
        this.admin = Admin.create(c);
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder b = HealthCheckResponse.named("kafka-broker");
        try {
            Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(TIMEOUT_MS))
                    .nodes().get(TIMEOUT_MS + 500L, TimeUnit.MILLISECONDS);
            return b.up().withData("nodes", nodes.size()).build();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return b.down().withData("error", "interrupted").build();
        } catch (Exception e) {
            return b.down().withData("error", String.valueOf(e.getCause() == null ? e : e.getCause())).build();
        }
    }

    @PreDestroy
    void close() {
        admin.close(java.time.Duration.ofSeconds(2));
    }
}
