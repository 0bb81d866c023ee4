package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.TestInfrastructure;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL freezes mid-stream (SIGSTOP: its connections stay open and nothing answers, as with a hung host or a
 * half-open connection): the aggregator's threads wait in their database reads. The aggregator says where (one
 * warning with the consumer's and the writer's stacks, counted), liveness turns DOWN at the stall timeout so that
 * Kubernetes would restart it, and once the database answers again it goes on by itself, with exact counts.
 */
class AggregatorStallTest {

    private static final KnownStream STREAM = new KnownStream("stall.activations");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void aFrozenDatabaseIsReportedWithWhereTheThreadsWaitAndLosesNothingOnceItAnswers() throws Exception {
        EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
        String jdbc = "jdbc:postgresql://127.0.0.1:" + pg.getPort() + "/postgres";
        AtomicBoolean producing = new AtomicBoolean(true);
        List<Long> frozen = new ArrayList<>();
        try (ServiceProcess aggregator = STREAM.startAggregator(TestInfrastructure.shared().kafkaBootstrapServers(),
                jdbc, "stall-group", "aggregator-stall",
                Map.of("ND_AGGREGATOR_STALL_WARNING", "4s", "ND_AGGREGATOR_STALL_TIMEOUT", "12s"))) {
            aggregator.awaitReady(Duration.ofSeconds(120));
            Thread producer = new Thread(() -> STREAM.produce(TestInfrastructure.shared().kafkaBootstrapServers(),
                    producing), "stall-producer");
            producer.start();
            Thread.sleep(3000);
            frozen.addAll(postgresProcesses(pg));
            signal("STOP", frozen);
            try {
                awaitLiveness(aggregator, 503, Duration.ofSeconds(60));
                String log = aggregator.logTail(400);
                assertTrue(log.contains("the activation consumer has been stuck"), "a stall warning:\n" + log);
                // the consumer thread (reading the catalog) or the writer (a flush), whichever the freeze caught
                assertTrue(log.contains("\"activation-consumer\"") && log.contains("\"delta-writer\"")
                        && log.contains("at org.postgresql"), "the warning shows a thread waiting in the driver:\n"
                        + log);
                assertEquals(1.0, metric(aggregator, "nd_aggregator_consumer_stalls_total"), "one stall counted");
            } finally {
                signal("CONT", frozen);
            }
            awaitLiveness(aggregator, 200, Duration.ofSeconds(60));
            producer.join(Duration.ofSeconds(120).toMillis());
            try {
                STREAM.awaitAll(jdbc);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\n" + aggregator.logTail(80), e);
            }
            STREAM.verifyAgainstWhatWasSent(jdbc);
        } finally {
            if (!frozen.isEmpty()) {
                signal("CONT", frozen);
            }
            pg.close();
        }
    }

    /** The postmaster (the first line of its pid file) and every process it started: the whole server. */
    private static List<Long> postgresProcesses(EmbeddedPostgres pg) throws Exception {
        Path dataDirectory = findDataDirectory(pg);
        long postmaster = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
        List<Long> out = new ArrayList<>();
        out.add(postmaster);
        ProcessHandle.of(postmaster).orElseThrow().descendants().forEach(p -> out.add(p.pid()));
        return out;
    }

    private static Path findDataDirectory(EmbeddedPostgres pg) throws Exception {
        try (var c = pg.getPostgresDatabase().getConnection(); var st = c.createStatement();
                var rs = st.executeQuery("SHOW data_directory")) {
            rs.next();
            return Path.of(rs.getString(1));
        }
    }

    private static void signal(String name, List<Long> pids) throws Exception {
        List<String> command = new ArrayList<>(List.of("kill", "-" + name));
        pids.forEach(p -> command.add(Long.toString(p)));
        // a backend may have ended meanwhile: kill's status then says nothing about the others
        new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    private static void awaitLiveness(ServiceProcess p, int status, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(p.managementUrl()
                        + "/q/health/live")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == status) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (java.io.IOException e) {
                last = e.toString();
            }
            Thread.sleep(250);
        }
        throw new AssertionError("liveness answered " + last + ", expected " + status + "\n" + p.logTail(80));
    }

    private static double metric(ServiceProcess p, String name) throws Exception {
        String body = HTTP.send(HttpRequest.newBuilder(URI.create(p.managementUrl() + "/q/metrics"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(body);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
