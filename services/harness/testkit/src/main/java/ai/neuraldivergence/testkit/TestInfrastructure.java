package ai.neuraldivergence.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.postgresql.PGConnection;

/**
 * A real Kafka broker (KRaft, combined broker and controller) and a real PostgreSQL, on loopback, inside the test
 * JVM. Started once per JVM and shared by every test class in it (each start costs seconds); closed by a shutdown
 * hook so no postgres process outlives the tests. Tests isolate themselves by using their own model ids, consumer
 * groups or databases ({@link #newDatabase}).
 */
public final class TestInfrastructure {

    public static final String DB_USER = "postgres";
    public static final String DB_PASSWORD = "postgres";

    /** The comparison service's group role, created by the schema's migration V9 and granted by afterMigrate. */
    public static final String COMPARISON_ROLE = "nd_comparison";

    /** The comparison service's login in tests: a member of {@link #COMPARISON_ROLE}, as an operator creates one. */
    public static final String COMPARISON_DB_USER = "nd_comparison_test";

    /** A login role of this PostgreSQL and its password. */
    public record DbLogin(String user, String password) {

        /** The user alone: a login printed in a test report shows no password. */
        @Override
        public String toString() {
            return user;
        }
    }

    private static TestInfrastructure shared;

    private final EmbeddedPostgres postgres;
    private final KafkaClusterTestKit kafka;
    private final AtomicInteger databases = new AtomicInteger();
    private DbLogin comparisonLogin;

    private TestInfrastructure(EmbeddedPostgres postgres, KafkaClusterTestKit kafka) {
        this.postgres = postgres;
        this.kafka = kafka;
    }

    /** The JVM's infrastructure, started on first use. */
    public static synchronized TestInfrastructure shared() {
        if (shared == null) {
            shared = start();
            TestInfrastructure started = shared;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "test-infrastructure-stop"));
        }
        return shared;
    }

    private static TestInfrastructure start() {
        // a broker fault while the JVM shuts down must not halt the test JVM with a failing exit code (surefire
        // then reports the whole module as failed after its tests passed): report it instead
        org.apache.kafka.common.utils.Exit.setHaltProcedure((code, message) ->
                System.err.println("test Kafka asked to halt (" + code + "): " + message));
        org.apache.kafka.common.utils.Exit.setExitProcedure((code, message) ->
                System.err.println("test Kafka asked to exit (" + code + "): " + message));
        EmbeddedPostgres postgres = null;
        try {
            long t0 = System.nanoTime();
            // a test database need not survive a power cut: no fsync, so that tests writing gigabytes (wide taps) spend
            // their time in the code under test rather than waiting for the disk
            postgres = EmbeddedPostgres.builder().setServerConfig("fsync", "off")
                    .setServerConfig("synchronous_commit", "off").setServerConfig("full_page_writes", "off").start();
            long t1 = System.nanoTime();
            KafkaClusterTestKit kafka = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                    .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
                    // with one broker, internal topics must not ask for more replicas, or consumers hang silently
                    .setConfigProp("offsets.topic.replication.factor", "1")
                    .setConfigProp("transaction.state.log.replication.factor", "1")
                    .setConfigProp("transaction.state.log.min.isr", "1")
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    .setConfigProp("auto.create.topics.enable", "true")
                    .setConfigProp("num.partitions", "2")
                    .build();
            kafka.format();
            kafka.startup();
            kafka.waitForReadyBrokers();
            long t2 = System.nanoTime();
            System.out.printf("test infrastructure: postgres %d ms, kafka %d ms (%s)%n", (t1 - t0) / 1_000_000,
                    (t2 - t1) / 1_000_000, kafka.bootstrapServers());
            return new TestInfrastructure(postgres, kafka);
        } catch (Exception e) {
            if (postgres != null) {
                try {
                    postgres.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw new IllegalStateException("could not start the test Kafka and PostgreSQL", e);
        }
    }

    public String kafkaBootstrapServers() {
        return kafka.bootstrapServers();
    }

    /**
     * JDBC URL of the default {@code postgres} database. No URL here names a user: the driver lets a user in the URL
     * override the one a connection is opened with, which would let a test meant to run as a restricted role run
     * as the superuser unnoticed.
     */
    public String jdbcUrl() {
        return jdbcUrl("postgres");
    }

    private String jdbcUrl(String database) {
        return "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + database;
    }

    /** Creates an empty database and returns its JDBC URL: for tests that need a schema of their own. */
    public String newDatabase(String prefix) {
        String name = prefix + "_" + databases.incrementAndGet() + "_" + ProcessHandle.current().pid();
        try (Connection c = DriverManager.getConnection(jdbcUrl(), DB_USER, DB_PASSWORD);
                Statement s = c.createStatement()) {
            // name is built from a fixed prefix and numbers, never from user input
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name, e);
        }
        return jdbcUrl(name);
    }

    /**
     * The login the comparison service connects with in tests ({@link #COMPARISON_DB_USER}, a member of
     * {@link #COMPARISON_ROLE}), created on first call with a random password. Roles belong to the whole PostgreSQL,
     * so one login serves every database; what it may do in each is what that database's migration granted. Call
     * it once a schema has been migrated: the migration creates the role it joins, and that is checked here.
     */
    public synchronized DbLogin comparisonLogin() {
        if (comparisonLogin != null) {
            return comparisonLogin;
        }
        byte[] secret = new byte[18];
        new SecureRandom().nextBytes(secret);
        DbLogin login = new DbLogin(COMPARISON_DB_USER, Base64.getUrlEncoder().withoutPadding().encodeToString(secret));
        try (Connection c = DriverManager.getConnection(jdbcUrl(), DB_USER, DB_PASSWORD)) {
            if (!roleExists(c, COMPARISON_ROLE)) {
                throw new IllegalStateException("role " + COMPARISON_ROLE + " does not exist: migrate a schema "
                        + "first (V9__comparison_role.sql creates it)");
            }
            if (!roleExists(c, COMPARISON_DB_USER)) {
                try (Statement s = c.createStatement()) {
                    // fixed identifiers (a role statement takes no parameters); the password is set below
                    s.execute("CREATE ROLE " + COMPARISON_DB_USER + " LOGIN IN ROLE " + COMPARISON_ROLE);
                }
            }
            // hashed here (SCRAM), so that the password never reaches the server or its log as text
            c.unwrap(PGConnection.class).alterUserPassword(login.user(), login.password().toCharArray(),
                    "scram-sha-256");
        } catch (SQLException e) {
            throw new IllegalStateException("could not create the comparison login", e);
        }
        comparisonLogin = login;
        return login;
    }

    private static boolean roleExists(Connection c, String role) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_roles WHERE rolname = ?")) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void close() {
        try {
            kafka.close();
        } catch (Exception e) {
            System.err.println("stopping test Kafka: " + e);
        }
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
