package ai.neuraldivergence.comparison;

import ai.neuraldivergence.testkit.InfrastructureTestResource;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.util.HashMap;
import java.util.Map;
import org.flywaydb.core.Flyway;

/**
 * Real Kafka and PostgreSQL with the schema applied: in production the aggregator migrates the database this
 * service reads, so the service itself carries no migration tool. The schema is migrated as its owner; the service
 * then connects as it does in production, as a login of the role {@code nd_comparison} (which reads every table and
 * writes only references), so that a query needing more than that fails here. Tests seed what the aggregator would
 * write through the owner's connection ({@link SchemaOwner}).
 */
public class MigratedInfrastructureResource extends InfrastructureTestResource {

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        Flyway.configure()
                .dataSource(config.get("quarkus.datasource.jdbc.url"), TestInfrastructure.DB_USER,
                        TestInfrastructure.DB_PASSWORD)
                .load().migrate();
        TestInfrastructure.DbLogin login = TestInfrastructure.shared().comparisonLogin();
        config.put("quarkus.datasource.username", login.user());
        config.put("quarkus.datasource.password", login.password());
        return config;
    }
}
