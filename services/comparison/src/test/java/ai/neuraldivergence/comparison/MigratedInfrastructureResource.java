package ai.neuraldivergence.comparison;

import ai.neuraldivergence.testkit.InfrastructureTestResource;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.util.Map;
import org.flywaydb.core.Flyway;

/**
 * Real Kafka and PostgreSQL with the schema applied: in production the aggregator migrates the database this
 * service reads, so the service itself carries no migration tool.
 */
public class MigratedInfrastructureResource extends InfrastructureTestResource {

    @Override
    public Map<String, String> start() {
        Map<String, String> config = super.start();
        Flyway.configure()
                .dataSource(config.get("quarkus.datasource.jdbc.url"), TestInfrastructure.DB_USER,
                        TestInfrastructure.DB_PASSWORD)
                .load().migrate();
        return config;
    }
}
