package ai.neuraldivergence.comparison;

import ai.neuraldivergence.testkit.TestInfrastructure;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Qualifier;
import jakarta.inject.Singleton;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The schema owner's connection to the test database, for seeding what the aggregator writes (windows, taps,
 * observations), which the service's own connection (the role {@code nd_comparison}) may not write.
 */
@Qualifier
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER})
public @interface SchemaOwner {

    /** Produces the owner's {@link DataSource} for the database the application under test reads. */
    @Singleton
    class Producer {

        @Produces
        @Singleton
        @SchemaOwner
        DataSource owner(@ConfigProperty(name = "quarkus.datasource.jdbc.url") String jdbcUrl) {
            PGSimpleDataSource owner = new PGSimpleDataSource();
            owner.setUrl(jdbcUrl);
            owner.setUser(TestInfrastructure.DB_USER);
            owner.setPassword(TestInfrastructure.DB_PASSWORD);
            return owner;
        }
    }
}
