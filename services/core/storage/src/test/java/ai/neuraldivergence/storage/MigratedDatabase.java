package ai.neuraldivergence.storage;

import ai.neuraldivergence.testkit.TestInfrastructure;
import org.flywaydb.core.Flyway;
import org.postgresql.ds.PGSimpleDataSource;

/** A new database on the shared test PostgreSQL, migrated by Flyway: every store test starts from one. */
final class MigratedDatabase {

    private MigratedDatabase() {
    }

    /** A new database, named after {@code prefix}, with every migration applied. */
    static PGSimpleDataSource create(String prefix) {
        PGSimpleDataSource ds = empty(prefix);
        Flyway.configure().dataSource(ds).load().migrate();
        return ds;
    }

    /** A new database with the migrations up to {@code version} applied: the schema an upgrade starts from. */
    static PGSimpleDataSource upTo(String prefix, String version) {
        PGSimpleDataSource ds = empty(prefix);
        Flyway.configure().dataSource(ds).target(version).load().migrate();
        return ds;
    }

    private static PGSimpleDataSource empty(String prefix) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(TestInfrastructure.shared().newDatabase(prefix));
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        return ds;
    }
}
