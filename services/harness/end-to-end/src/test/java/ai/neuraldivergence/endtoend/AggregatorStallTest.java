package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.testkit.FrozenServer;
import ai.neuraldivergence.testkit.TestInfrastructure;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
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
        try (ServiceProcess aggregator = STREAM.startAggregator(TestInfrastructure.shared().kafkaBootstrapServers(),
                jdbc, "stall-group", "aggregator-stall",
                Map.of("ND_AGGREGATOR_STALL_WARNING", "4s", "ND_AGGREGATOR_STALL_TIMEOUT", "12s"))) {
            aggregator.awaitReady(Duration.ofSeconds(120));
            Thread producer = new Thread(() -> STREAM.produce(TestInfrastructure.shared().kafkaBootstrapServers(),
                    producing), "stall-producer");
            producer.start();
            awaitFirstStored(jdbc);
            try (FrozenServer frozen = FrozenServer.freeze(pg)) {
                awaitLiveness(aggregator, 503, Duration.ofSeconds(60));
                String log = aggregator.logTail(400);
                assertTrue(log.contains("the activation consumer has been stuck"), "a stall warning:\n" + log);
                // the warning's own stacks (the JDK's frames left out), what a failure message of the outage test
                // leads with, should CI cut the log. The consumer thread (reading the catalog) or the writer (a
                // flush), whichever the freeze caught, waits in the driver; or, when the freeze caught the pool short
                // of connections (the others held by threads stuck in the driver, a new one's login unanswered), for
                // a connection from the pool. CI saw the second: both threads in the pool's acquisition, the consumer
                // starting over after each timeout
                String stalls = aggregator.warnings(0);
                assertTrue(stalls.contains("has been stuck") && stalls.contains("\"activation-consumer\"")
                        && stalls.contains("\"delta-writer\"") && waitsOnTheDatabase(stalls)
                        && !stalls.contains("at java.base"), "the warning shows a thread waiting on the database:\n"
                        + stalls + "\nthe log:\n" + log);
                assertEquals(1.0, metric(aggregator, "nd_aggregator_consumer_stalls_total"), "one stall counted");
                assertEquals(0.0, metric(aggregator, "nd_aggregator_consumer_wakeups_total"),
                        "a thread waiting in the database driver is not woken");
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
            pg.close();
        }
    }

    /**
     * Waits until some of the stream is stored, so that the freeze catches both threads the warning names at work
     * (a freeze before the first flush finds no writer thread to show), and the stream mid-way.
     */
    private static void awaitFirstStored(String jdbc) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (KnownStream.storedObservations(jdbc) == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("nothing stored within 60 s of the stream's start");
            }
            Thread.sleep(100);
        }
    }

    /** A stack frame in the PostgreSQL driver, or in the connection pool's wait for a connection. */
    private static boolean waitsOnTheDatabase(String stacks) {
        return stacks.contains("at org.postgresql") || stacks.contains("at io.agroal.pool.ConnectionPool.getConnection");
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
