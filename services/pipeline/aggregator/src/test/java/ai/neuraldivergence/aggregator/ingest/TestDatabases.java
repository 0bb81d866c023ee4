package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.testkit.TestInfrastructure;
import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import java.sql.SQLException;
import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;

/** New databases on the shared test PostgreSQL, migrated by Flyway, for the tests that run without the application. */
public final class TestDatabases {

    private TestDatabases() {
    }

    /** A new migrated database, one connection per use. */
    public static PGSimpleDataSource migrated(String prefix) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(TestInfrastructure.shared().newDatabase(prefix));
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        Flyway.configure().dataSource(ds).load().migrate();
        return ds;
    }

    /** A new migrated database behind a pool of 8 connections, as concurrent writers use it. */
    public static AgroalDataSource pooled(String prefix) throws SQLException {
        String url = TestInfrastructure.shared().newDatabase(prefix);
        AgroalDataSource ds = AgroalDataSource.from(new AgroalDataSourceConfigurationSupplier()
                .connectionPoolConfiguration(p -> p.maxSize(8).connectionFactoryConfiguration(f -> f.jdbcUrl(url)
                        .principal(new NamePrincipal(TestInfrastructure.DB_USER))
                        .credential(new SimplePassword(TestInfrastructure.DB_PASSWORD)))));
        Flyway.configure().dataSource(url, TestInfrastructure.DB_USER, TestInfrastructure.DB_PASSWORD).load()
                .migrate();
        return ds;
    }
}
