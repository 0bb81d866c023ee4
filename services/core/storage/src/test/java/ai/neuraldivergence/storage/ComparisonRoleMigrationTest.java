package ai.neuraldivergence.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.Sql;
import ai.neuraldivergence.testkit.TestInfrastructure;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The comparison service's role on an installation whose aggregator may not create roles, the usual case in
 * production (its user owns the schema and nothing more): the migration does not stop on the missing role but says
 * what an administrator has to run; once the role exists, every start of the aggregator grants it exactly what it
 * needs, whatever it held before.
 */
class ComparisonRoleMigrationTest {

    private static final String OWNER = "nd_schema_owner";
    private static final String LOGIN = "nd_comparison_migration_test";

    private static String jdbcUrl;

    @BeforeAll
    static void createOwnerAndDatabase() throws SQLException {
        jdbcUrl = TestInfrastructure.shared().newDatabase("role_test");
        try (Connection c = connect(TestInfrastructure.DB_USER); Statement s = c.createStatement()) {
            // a schema owner that may log in and nothing more, as a database administrator creates one; fixed names
            s.execute("CREATE ROLE " + OWNER + " LOGIN NOCREATEROLE");
            s.execute("ALTER SCHEMA public OWNER TO " + OWNER);
            // what an administrator runs for the comparison service (the group role may exist already: roles belong
            // to the whole PostgreSQL, and the shared test one may have migrated other databases)
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = 'nd_comparison'");
                    ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    s.execute("CREATE ROLE nd_comparison NOLOGIN");
                }
            }
            s.execute("CREATE ROLE " + LOGIN + " LOGIN IN ROLE nd_comparison");
        }
    }

    @Test
    void everyStartGrantsTheRoleWhatTheListSaysAndNoMore() throws SQLException {
        migrate();
        assertNull(attempt(LOGIN, "SELECT count(*) FROM tap_window"));
        assertNull(attempt(LOGIN, "SELECT count(*) FROM recent_observation"));
        // the nulls and samples it reads, the columns later migrations added included (V23)
        assertNull(attempt(LOGIN, "SELECT quantiles FROM layer_null WHERE statistic = 'mean_ks'"));
        assertNull(attempt(LOGIN, "SELECT activations FROM calibration_sample"));
        assertEquals("42501", attempt(LOGIN, "UPDATE calibration_sample SET activations = NULL"));
        assertEquals("42501", attempt(LOGIN, "INSERT INTO tap_window SELECT * FROM tap_window"));
        assertEquals("42501", attempt(LOGIN, "DELETE FROM consumer_offset"));
        assertNull(attempt(LOGIN, "INSERT INTO reference SELECT * FROM reference"));
        assertNull(attempt(LOGIN, "DELETE FROM reference_distribution"));

        // a privilege beyond the list (granted by hand, or by an older list) goes at the next start
        execute(OWNER, "GRANT INSERT ON tap_window TO nd_comparison");
        assertNull(attempt(LOGIN, "INSERT INTO tap_window SELECT * FROM tap_window"));
        migrate();
        assertEquals("42501", attempt(LOGIN, "INSERT INTO tap_window SELECT * FROM tap_window"));

        // and privileges the role lacks (it was created after the migrations ran) come at the next start
        execute(OWNER, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM nd_comparison");
        assertEquals("42501", attempt(LOGIN, "SELECT count(*) FROM tap_window"));
        migrate();
        assertNull(attempt(LOGIN, "SELECT count(*) FROM tap_window"));
        assertNull(attempt(LOGIN, "DELETE FROM reference"));
    }

    /**
     * Without the role, and without the right to create it: the migration and the grants are the same scripts with a
     * role name that no PostgreSQL here has (the real one exists in the shared test PostgreSQL, which cannot drop
     * it while other tests' databases grant it privileges).
     */
    @Test
    void withoutTheRoleTheScriptsWarnWithWhatToRunAndDoNotFail() throws Exception {
        migrate();
        for (String script : new String[] {"V9__comparison_role.sql", "afterMigrate.sql"}) {
            String sql = resource("db/migration/" + script).replace("nd_comparison", "nd_absent")
                    .replace("${flyway:defaultSchema}", "public");
            try (Connection c = connect(OWNER); Statement s = c.createStatement()) {
                s.execute(sql);
                SQLWarning warning = s.getWarnings();
                assertTrue(warning != null && warning.getMessage().contains("CREATE ROLE nd_absent NOLOGIN;"),
                        script + ": " + warning);
            }
        }
        try (Connection c = connect(TestInfrastructure.DB_USER);
                PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = 'nd_absent'");
                ResultSet rs = ps.executeQuery()) {
            assertFalse(rs.next(), "the owner may not create roles");
        }
    }

    /**
     * A second aggregator starting while the first attaches its first partition to a partitioned table: attaching
     * rewrites the parent's catalog row, which a GRANT rewrites too without locking the table, so the start that
     * granted at that moment failed ("tuple concurrently updated") and the aggregator exited. The grants now wait for
     * the attachment and then succeed.
     */
    @Test
    void grantsWaitForAnotherAggregatorAttachingItsFirstPartition() throws Exception {
        migrate();
        execute(OWNER, "CREATE TABLE first_partition_race (t timestamptz) PARTITION BY RANGE (t)");
        execute(OWNER, "CREATE TABLE first_partition_race_legacy (LIKE first_partition_race)");
        String grants = resource("db/migration/afterMigrate.sql").replace("${flyway:defaultSchema}", "public");
        try (Connection attaching = connect(OWNER)) {
            attaching.setAutoCommit(false);
            try (Statement s = attaching.createStatement()) {
                s.execute("ALTER TABLE first_partition_race ATTACH PARTITION first_partition_race_legacy "
                        + "FOR VALUES FROM (MINVALUE) TO ('2020-01-01')");
            }
            CompletableFuture<Void> granting = CompletableFuture.runAsync(() -> {
                try (Connection c = connect(OWNER); Statement s = c.createStatement()) {
                    s.execute("SET application_name = 'nd_grant_race'");
                    s.execute(grants);
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            awaitWaitingOnALock("nd_grant_race", granting);
            attaching.commit();
            granting.get(30, TimeUnit.SECONDS);
        }
        assertNull(attempt(LOGIN, "SELECT count(*) FROM first_partition_race"));
    }

    /** Returns once the backend named {@code application} waits on a lock (or the work it does has ended). */
    private static void awaitWaitingOnALock(String application, CompletableFuture<Void> work) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (Connection c = connect(TestInfrastructure.DB_USER); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND wait_event_type = 'Lock'")) {
            ps.setString(1, application);
            while (!work.isDone()) {
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next() && rs.getInt(1) > 0) {
                        return;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(application + " never waited on a lock");
                }
                Thread.sleep(50);
            }
        }
    }

    private static void migrate() {
        PGSimpleDataSource owner = new PGSimpleDataSource();
        owner.setUrl(jdbcUrl);
        owner.setUser(OWNER);
        Flyway.configure().dataSource(owner).load().migrate();
    }

    private static Connection connect(String user) throws SQLException {
        // the test PostgreSQL trusts local connections: a role is enough
        return DriverManager.getConnection(jdbcUrl, user, "");
    }

    private static void execute(String user, String sql) throws SQLException {
        try (Connection c = connect(user); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** Runs {@code sql} as {@code user}, rolled back; the SQLSTATE it failed with, or null when it succeeded. */
    private static String attempt(String user, String sql) throws SQLException {
        return Sql.attempt(() -> connect(user), sql);
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ComparisonRoleMigrationTest.class.getClassLoader().getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
