package ai.neuraldivergence.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;

/**
 * A real Kafka broker (KRaft, combined broker and controller) and a real PostgreSQL, on loopback, inside the test
 * JVM. Started once per JVM and shared by every test class in it (each start costs seconds); closed by a shutdown
 * hook so no postgres process outlives the tests. Tests isolate themselves by using their own model ids, consumer
 * groups or databases ({@link #newDatabase}).
 */
public final class TestInfrastructure {

    public static final String DB_USER = "postgres";
    public static final String DB_PASSWORD = "postgres";

    private static TestInfrastructure shared;

    private final EmbeddedPostgres postgres;
    private final KafkaClusterTestKit kafka;
    private final AtomicInteger databases = new AtomicInteger();

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

    /** JDBC URL of the default {@code postgres} database. */
    public String jdbcUrl() {
        return postgres.getJdbcUrl(DB_USER, "postgres");
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
        return postgres.getJdbcUrl(DB_USER, name);
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
