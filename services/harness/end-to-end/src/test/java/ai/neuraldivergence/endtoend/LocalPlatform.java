package ai.neuraldivergence.endtoend;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The platform as a user starts it: the README's run command ({@code deploy/run-local.sh}) on free ports, in a run
 * folder under {@code target/}, with what the build already packaged. Its output goes to {@code run-local.log}; the
 * moment it prints the UI's URL is recorded, since the acceptance checks count from there.
 */
final class LocalPlatform implements AutoCloseable {

    private final Process process;
    private final Path script;
    private final Path runDir;
    private final String uiUrl;
    private final Instant urlPrintedAt;

    private LocalPlatform(Process process, Path script, Path runDir, String uiUrl, Instant urlPrintedAt) {
        this.script = script;
        this.process = process;
        this.runDir = runDir;
        this.uiUrl = uiUrl;
        this.urlPrintedAt = urlPrintedAt;
    }

    /** Starts the platform with {@code environment} added, waiting up to {@code timeout} for its URLs. */
    static LocalPlatform start(Map<String, String> environment, Duration timeout) throws Exception {
        Path root = Path.of(System.getProperty("nd.services.dir", "../..")).toAbsolutePath().normalize().getParent();
        Path script = root.resolve("deploy/run-local.sh");
        Path runDir = Path.of("target", "run-local").toAbsolutePath();
        // a clean start, as on a fresh clone: whatever an interrupted earlier run left is stopped, then its database,
        // broker log and reference marker go
        if (Files.isDirectory(runDir)) {
            stopCommand(script, runDir);
        }
        deleteTree(runDir);
        Files.createDirectories(runDir);
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString()).directory(root.toFile())
                .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("ND_RUN_DIR", runDir.toString());
        env.put("ND_SKIP_BUILD", "1");
        for (String port : new String[] {"INFERENCE_HTTP_PORT", "AGGREGATOR_HTTP_PORT", "COMPARISON_HTTP_PORT",
                "INFERENCE_MANAGEMENT_PORT", "AGGREGATOR_MANAGEMENT_PORT", "COMPARISON_MANAGEMENT_PORT",
                "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "POSTGRES_PORT"}) {
            env.put(port, Integer.toString(ServiceProcess.freePort()));
        }
        env.putAll(environment);
        Process process = pb.start();
        CompletableFuture<Instant> printed = new CompletableFuture<>();
        CompletableFuture<String> url = new CompletableFuture<>();
        Path log = runDir.resolve("run-local.log");
        Thread reader = new Thread(() -> follow(process, log, printed, url), "run-local-output");
        reader.setDaemon(true);
        reader.start();
        try {
            Instant at = printed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new LocalPlatform(process, script, runDir, url.get(), at);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            stop(process, script, runDir);
            throw new IllegalStateException("deploy/run-local.sh printed no UI URL within " + timeout + ": see " + log
                    + " and " + runDir.resolve("logs"), e);
        }
    }

    private static void follow(Process process, Path log, CompletableFuture<Instant> printed,
            CompletableFuture<String> url) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8)); PrintWriter out = new PrintWriter(Files.newBufferedWriter(log), true)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.println(line);
                String trimmed = line.trim();
                if (trimmed.startsWith("UI ") && !printed.isDone()) {
                    Instant at = Instant.now();
                    url.complete(trimmed.substring(3).trim());
                    printed.complete(at);
                }
            }
            printed.completeExceptionally(new IllegalStateException("run-local.sh ended with "
                    + process.waitFor()));
        } catch (IOException | InterruptedException e) {
            printed.completeExceptionally(e);
        }
    }

    String uiUrl() {
        return uiUrl;
    }

    Instant urlPrintedAt() {
        return urlPrintedAt;
    }

    Path logs() {
        return runDir.resolve("logs");
    }

    /** The API token the run command issued, as the README tells a user to read it. */
    Path tokenFile() {
        return runDir.resolve("token");
    }

    /** Stopped as a user stops it: the script stops every part it started. */
    @Override
    public void close() {
        stop(process, script, runDir);
    }

    /**
     * SIGTERM, which the script handles as Ctrl-C: a build started in the background (nohup, a CI runner) passes
     * SIGINT on ignored, and a script that starts with it ignored cannot trap it, so Ctrl-C's own signal left the
     * services running after the tests. A script still running after 180 s is killed, and {@code run-local.sh stop}
     * stops what its pid files name.
     */
    private static void stop(Process process, Path script, Path runDir) {
        try {
            new ProcessBuilder("kill", "-TERM", Long.toString(process.pid())).start().waitFor();
            if (!process.waitFor(180, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                stopCommand(script, runDir);
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** {@code run-local.sh stop} on a run folder: stops whatever its pid files name. */
    private static void stopCommand(Path script, Path runDir) throws IOException, InterruptedException {
        ProcessBuilder stop = new ProcessBuilder("bash", script.toString(), "stop")
                .directory(script.getParent().getParent().toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        stop.environment().put("ND_RUN_DIR", runDir.toString());
        stop.start().waitFor(300, TimeUnit.SECONDS);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
