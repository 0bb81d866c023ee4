package ai.neuraldivergence.launcher;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One real Kafka broker (KRaft, combined broker and controller, from {@code kafka_2.13}) run as a child JVM on
 * loopback, with its log folder on disk: it can be stopped and started again on the same folder and ports, which
 * is what the launcher needs for a laptop and the broker-outage tests need to take it away mid-stream.
 */
public final class KafkaBroker implements AutoCloseable {

    private final Path dataDir;
    private final Path logDir;
    private final int port;
    private final int controllerPort;
    private final String heap;
    private Process process;

    /**
     * @param dataDir the broker's log folder (formatted on first start)
     * @param logDir where the broker's own output goes ({@code kafka.log}, {@code kafka-format.log})
     */
    public KafkaBroker(Path dataDir, Path logDir, int port, int controllerPort, String heap) {
        this.dataDir = dataDir;
        this.logDir = logDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.heap = heap;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** The broker's process id, while it runs. */
    public long pid() {
        return process.pid();
    }

    /** Formats the log folder if it is new, starts the broker and waits until it listens. */
    public void start() throws IOException, InterruptedException {
        Files.createDirectories(dataDir);
        Files.createDirectories(logDir);
        Path config = dataDir.resolveSibling(dataDir.getFileName() + "-server.properties");
        Files.writeString(config, KafkaServerConfig.render(dataDir, port, controllerPort));
        if (!Files.exists(dataDir.resolve("meta.properties"))) {
            // a new log folder is formatted once with a fresh cluster id
            String clusterId = org.apache.kafka.common.Uuid.randomUuid().toString();
            Process format = javaProcess(List.of("kafka.tools.StorageTool", "format", "-t", clusterId, "-c",
                    config.toString()), logDir.resolve("kafka-format.log"));
            if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
                throw new IllegalStateException("formatting the Kafka log folder failed; see "
                        + logDir.resolve("kafka-format.log") + tail(logDir.resolve("kafka-format.log")));
            }
        }
        process = javaProcess(List.of("-Xmx" + heap, "kafka.Kafka", config.toString()), logDir.resolve("kafka.log"));
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!accepts(port)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Kafka exited with " + process.exitValue() + "; see "
                        + logDir.resolve("kafka.log") + tail(logDir.resolve("kafka.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Kafka did not listen on " + port + " in 120 s; see "
                        + logDir.resolve("kafka.log") + tail(logDir.resolve("kafka.log")));
            }
            Thread.sleep(200);
        }
    }

    /** Stops the broker cleanly (SIGTERM), killing it if it has not exited after 30 s. */
    public void stop() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static Process javaProcess(List<String> args, Path log) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(args);
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    /**
     * The log's last lines, for the exception: where the broker runs as a child of a build (CI), its log folder is
     * gone with the machine, and the exception's message is all that is left of why it did not start.
     */
    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return "; its last lines:\n  " + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 15),
                    lines.size()));
        } catch (IOException | RuntimeException e) {
            return "; its log could not be read (" + e + ")";
        }
    }

    static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
