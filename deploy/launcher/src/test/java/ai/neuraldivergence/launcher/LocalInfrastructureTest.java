package ai.neuraldivergence.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher as a user runs it: a separate JVM that brings up Kafka and PostgreSQL, refuses a second start on the
 * same run folder, and leaves no process behind when asked to stop.
 */
class LocalInfrastructureTest {

    @TempDir
    Path runDir;

    @Test
    void startsRealKafkaAndPostgresRefusesASecondStartAndStopsCleanly() throws Exception {
        int kafkaPort = freePort();
        int controllerPort = freePort();
        int postgresPort = freePort();
        Process launcher = launch(kafkaPort, controllerPort, postgresPort, runDir.resolve("launcher.out"));
        try {
            awaitLine(runDir.resolve("launcher.out"), "READY", launcher);

            Properties env = new Properties();
            try (var in = Files.newBufferedReader(runDir.resolve("infrastructure.env"))) {
                env.load(in);
            }
            assertEquals("127.0.0.1:" + kafkaPort, env.getProperty("KAFKA_BOOTSTRAP_SERVERS"));
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", env.getProperty("KAFKA_BOOTSTRAP_SERVERS")))) {
                Set<String> topics = admin.listTopics().names().get(30, TimeUnit.SECONDS);
                assertTrue(topics.containsAll(LocalInfrastructure.TOPICS.keySet()), topics.toString());
                assertEquals(4, admin.describeTopics(List.of("nd.activations")).allTopicNames()
                        .get(30, TimeUnit.SECONDS).get("nd.activations").partitions().size());
            }
            try (Connection c = DriverManager.getConnection(env.getProperty("QUARKUS_DATASOURCE_JDBC_URL"),
                    env.getProperty("QUARKUS_DATASOURCE_USERNAME"), env.getProperty("QUARKUS_DATASOURCE_PASSWORD"));
                    ResultSet rs = c.createStatement().executeQuery("SELECT current_user")) {
                rs.next();
                assertEquals("neuraldivergence", rs.getString(1), "the services' default credentials work");
            }
            // the comparison service's login, a member of the role the migrations grant, its password for this user
            Path comparisonEnv = runDir.resolve(LocalInfrastructure.COMPARISON_ENV);
            assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(comparisonEnv));
            Properties comparison = new Properties();
            try (var in = Files.newBufferedReader(comparisonEnv)) {
                comparison.load(in);
            }
            try (Connection c = DriverManager.getConnection(env.getProperty("QUARKUS_DATASOURCE_JDBC_URL"),
                    comparison.getProperty("ND_COMPARISON_DB_USERNAME"),
                    comparison.getProperty("ND_COMPARISON_DB_PASSWORD"));
                    ResultSet rs = c.createStatement().executeQuery("SELECT current_user, "
                            + "pg_has_role(current_user, 'nd_comparison', 'USAGE'), rolsuper, rolcreaterole "
                            + "FROM pg_roles WHERE rolname = current_user")) {
                rs.next();
                assertEquals("nd_comparison_app", rs.getString(1));
                assertTrue(rs.getBoolean(2), "a member of nd_comparison");
                assertFalse(rs.getBoolean(3) || rs.getBoolean(4), "no administrative attribute");
            }

            Process second = launch(freePort(), freePort(), freePort(), runDir.resolve("second.out"));
            assertTrue(second.waitFor(60, TimeUnit.SECONDS));
            assertEquals(3, second.exitValue());
            assertTrue(Files.readString(runDir.resolve("second.out")).contains("already runs"));

            long kafkaPid = Long.parseLong(Files.readString(runDir.resolve("kafka.pid")).trim());
            long postgresPid = Long.parseLong(
                    Files.readAllLines(runDir.resolve("postgres/postmaster.pid")).get(0).trim());
            assertTrue(LocalInfrastructure.running(kafkaPid));
            assertTrue(LocalInfrastructure.running(postgresPid));

            launcher.destroy(); // SIGTERM, as the run script and Ctrl-C do
            assertTrue(launcher.waitFor(90, TimeUnit.SECONDS), "launcher stops");
            assertFalse(LocalInfrastructure.running(kafkaPid), "Kafka left running");
            assertFalse(LocalInfrastructure.running(postgresPid), "PostgreSQL left running");
        } finally {
            launcher.destroyForcibly();
        }
    }

    private Process launch(int kafkaPort, int controllerPort, int postgresPort, Path out) throws IOException {
        String classPath = "target/classes" + java.io.File.pathSeparator + "target/lib/*";
        return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", classPath, LocalInfrastructure.class.getName(), "--run-dir", runDir.toString(),
                "--kafka-port", Integer.toString(kafkaPort), "--kafka-controller-port",
                Integer.toString(controllerPort), "--postgres-port", Integer.toString(postgresPort))
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    }

    private static void awaitLine(Path file, String prefix, Process process) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.readAllLines(file).stream().anyMatch(l -> l.startsWith(prefix))) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError("launcher exited with " + process.exitValue() + ": "
                        + Files.readString(file));
            }
            Thread.sleep(200);
        }
        throw new AssertionError("launcher not ready: " + Files.readString(file));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
