package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The web UI in a real browser (Debian's {@code chromium}, driven by {@code playwright-core} from the browser tests
 * in {@code frontend/e2e}) against the platform started by the README's run command, with an API token required.
 * Each test here runs one browser test file with Node's test runner; screenshots of every view land in
 * {@code target/ui-screenshots} (build artifacts).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebUiTest {

    // the token the run command issued for both services, read from its file as deploy/nd and a user read it
    private static String token;
    private static final Path FRONTEND = Path.of(System.getProperty("nd.services.dir", "../..")).toAbsolutePath()
            .normalize().getParent().resolve("frontend");
    private static final Path SCREENSHOTS = Path.of("target", "ui-screenshots").toAbsolutePath();
    private static LocalPlatform platform;
    private static String chromium;

    @BeforeAll
    static void start() throws Exception {
        // fail fast, naming the prerequisite, before minutes of platform start
        chromium = System.getenv().getOrDefault("ND_CHROMIUM", "/usr/bin/chromium");
        if (!Files.isExecutable(Path.of(chromium))) {
            throw new IllegalStateException("the browser tests need Debian's chromium (apt-get install chromium), or "
                    + "ND_CHROMIUM naming a Chromium binary; " + chromium + " is not there");
        }
        if (!Files.isDirectory(FRONTEND.resolve("node_modules/playwright-core"))) {
            throw new IllegalStateException("frontend/node_modules/playwright-core is missing: the frontend module's "
                    + "npm ci installs it (run the whole build)");
        }
        // tokens on by default: the run command issues one for both services' APIs
        platform = LocalPlatform.start(Map.of(), Duration.ofMinutes(6));
        Path file = platform.tokenFile();
        assertEquals(java.util.Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                java.nio.file.attribute.PosixFilePermission.OWNER_WRITE), Files.getPosixFilePermissions(file),
                "the token file is readable by its owner only");
        token = Files.readString(file).trim();
        assertTrue(token.length() >= 32, "a random token of 24 bytes, in hex");
    }

    @AfterAll
    static void stop() {
        if (platform != null) {
            platform.close();
        }
    }

    @Test
    @Order(1)
    void theOverviewFlagsADriftingTapWithinTwoMinutesOfTheUrl() throws Exception {
        browserTest("drift.e2e.mjs");
    }

    /** Right after the first attack is flagged, while the run's traffic still drifts. */
    @Test
    @Order(2)
    void aMonitorCreatedInTheViewTurnsDriftingAndShowsItsHistory() throws Exception {
        browserTest("monitors.e2e.mjs");
    }

    @Test
    @Order(3)
    void eachViewRendersTheRunningPlatformsData() throws Exception {
        browserTest("views.e2e.mjs");
    }

    @Test
    @Order(4)
    void theOverviewUpdatesLiveWithoutAReloadAndReconnectsByItself() throws Exception {
        browserTest("live.e2e.mjs");
    }

    @Test
    @Order(5)
    void anUploadedDigitGoesThroughInferenceAndIsPlaced() throws Exception {
        browserTest("upload.e2e.mjs");
    }

    @Test
    @Order(6)
    void aMissingOrBadTokenIsShownAndAskedFor() throws Exception {
        browserTest("auth.e2e.mjs");
    }

    /** Runs one file of browser tests; its report (spec reporter) is this test's failure message. */
    private static void browserTest(String file) throws IOException, InterruptedException {
        Path report = Files.createTempFile("nd-ui-" + file, ".txt");
        ProcessBuilder pb = new ProcessBuilder(List.of("node", "--test", "--test-reporter=spec",
                FRONTEND.resolve("e2e").resolve(file).toString())).directory(FRONTEND.toFile())
                .redirectErrorStream(true).redirectOutput(report.toFile());
        Map<String, String> env = pb.environment();
        env.put("ND_UI_URL", platform.uiUrl());
        env.put("ND_TOKEN", token);
        env.put("ND_URL_PRINTED_AT", Long.toString(platform.urlPrintedAt().toEpochMilli()));
        env.put("ND_SCREENSHOTS", SCREENSHOTS.toString());
        env.put("ND_CHROMIUM", chromium);
        env.put("NO_COLOR", "1");
        Process node = pb.start();
        if (!node.waitFor(5, TimeUnit.MINUTES)) {
            node.destroyForcibly().waitFor();
        }
        String output = Files.readString(report);
        System.out.println(output);
        assertEquals(0, node.exitValue(), file + " failed (platform logs in " + platform.logs() + "):\n" + output);
    }
}
