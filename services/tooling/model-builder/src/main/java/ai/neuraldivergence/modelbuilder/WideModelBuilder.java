package ai.neuraldivergence.modelbuilder;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.tensorflow.Graph;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.SessionFunction;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;

/**
 * Builds the synthetic wide models ({@link WideGraph}), the realistic source of wide captures for tests and
 * benchmarks: one folder {@code wide-C} per channel count, each with a SavedModel and a manifest in the CNN's format.
 * Seeded random weights, no training, so a build takes seconds.
 *
 * <p>The serving signature returns the probabilities, the logits and the tap reduced in-graph by max and by mean,
 * never the tap itself: at N = 256 and C = 16384 the [N, 7, 7, C] map is 822 MB a call, which the serving side would
 * fetch whole. The manifest still lists the tap with its shape, so the inference service serves it from the reduced
 * output. Each folder is keyed like the CNN's: an unchanged build is skipped.
 *
 * <pre>WideModelBuilder --output DIR [--channels 2048,8192,16384] [--seed 42] [--force]</pre>
 */
public final class WideModelBuilder {

    /** Bump when the export's format changes in a way the key would not see. */
    static final String FORMAT = "nd-wide/1";
    static final List<Integer> CHANNELS = List.of(2048, 8192, 16384);
    static final long SEED = 42;

    static final String USAGE = "usage: WideModelBuilder --output DIR [--channels 2048,8192,16384] [--seed 42] "
            + "[--force]   (writes DIR/wide-C for each C)";

    private WideModelBuilder() {
    }

    public static void main(String[] args) throws Exception {
        Path root = null;
        List<Integer> channels = CHANNELS;
        long seed = SEED;
        boolean force = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--output" -> root = Path.of(args[++i]).toAbsolutePath();
                case "--channels" -> channels = Stream.of(args[++i].split(",")).map(s -> Integer.valueOf(s.trim()))
                        .toList();
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--force" -> force = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "\n" + USAGE);
            }
        }
        if (root == null) {
            throw new IllegalArgumentException("--output is required\n" + USAGE);
        }
        for (int c : channels) {
            build(root.resolve(modelId(c)), c, seed, force);
        }
    }

    static String modelId(int channels) {
        return "wide-" + channels;
    }

    /** Builds one model into {@code output} unless the build key there matches. */
    static void build(Path output, int channels, long seed, boolean force) throws Exception {
        String key = buildKey(channels, seed);
        Path keyFile = output.resolve("build-key.txt");
        if (!force && Files.isRegularFile(keyFile) && Files.readString(keyFile).trim().equals(key)) {
            System.out.println("model up to date in " + output + " (build key " + key.substring(0, 12) + ")");
            System.out.print(Files.readString(output.resolve("report.txt")));
            return;
        }
        long started = System.nanoTime();
        TensorFlowNatives.load();
        Path staging = output.resolveSibling(output.getFileName() + ".building");
        ModelBuilder.deleteRecursively(staging);
        Files.createDirectories(staging);
        try (Graph graph = new Graph(); Session session = new Session(graph)) {
            WideGraph wide = new WideGraph(Ops.create(graph), channels, seed);
            session.initialize();
            Signature signature = Signature.builder().key(Signature.DEFAULT_KEY).input("input", wide.input)
                    .output("probabilities", wide.probabilities).output("logits", wide.logits)
                    .output(WideGraph.CHANNEL_MAX, wide.channelMax).output(WideGraph.CHANNEL_MEAN, wide.channelMean)
                    .build();
            SavedModelBundle.exporter(staging.resolve("saved_model").toString())
                    .withFunction(SessionFunction.create(signature, session)).export();
        }
        String version = key.substring(0, 12);
        Files.writeString(staging.resolve("manifest.json"), manifestJson(modelId(channels), version, channels));
        String report = String.format(Locale.ROOT,
                "model %s version %s (seed %d, %d channels, untrained, built in %.1f s, %.1f MB)%n",
                modelId(channels), version, seed, channels, (System.nanoTime() - started) / 1e9,
                size(staging) / 1e6);
        Files.writeString(staging.resolve("report.txt"), report);
        Files.writeString(staging.resolve("build-key.txt"), key + "\n");
        ModelBuilder.deleteRecursively(output);
        Files.move(staging, output);
        System.out.print(report);
    }

    /** A hash of every input: the channel count, the seed and the classes that shape the export. */
    static String buildKey(int channels, long seed) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update((FORMAT + ";channels=" + channels + ";seed=" + seed).getBytes(StandardCharsets.UTF_8));
        for (Class<?> c : List.of(WideModelBuilder.class, WideGraph.class)) {
            try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
                sha.update(in.readAllBytes());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** The CNN's manifest format, less training and attacks: the one tap, named with its reduced outputs. */
    static String manifestJson(String modelId, String version, int channels) {
        return String.format(Locale.ROOT, """
            {
              "modelId": "%s",
              "modelVersion": "%s",
              "input": {"name": "input", "shape": [%d, %d, %d]},
              "probabilities": "probabilities",
              "logits": "logits",
              "taps": [
                {"name": "%s", "index": 0, "shape": [%d, %d, %d], "reduced": {"max": "%s", "mean": "%s"}}
              ]
            }
            """, modelId, version, WideGraph.SIDE, WideGraph.SIDE, WideGraph.DEPTH, WideGraph.TAP, WideGraph.SIDE,
                WideGraph.SIDE, channels, WideGraph.CHANNEL_MAX, WideGraph.CHANNEL_MEAN);
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }
}
