package ai.neuraldivergence.launcher;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka broker (KRaft, combined broker and controller, from {@code kafka_2.13}) and a real PostgreSQL
 * (embedded binaries) on loopback, for running the platform on one machine without Docker.
 *
 * <p>One instance per run folder: a file lock refuses a second start (two brokers on one log folder corrupt it).
 * Stops cleanly on SIGTERM/SIGINT: the broker child process first, then PostgreSQL, so that no process outlives
 * it. Prints the addresses and writes them as environment lines to {@code infrastructure.env}.
 */
public final class LocalInfrastructure {

    private static final Logger LOG = LoggerFactory.getLogger(LocalInfrastructure.class);

    /** The database, user and password the services' default configuration expects. */
    static final String DATABASE = "neuraldivergence";

    /** The comparison service's group role: the migrations let it read every table and write references. */
    static final String COMPARISON_ROLE = "nd_comparison";

    /** The login the comparison service connects with, a member of {@link #COMPARISON_ROLE}. */
    static final String COMPARISON_USER = "nd_comparison_app";

    /** Where the comparison service's credentials are written (mode 600), for the run script to hand it alone. */
    static final String COMPARISON_ENV = "comparison-db.env";

    /** Topics and partitions: activation partitions bound how many aggregators can share the work. */
    static final Map<String, Integer> TOPICS = Map.of(
            "nd.activations", 4,
            "nd.activations.dlq", 1,
            "nd.labels", 4,
            "nd.window-updates", 1);

    /** The broker's default max.message.bytes (1,048,588) plus room for a dead letter's headers. */
    static final int DEAD_LETTER_MAX_BYTES = 1_048_588 + 64 * 1024;

    private final LauncherOptions options;
    private KafkaBroker kafka;
    private EmbeddedPostgres postgres;
    private String comparisonPassword;

    LocalInfrastructure(LauncherOptions options) {
        this.options = options;
    }

    public static void main(String[] args) throws Exception {
        LauncherOptions options;
        try {
            options = LauncherOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(LauncherOptions.USAGE);
            System.exit(2);
            return;
        }
        Files.createDirectories(options.runDir());
        try (FileChannel lockFile = FileChannel.open(options.runDir().resolve("launcher.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = lockFile.tryLock()) {
            if (lock == null) {
                System.err.println("error: the local infrastructure already runs from " + options.runDir()
                        + " (see " + options.runDir().resolve("launcher.pid") + "); stop it first");
                System.exit(3);
                return;
            }
            Files.writeString(options.runDir().resolve("launcher.pid"), ProcessHandle.current().pid() + "\n");
            LocalInfrastructure infrastructure = new LocalInfrastructure(options);
            Runtime.getRuntime().addShutdownHook(new Thread(infrastructure::stop, "local-infrastructure-stop"));
            try {
                infrastructure.start();
            } catch (Exception e) {
                LOG.error("could not start the local infrastructure: {}", e.toString());
                System.exit(1);
            }
            infrastructure.announce(System.out);
            Thread.currentThread().join();
        }
    }

    void start() throws Exception {
        startPostgres();
        startKafka();
        createTopics();
    }

    private void startPostgres() throws IOException, SQLException {
        Path data = options.runDir().resolve("postgres");
        Files.createDirectories(data);
        postgres = EmbeddedPostgres.builder()
                .setPort(options.postgresPort())
                .setDataDirectory(data)
                .setCleanDataDirectory(false)
                .start();
        try (Connection c = postgres.getPostgresDatabase().getConnection()) {
            if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", DATABASE)) {
                try (Statement s = c.createStatement()) {
                    // fixed identifiers: nothing here comes from input
                    s.execute("CREATE ROLE " + DATABASE + " LOGIN PASSWORD '" + DATABASE + "'");
                }
            }
            if (!exists(c, "SELECT 1 FROM pg_database WHERE datname = ?", DATABASE)) {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE DATABASE " + DATABASE + " OWNER " + DATABASE);
                }
            }
            createComparisonLogin(c);
        }
        LOG.info("PostgreSQL ready on 127.0.0.1:{}", options.postgresPort());
    }

