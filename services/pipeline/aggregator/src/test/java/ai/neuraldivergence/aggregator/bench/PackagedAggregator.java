package ai.neuraldivergence.aggregator.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The packaged aggregator (quarkus-run.jar) as a process of its own, as it runs in production, for the benchmarks:
 * started with a fixed heap and the launcher's Kafka and PostgreSQL, read through its management port.
 */
final class PackagedAggregator implements AutoCloseable {

    static final int HTTP_PORT = 18081;
    // metrics and health are served on the management interface, a port of its own
    static final int MANAGEMENT_PORT = 19081;

    private final Process process;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private PackagedAggregator(Process process) {
        this.process = process;
    }

    /**
     * Starts the jar with {@code heap} (e.g. "512m"), its output to {@code log}, with the database and broker given
     * and {@code extraEnv} on top.
     */
    static PackagedAggregator start(Path jar, String heap, String bootstrap, String jdbc, String user,
            String password, Map<String, String> extraEnv, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-jar", jar.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = new HashMap<>(Map.of("KAFKA_BOOTSTRAP_SERVERS", bootstrap,
                "QUARKUS_DATASOURCE_JDBC_URL", jdbc, "QUARKUS_DATASOURCE_USERNAME", user,
                "QUARKUS_DATASOURCE_PASSWORD", password, "QUARKUS_HTTP_PORT", Integer.toString(HTTP_PORT),
                "QUARKUS_MANAGEMENT_PORT", Integer.toString(MANAGEMENT_PORT)));
        env.putAll(extraEnv);
        pb.environment().putAll(env);
        return new PackagedAggregator(pb.start());
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until readiness answers UP (migrations applied, consumer polling). */
    void awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the aggregator exited with " + process.exitValue());
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + MANAGEMENT_PORT + "/q/health/ready")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("the aggregator was not ready within " + timeout);
    }

    /** The Prometheus text of /q/metrics. */
    String metrics() throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + MANAGEMENT_PORT + "/q/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    /**
     * The value of the first sample whose name and labels match {@code name} (a regular expression over the whole
     * name-and-labels part, e.g. {@code nd_aggregator_flush_seconds\{quantile="0.95"[^}]*\}}); NaN when absent.
     */
    static double metric(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (?<value>[0-9.eE+-]+|NaN)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group("value")) : Double.NaN;
    }

    /** The sum of every sample whose name and labels match {@code name}; 0 when there is none. */
    static double sum(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (?<value>[0-9.eE+-]+)$").matcher(metrics);
        double total = 0;
        while (m.find()) {
            total += Double.parseDouble(m.group("value"));
        }
        return total;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        process.waitFor();
    }
}
