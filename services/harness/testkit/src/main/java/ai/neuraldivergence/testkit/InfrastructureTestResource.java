package ai.neuraldivergence.testkit;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Points a {@code @QuarkusTest} application at the JVM's real Kafka and PostgreSQL ({@link TestInfrastructure}).
 * Each application gets a database of its own, so migrations and rows of one test class never meet another's.
 */
public class InfrastructureTestResource implements QuarkusTestResourceLifecycleManager {

    @Override
    public Map<String, String> start() {
        TestInfrastructure infrastructure = TestInfrastructure.shared();
        return Map.of(
                "kafka.bootstrap.servers", infrastructure.kafkaBootstrapServers(),
                "quarkus.datasource.jdbc.url", infrastructure.newDatabase("quarkus_test"),
                "quarkus.datasource.username", TestInfrastructure.DB_USER,
                "quarkus.datasource.password", TestInfrastructure.DB_PASSWORD);
    }

    @Override
    public void stop() {
        // the shared infrastructure outlives one application; a JVM shutdown hook stops it
    }
}
