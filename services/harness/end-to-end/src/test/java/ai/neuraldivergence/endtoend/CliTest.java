package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.LayerFeatures;
import ai.neuraldivergence.domain.Reduction;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.testkit.TestInfrastructure;
import ai.neuraldivergence.testkit.Watermarks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The packaged command line (services/cli) against the packaged comparison service with a token configured: its
 * tables, its JSON, and exit codes a script can trust.
 */
class CliTest {

    private static final String TOKEN = "cli-secret-token-0001";
    // two hours ago, on the hour: minutes 0..19, dense1 moves from minute 10
    private static final Instant T0 = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(2));
    private static ServiceProcess aggregator;
    private static ServiceProcess comparison;

    record Run(int code, String out, String err) {
    }

    @BeforeAll
    static void start() throws Exception {
        String jdbc = TestInfrastructure.shared().newDatabase("cli");
        Map<String, String> env = ServiceProcess.environment(jdbc);
        env.putAll(Map.of("ND_TOPICS_ACTIVATIONS", "cli.activations", "ND_TOPICS_LABELS", "cli.labels",
                "ND_TOPICS_INPUTS", "cli.inputs", "ND_AGGREGATOR_CONSUMER_GROUP", "cli",
                "ND_COMPARISON_AUTH_TOKENS", TOKEN));
        // the aggregator applies the schema
        aggregator = ServiceProcess.start("aggregator", env);
        aggregator.awaitReady(Duration.ofSeconds(120));
        // monitors evaluate the minutes the watermark says are complete: this test seeds the minutes itself, and
        // writes the watermark that goes with them under a group of its own (the idle aggregator's moves to now)
        Map<String, String> comparisonEnv = new java.util.HashMap<>(ServiceProcess.asComparison(env));
        comparisonEnv.put("ND_AGGREGATOR_CONSUMER_GROUP", "cli-seeded");
        comparison = ServiceProcess.start("comparison", comparisonEnv);
        seed(jdbc);
        comparison.awaitReady(Duration.ofSeconds(120));
    }

    @AfterAll
    static void stop() {
        if (comparison != null) {
            comparison.close();
        }
        if (aggregator != null) {
            aggregator.close();
        }
    }

    private static void seed(String jdbc) throws Exception {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setUrl(jdbc);
        ds.setUser(TestInfrastructure.DB_USER);
        ds.setPassword(TestInfrastructure.DB_PASSWORD);
        TapDescriptor conv = new TapDescriptor("cli", "v1", "conv1", 0, new int[] {4, 4, 3}, 3, Reduction.MAX);
        TapDescriptor dense = new TapDescriptor("cli", "v1", "dense1", 1, new int[] {2}, 2, Reduction.NONE);
        TapWindowStore windows = new TapWindowStore(ds);
        Random r = new Random(1);
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            new CatalogStore(ds).register(c, conv);
            new CatalogStore(ds).register(c, dense);
            for (int m = 0; m < 20; m++) {
                TapDistribution dc = new TapDistribution(3, 200);
                // dense1's rows sum the layer's features as the aggregator's do; conv1's are rows stored before them
                TapDistribution dd = LayerFeatures.start(new TapDistribution(2, 200), "cli", "dense1", null, 0);
                for (int i = 0; i < 300; i++) {
                    dc.add(new float[] {(float) r.nextGaussian(), (float) r.nextGaussian(), (float) r.nextGaussian()},
                            0);
                    dd.add(new float[] {(float) (r.nextGaussian() + (m >= 10 ? 2 : 0)), (float) r.nextGaussian()}, 0);
                }
                Instant start = T0.plusSeconds(60L * m);
                windows.merge(c, new WindowKey("cli", "v1", "conv1", Slice.ALL, Granularity.MINUTE, start), dc);
                windows.merge(c, new WindowKey("cli", "v1", "dense1", Slice.ALL, Granularity.MINUTE, start), dd);
            }
            c.commit();
        }
        // a watermark at the end of the last minute, as the aggregator stores it: every minute is complete
        Watermarks.advance(ds, "cli-seeded", List.of("cli.activations", "cli.labels"), T0.plusSeconds(60L * 20));
    }

    private static String minutes(int from, int to) {
        return T0.plusSeconds(60L * from) + "/" + T0.plusSeconds(60L * to);
    }

    /** Runs the packaged CLI as a user would: its own JVM, address and token from the environment. */
    private static Run nd(String token, String... args) throws Exception {
        Path cli = Path.of(System.getProperty("nd.services.dir", "../..")).resolve("cli/target");
        String jar;
        try (var files = Files.list(cli)) {
            jar = files.map(Path::toString).filter(f -> f.matches(".*/nd-cli-[^/]*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("services/cli is not packaged: run ./mvnw verify"));
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", jar + ":" + cli.resolve("lib") + "/*", "ai.neuraldivergence.cli.Nd"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("ND_ADDRESS", "127.0.0.1:" + comparison.port());
        if (token != null) {
            pb.environment().put("ND_TOKEN", token);
        } else {
            pb.environment().remove("ND_TOKEN");
        }
        Path err = Files.createTempFile("nd-cli", ".err");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "nd " + String.join(" ", args) + " did not end");
        return new Run(p.exitValue(), out, Files.readString(err));
    }

    @Test
    void tablesJsonAndExitCodesAreWhatAScriptExpects() throws Exception {
        Run models = nd(TOKEN, "models");
        assertEquals(0, models.code(), models.err());
        List<String> lines = models.out().lines().toList();
        assertTrue(lines.get(0).startsWith("MODEL"), models.out());
        assertTrue(lines.get(1).matches("cli\\s+v1\\s+conv1\\s+0\\s+\\[4, 4, 3]\\s+3\\s+max"), lines.get(1));
        assertTrue(lines.get(2).matches("cli\\s+v1\\s+dense1\\s+1\\s+\\[2]\\s+2\\s+none"), lines.get(2));

        Run created = nd(TOKEN, "references", "create", "calm", "--model", "cli", "--range", minutes(0, 10));
        assertEquals(0, created.code(), created.err());
        assertEquals("created reference calm of cli v1: 3000 observations", created.out().trim());
        assertEquals(7, nd(TOKEN, "references", "create", "calm", "--model", "cli", "--range", minutes(0, 10))
                .code(), "already exists");
        Run listed = nd(TOKEN, "references", "list", "--model", "cli");
        // frozen from a time range: sealed when created
        assertTrue(listed.out().lines().anyMatch(l -> l.matches(
                "cli\\s+calm\\s+v1\\s+time_range\\s+sealed\\s+3000\\s+.*")),
                listed.out());

        Run compare = nd(TOKEN, "compare", "--model", "cli", "--tap", "dense1", "--a", "ref:calm", "--b",
                minutes(10, 20), "--top", "1");
        assertEquals(0, compare.code(), compare.err());
        assertTrue(compare.out().startsWith("tap dense1 (#1, 2 neurons): 50.0% drifted"), compare.out());
        assertTrue(compare.out().lines().anyMatch(l -> l.matches("\\s*0\\s+0\\.[0-9]+.*excited\\s+yes")),
                compare.out());
        // the layer statistic of the tap's two neurons together, from the feature sums stored with its windows: the
        // shifted neuron moves the layer too; the analytic bound answers (the seeded hours hold no calibration
        // sample), calibrating until the aggregator has stored the new reference's null, which it may have by now
        assertTrue(compare.out().lines().anyMatch(l -> l.matches("layer: MMD² [0-9.]+ > threshold [0-9.]+ "
                + "\\(minimum effect 0\\.0010 \\+ null [0-9.]+ analytic(, calibrating)?, bandwidth [0-9.]+\\): "
                + "drifted")), compare.out());

        Run json = nd(TOKEN, "compare", "--model", "cli", "--tap", "dense1", "--a", "ref:calm", "--b",
                minutes(10, 20), "--json");
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().trim().startsWith("{") && json.out().contains("\"driftedShare\": 0.5"), json.out());

        Run layers = nd(TOKEN, "layers", "--model", "cli", "--a", "ref:calm", "--b", minutes(10, 20));
        assertEquals(0, layers.code(), layers.err());
        assertTrue(layers.out().contains("divergence onset: dense1"), layers.out());
        assertTrue(layers.out().lines().anyMatch(l -> l
                .matches("dense1\\s+1\\s+2\\s+50\\.0%.*\\sdrifted\\s+[0-9.]+\\s.*")),
                layers.out());
        assertTrue(layers.out().lines().anyMatch(l -> l.matches("conv1\\s+0\\s+3\\s.*\\sn/a\\s+-\\s.*")),
                layers.out());

        Run timeline = nd(TOKEN, "timeline", "--model", "cli", "--reference", "calm", "--range", minutes(8, 12),
                "--tap", "dense1");
        assertEquals(0, timeline.code(), timeline.err());
        assertEquals(5, timeline.out().lines().count(), "a header and four minutes: " + timeline.out());
        assertTrue(timeline.out().lines().toList().subList(3, 5).stream().allMatch(l -> l.contains("<- onset")),
                timeline.out());

        Run monitors = nd(TOKEN, "monitors");
        assertEquals(0, monitors.code(), monitors.err());
        assertTrue(monitors.out().startsWith("MONITOR"), monitors.out());
        Run made = nd(TOKEN, "monitors", "create", "cli-drift", "--model", "cli", "--tap", "dense1", "--reference",
                "calm", "--threshold", "0.3");
        assertEquals(0, made.code(), made.err());
        // the token is configured without a name: it is named by its position
        assertTrue(made.out().trim().matches("created monitor cli-drift: cli tap dense1 against calm "
                + "\\(slice all\\), ks > 0\\.3 for 2 in a row, at least 200 observations within 60 min "
                + "\\[API, by token-[0-9]+]"), made.out());
        assertEquals(7, nd(TOKEN, "monitors", "create", "cli-drift", "--model", "cli").code(), "already exists");
        Run calibrated = nd(TOKEN, "monitors", "create", "cli-calibrated", "--model", "cli", "--tap", "dense1",
                "--reference", "calm", "--mode", "calibrated", "--minimum-effect", "0.1", "--false-alarm-budget", "2");
        assertEquals(0, calibrated.code(), calibrated.err());
        assertTrue(calibrated.out().contains("ks > calibrated threshold (minimum effect 0.1, 2.0 false alarms per 30 "
                + "days) for 2 in a row"), calibrated.out());
        assertEquals(3, nd(TOKEN, "monitors", "create", "cli-calibrated-w1", "--model", "cli", "--mode", "calibrated",
                "--metric", "wasserstein").code(), "calibrated needs ks");
        assertEquals(0, nd(TOKEN, "monitors", "delete", "cli-calibrated").code());
        assertEquals(3, nd(TOKEN, "monitors", "create", "no spaces", "--model", "cli").code(), "invalid");
        // a threshold that keeps the verdict (the drifted minutes measure about 0.38), so that the state read below
        // is the same whether it was decided before or after the change
        Run changed = nd(TOKEN, "monitors", "update", "cli-drift", "--threshold", "0.2", "--max-span", "2h");
        assertEquals(0, changed.code(), changed.err());
        assertTrue(changed.out().contains("dense1 against calm (slice all), ks > 0.2 for 2 in a row, at least 200 "
                + "observations within 120 min"), changed.out());
        // back-filled from the stored minutes: dense1 drifts from minute 10 (two in a row: since its end)
        Run polled = nd(TOKEN, "monitors", "history", "cli-drift");
        for (int i = 0; i < 60 && !polled.out().contains("DRIFTING"); i++) {
            Thread.sleep(500);
            polled = nd(TOKEN, "monitors", "history", "cli-drift");
        }
        Run history = polled;
        Run monitorsListed = nd(TOKEN, "monitors", "--model", "cli");
        assertTrue(monitorsListed.out().lines().anyMatch(l -> l.matches("cli-drift\\s+cli\\s+dense1\\s+DRIFTING\\s+"
                + T0.plusSeconds(60L * 11) + "\\s+.*")), "listed, drifting since the first drifted minute's end\n"
                + monitorsListed.out());
        assertEquals(0, history.code(), history.err());
        assertTrue(history.out().lines().toList().get(1).startsWith("ID"), history.out());
        assertTrue(history.out().lines().anyMatch(l -> l.matches("\\s*\\d+\\s+dense1\\s+DRIFTING\\s+"
                + T0.plusSeconds(60L * 11) + "\\s+.*\\s+ok\\s+" + T0.plusSeconds(60L * 11) + "/"
                + T0.plusSeconds(60L * 12) + "\\s+0(,1)?\\s+.*")), "the transition, the window that decided it (the "
                + "second over the threshold) and its top neuron (0, the one that moved)\n" + history.out());
        String look = history.out().lines().filter(l -> l.startsWith("look: ")).findFirst().orElseThrow(
                () -> new AssertionError("no command to look with\n" + history.out())).substring(6);
        assertEquals("nd compare --model cli --tap dense1 --a ref:calm --b " + minutes(11, 12), look);
        // and it runs: the window against the reference, neuron 0 first
        Run looked = nd(TOKEN, look.substring(3).split(" "));
        assertEquals(0, looked.code(), looked.err());
        assertTrue(looked.out().contains("dense1"), looked.out());
        assertEquals(0, nd(TOKEN, "monitors", "delete", "cli-drift").code());
        assertEquals(4, nd(TOKEN, "monitors", "delete", "cli-drift").code(), "gone");

        Run missing = nd(TOKEN, "compare", "--model", "nope", "--a", "ref:calm", "--b", "last:1h");
        assertEquals(4, missing.code(), missing.err());
        assertTrue(missing.err().contains("NOT_FOUND: model 'nope' has no stored distributions"), missing.err());
        assertEquals(3, nd(TOKEN, "compare", "--model", "cli", "--a", "ref:calm", "--b", minutes(10, 20), "--top",
                "-1").code(), "invalid");
        Run unauthenticated = nd(null, "models");
        assertEquals(5, unauthenticated.code(), unauthenticated.err());
        assertEquals(5, nd("wrong", "models").code());
        assertEquals(6, nd(TOKEN, "models", "--address", "127.0.0.1:1").code(), "unreachable");
        assertEquals(2, nd(TOKEN, "compare", "--model", "cli").code(), "missing options");
        assertEquals(2, nd(TOKEN, "compare", "--model", "cli", "--a", "yesterday", "--b", "last:1h").code());
        assertEquals(0, nd(TOKEN, "references", "delete", "calm", "--model", "cli").code());
        assertEquals(4, nd(TOKEN, "references", "delete", "calm", "--model", "cli").code());
    }
}
