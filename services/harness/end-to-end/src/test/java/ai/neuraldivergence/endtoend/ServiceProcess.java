package ai.neuraldivergence.endtoend;

import ai.neuraldivergence.testkit.TestInfrastructure;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** One packaged service ({@code target/quarkus-app/quarkus-run.jar}) running as its own JVM, as in production. */
record ServiceProcess(String name, int port, int managementPort, Process process, Path log) implements AutoCloseable {

    /** Starts {@code services/pipeline/<module>} with the given environment on free ports (its API and its management). */
    static ServiceProcess start(String module, Map<String, String> environment) throws IOException {
        return start(module, environment, java.util.List.of(), module);
    }

    /**
     * Starts {@code services/pipeline/<module>} with extra JVM options (system properties such as Kafka client settings),
     * logging to {@code target/e2e-logs/<logName>.log} (appended, so restarts keep one history).
     */
    static ServiceProcess start(String module, Map<String, String> environment, java.util.List<String> jvmOptions,
            String logName) throws IOException {
        Path servicesDir = Path.of(System.getProperty("nd.services.dir", "../.."));
        Path jar = servicesDir.resolve("pipeline").resolve(module).resolve("target/quarkus-app/quarkus-run.jar");
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: run the whole build (./mvnw verify), which packages "
                    + "the services before this module's tests");
        }
        int port = freePort();
        int managementPort = freePort();
        Path logs = Path.of("target", "e2e-logs");
        Files.createDirectories(logs);
        Path log = logs.resolve(logName + ".log");
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(javaBinary(), "-Xmx256m"));
        command.addAll(jvmOptions);
        command.addAll(java.util.List.of("-jar", jar.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // no balancer waits to take a stopping service out here: no shutdown delay, unless the test sets one
        pb.environment().put("QUARKUS_SHUTDOWN_DELAY", "0s");
        pb.environment().putAll(environment);
        pb.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        pb.environment().put("QUARKUS_MANAGEMENT_PORT", Integer.toString(managementPort));
        return new ServiceProcess(module, port, managementPort, pb.start(), log);
    }

    /**
     * What every service needs: the test JVM's broker, and {@code jdbcUrl} under the schema owner's login. Mutable, for
     * the test's own settings.
     */
    static Map<String, String> environment(String jdbcUrl) {
        return environment(TestInfrastructure.shared().kafkaBootstrapServers(), jdbcUrl);
    }

    /** {@link #environment(String)} with another broker (one the test stops and starts). */
    static Map<String, String> environment(String bootstrap, String jdbcUrl) {
        Map<String, String> env = new java.util.HashMap<>();
        env.put("KAFKA_BOOTSTRAP_SERVERS", bootstrap);
        env.put("QUARKUS_DATASOURCE_JDBC_URL", jdbcUrl);
        env.put("QUARKUS_DATASOURCE_USERNAME", TestInfrastructure.DB_USER);
        env.put("QUARKUS_DATASOURCE_PASSWORD", TestInfrastructure.DB_PASSWORD);
        return env;
    }

    /**
     * {@link #environment(String)} with topics of one test's own, {@code <prefix>.activations}, {@code <prefix>.labels}
     * and so on: the tests share a broker, and a service reading the default topics would count what another test
     * sent.
     */
    static Map<String, String> isolated(String jdbcUrl, String topicPrefix) {
        Map<String, String> env = environment(jdbcUrl);
        env.putAll(Map.of("ND_TOPICS_ACTIVATIONS", topicPrefix + ".activations",
                "ND_TOPICS_LABELS", topicPrefix + ".labels",
                "ND_TOPICS_DEAD_LETTER", topicPrefix + ".activations.dlq",
                "ND_TOPICS_INPUTS", topicPrefix + ".inputs",
                "ND_TOPICS_WINDOW_UPDATES", topicPrefix + ".window-updates",
                "ND_TOPICS_REFERENCE_SEALS", topicPrefix + ".reference-seals"));
        return env;
    }

    /** The model the inference service serves, TensorFlow's own logging down to warnings and errors. */
    static Map<String, String> model(String savedModel) {
        return Map.of("ND_MODEL_PATH", savedModel, "TF_CPP_MIN_LOG_LEVEL", "2");
    }

    /**
     * {@code environment} with the comparison service's database login in place of the schema owner's, as in
     * production: a member of nd_comparison, which reads every table and writes only references. Call it once the
     * aggregator has migrated a schema (the migration creates the role the login joins).
     */
    static Map<String, String> asComparison(Map<String, String> environment) {
        TestInfrastructure.DbLogin login = TestInfrastructure.shared().comparisonLogin();
        Map<String, String> env = new java.util.HashMap<>(environment);
        env.put("QUARKUS_DATASOURCE_USERNAME", login.user());
        env.put("QUARKUS_DATASOURCE_PASSWORD", login.password());
        return env;
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** Quarkus' management interface, a port apart from the API's: {@code /q/health} and {@code /q/metrics}. */
    String managementUrl() {
        return "http://127.0.0.1:" + managementPort;
    }

    /** Waits until {@code /q/health/ready} answers 200. */
    void awaitReady(Duration timeout) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException(name + " exited with " + process.exitValue() + "; see " + log);
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(managementUrl()
                        + "/q/health/ready"))
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException(name + " not ready after " + timeout + ": " + last + "; see " + log);
    }

    /** Waits until readiness answers {@code status} (200 ready, 503 not ready), failing after 90 s. */
    void awaitReadiness(int status) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        int last = 0;
        while (System.nanoTime() < deadline) {
            last = http.send(HttpRequest.newBuilder(URI.create(managementUrl() + "/q/health/ready"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
            if (last == status) {
                return;
            }
            Thread.sleep(250);
        }
        throw new AssertionError(name + ": readiness answered " + last + ", expected " + status + "; see " + log);
    }

    /** SIGKILL: no shutdown hook, no last flush, as in a crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGSTOP or SIGCONT: freezes or resumes the JVM, as a long GC pause or a stalled VM would. */
    void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (kill.waitFor() != 0) {
            throw new IllegalStateException("kill -" + name + " failed");
        }
    }

    /** The last {@code lines} lines of this service's log, for a failure message (CI keeps no log files). */
    String logTail(int lines) {
        try {
            java.util.List<String> all = Files.readAllLines(log, java.nio.charset.StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e + ")";
        }
    }

    /**
     * For a failure message that CI may cut in its middle: the thread stacks of this service's stall warnings first
     * (without the JDK's frames), then its last {@code lines} WARN and ERROR lines (their first 200 characters, the
     * exceptions' traces left out).
     */
    String warnings(int lines) {
        java.util.List<String> all;
        try {
            all = Files.readAllLines(log, java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e + ")";
        }
        java.util.List<String> stalls = new java.util.ArrayList<>();
        java.util.List<String> warnings = new java.util.ArrayList<>();
        boolean inStall = false;
        for (String line : all) {
            if (line.matches("^\\d{4}-\\d{2}-\\d{2} .*")) {
                boolean warning = line.contains(" WARN ") || line.contains(" ERROR ");
                inStall = warning && line.contains("has been stuck");
                if (inStall) {
                    stalls.add(line.length() > 200 ? line.substring(0, 200) + "…" : line);
                } else if (warning) {
                    warnings.add(line.length() > 200 ? line.substring(0, 200) + "…" : line);
                }
            } else if (inStall && !line.matches("^\\s+at (java\\.|sun\\.|jdk\\.).*")) {
                stalls.add(line);
            }
        }
        java.util.List<String> out = new java.util.ArrayList<>(stalls);
        out.addAll(warnings.subList(Math.max(0, warnings.size() - lines), warnings.size()));
        return String.join("\n", out);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    // ports handed out by this JVM: two services started back to back must not get the same one
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A port free on this machine now (for a process about to bind it), below Linux's ephemeral range
     * (32768-60999): a port the kernel picked would be handed to the next outgoing connection of any process just as
     * readily (Kafka and PostgreSQL clients open many), and a service seconds from binding it would find it taken.
     */
    static int freePort() {
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 200; attempt++) {
            int candidate = random.nextInt(20_000, 32_000);
            if (HANDED_OUT.contains(candidate)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket(candidate)) {
                HANDED_OUT.add(candidate);
                return candidate;
            } catch (IOException taken) {
                // in use: try another
            }
        }
        throw new UncheckedIOException(new IOException("no free port in 20000..32000 after 200 attempts"));
    }

    @Override
    public String toString() {
        return name + " on " + port + ", management " + managementPort + " (log " + log.toAbsolutePath()
                + File.separator + ")";
    }
}
