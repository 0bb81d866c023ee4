package ai.neuraldivergence.modelbuilder;

import ai.neuraldivergence.datasets.AttackedPair;
import ai.neuraldivergence.datasets.AttackedPairs;
import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Builds the platform's model, once per set of inputs: trains the CNN on real MNIST digits, exports an
 * inference-only SavedModel whose signature returns the probabilities, the logits and every hidden layer (tap),
 * writes a manifest with the taps' network order, and generates FGSM and PGD attacked pairs of held-out digits.
 *
 * <p>The output folder is keyed by a hash of everything that shapes the result (data, parameters, this code): when
 * the key matches, nothing is rebuilt.
 *
 * <pre>ModelBuilder --output DIR [--seed N] [--epochs N] [--force]</pre>
 */
public final class ModelBuilder {

    /** Bump when the export's format changes in a way the key would not see. */
    static final String FORMAT = "nd-mnist-cnn/1";
    static final String MODEL_ID = "mnist-cnn";

    public static void main(String[] args) throws Exception {
        BuildOptions options = BuildOptions.parse(args);
        String key = buildKey(options);
        Path keyFile = options.output().resolve("build-key.txt");
        if (!options.force() && Files.isRegularFile(keyFile) && Files.readString(keyFile).trim().equals(key)) {
            System.out.println("model up to date in " + options.output() + " (build key " + key.substring(0, 12)
                    + ")");
            System.out.print(Files.readString(options.output().resolve("report.txt")));
            return;
        }
        long started = System.nanoTime();
        TensorFlowNatives.load();
        ImageSet.Split data = NpmImages.mnist().split(options.trainShare(), options.splitSeed());
        System.out.printf(Locale.ROOT, "MNIST: %d training, %d held-out digits%n", data.train().size(),
                data.test().size());

        Path staging = options.output().resolveSibling(options.output().getFileName() + ".building");
        deleteRecursively(staging);
        Files.createDirectories(staging);

        Trainer.Result trained = new Trainer(options).train(data.train(), data.test());
        String version = key.substring(0, 12);
        Report report = new Report(MODEL_ID, version, options, data.train().size(), data.test().size());
        report.testAccuracy = trained.testAccuracy();
        try (InferenceModel model = new InferenceModel(trained.parameters(), options.seed())) {
            model.export(staging.resolve("saved_model"));
            report.exportedAccuracy = model.accuracy(data.test());
            report.neuronScales = model.neuronScales(data.train());
            List<AttackedPair> pairs = new ArrayList<>();
            for (AttackConfig attack : options.attacks()) {
                List<AttackedPair> generated = model.attack(attack, data.test(), options.pairsPerAttack());
                pairs.addAll(generated);
                report.attack(attack, generated);
            }
            AttackedPairs.write(staging.resolve("attacked-pairs.bin.gz"), pairs);
        }
        Files.writeString(staging.resolve("manifest.json"), report.manifestJson());
        report.seconds = (System.nanoTime() - started) / 1e9;
        Files.writeString(staging.resolve("report.txt"), report.text());
        Files.writeString(staging.resolve("build-key.txt"), key + "\n");
        deleteRecursively(options.output());
        Files.move(staging, options.output());
        System.out.print(report.text());
        if (report.exportedAccuracy < options.minAccuracy()) {
            System.err.printf(Locale.ROOT, "held-out accuracy %.4f is below the required %.2f%n",
                    report.exportedAccuracy, options.minAccuracy());
            System.exit(1);
        }
    }

    /** A hash of every input: the data files, the options and the builder's own classes. */
    static String buildKey(BuildOptions options) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(FORMAT.getBytes(StandardCharsets.UTF_8));
        sha.update(options.keyString().getBytes(StandardCharsets.UTF_8));
        Path digits = NpmImages.packagesDir().resolve("mnist/src/digits");
        for (int label = 0; label < 10; label++) {
            sha.update(Files.readAllBytes(digits.resolve(label + ".json")));
        }
        for (Class<?> c : List.of(ModelBuilder.class, BuildOptions.class, CnnGraph.class, Trainer.class,
                InferenceModel.class, AttackConfig.class, Report.class)) {
            try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
                sha.update(in.readAllBytes());
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path f : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }
}