    /**
     * The comparison service connects as a member of {@link #COMPARISON_ROLE}, which reads every table and writes
     * only references. The services' user may not create roles here, as in production, so the roles are made as an
     * administrator makes them (the migration V9 would only warn); the aggregator grants the role its privileges
     * when it migrates. The login gets a new random password at every start, known to this run alone.
     */
    private void createComparisonLogin(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            // fixed identifiers (a role statement takes no parameters); the password is set below
            if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", COMPARISON_ROLE)) {
                s.execute("CREATE ROLE " + COMPARISON_ROLE + " NOLOGIN");
            }
            if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", COMPARISON_USER)) {
                s.execute("CREATE ROLE " + COMPARISON_USER + " LOGIN IN ROLE " + COMPARISON_ROLE);
            }
        }
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        comparisonPassword = Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        // hashed here (SCRAM), so that the password never reaches the server or its log as text
        c.unwrap(PGConnection.class).alterUserPassword(COMPARISON_USER, comparisonPassword.toCharArray(),
                "scram-sha-256");
    }

    private static boolean exists(Connection c, String sql, String name) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private void startKafka() throws IOException, InterruptedException {
        kafka = new KafkaBroker(options.runDir().resolve("kafka"), options.runDir().resolve("logs"),
                options.kafkaPort(), options.kafkaControllerPort(), "512m");
        kafka.start();
        Files.writeString(options.runDir().resolve("kafka.pid"), kafka.pid() + "\n");
        LOG.info("Kafka ready on 127.0.0.1:{}", options.kafkaPort());
    }

    private void createTopics() throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            Set<String> existing = admin.listTopics().names().get(60, TimeUnit.SECONDS);
            List<NewTopic> missing = new ArrayList<>();
            TOPICS.forEach((name, partitions) -> {
                if (!existing.contains(name)) {
                    NewTopic topic = new NewTopic(name, partitions, (short) 1);
                    if (name.equals("nd.activations.dlq")) {
                        // a dead letter is a record as received plus headers: it needs more room than the broker's
                        // default, which every other topic has
                        topic.configs(Map.of("max.message.bytes", Integer.toString(DEAD_LETTER_MAX_BYTES)));
                    }
                    missing.add(topic);
                }
            });
            admin.createTopics(missing).all().get(60, TimeUnit.SECONDS);
        }
    }

    private java.util.Optional<ProcessHandle> postmaster() {
        try {
            List<String> lines = Files.readAllLines(options.runDir().resolve("postgres/postmaster.pid"));
            return lines.isEmpty() ? java.util.Optional.empty() : ProcessHandle.of(Long.parseLong(lines.get(0).trim()));
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    /**
     * Whether a process runs: an exited process that its parent has not reaped yet (a zombie, as under a container
     * init that does not reap) counts as stopped.
     */
    static boolean running(long pid) {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (Files.isReadable(stat)) {
            try {
                String s = Files.readString(stat);
                char state = s.charAt(s.lastIndexOf(')') + 2);
                return state != 'Z' && state != 'X';
            } catch (IOException | IndexOutOfBoundsException e) {
                return false;
            }
        }
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    String bootstrapServers() {
        return "127.0.0.1:" + options.kafkaPort();
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + options.postgresPort() + "/" + DATABASE;
    }

    void announce(PrintStream out) throws IOException {
        String env = "KAFKA_BOOTSTRAP_SERVERS=" + bootstrapServers() + "\n"
                + "QUARKUS_DATASOURCE_JDBC_URL=" + jdbcUrl() + "\n"
                + "QUARKUS_DATASOURCE_USERNAME=" + DATABASE + "\n"
                + "QUARKUS_DATASOURCE_PASSWORD=" + DATABASE + "\n";
        Path file = options.runDir().resolve("infrastructure.env");
        Files.writeString(file, env, StandardCharsets.UTF_8);
        // the comparison service's own credentials, readable by this user alone from the moment the file exists
        Path comparison = options.runDir().resolve(COMPARISON_ENV);
        Files.deleteIfExists(comparison);
        Files.createFile(comparison, PosixFilePermissions.asFileAttribute(
                EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
        Files.writeString(comparison, "ND_COMPARISON_DB_USERNAME=" + COMPARISON_USER + "\n"
                + "ND_COMPARISON_DB_PASSWORD=" + comparisonPassword + "\n", StandardCharsets.UTF_8);
        out.println("Kafka       " + bootstrapServers());
        out.println("PostgreSQL  " + jdbcUrl() + " (user " + DATABASE + "; the comparison service's: "
                + COMPARISON_USER + ")");
        out.println("READY       " + file);
        out.flush();
    }

    /** Broker first (it may still write), then PostgreSQL; each waited for, so nothing is left running. */
    void stop() {
        if (kafka != null) {
            kafka.stop();
        }
        if (postgres != null) {
            java.util.Optional<ProcessHandle> postmaster = postmaster();
            try {
                postgres.close();
            } catch (IOException e) {
                LOG.error("stopping PostgreSQL: {}", e.toString());
            }
            // pg_ctl returns when the pid file is gone, a moment before the postmaster itself has exited
            postmaster.ifPresent(p -> {
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (running(p.pid()) && System.nanoTime() < deadline) {
                    sleepQuietly(100);
                }
                if (running(p.pid())) {
                    LOG.warn("PostgreSQL (pid {}) still running after stop", p.pid());
                }
            });
        }
        try {
            Files.deleteIfExists(options.runDir().resolve("kafka.pid"));
            Files.deleteIfExists(options.runDir().resolve("launcher.pid"));
        } catch (IOException e) {
            LOG.warn("could not remove pid files: {}", e.toString());
        }
        System.out.println("stopped");
    }
}
