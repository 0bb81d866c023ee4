package ai.neuraldivergence.modelbuilder;

import ai.neuraldivergence.datasets.AttackedPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What the build produced: the manifest the inference service reads, and the text the command prints. */
final class Report {

    private record AttackResult(AttackConfig config, int pairs, int benignCorrect, int succeeded) {
        double successRate() {
            return benignCorrect == 0 ? 0 : succeeded / (double) benignCorrect;
        }
    }

    private final String modelId;
    private final String version;
    private final BuildOptions options;
    private final int trainImages;
    private final int testImages;
    private final List<AttackResult> attacks = new ArrayList<>();
    double testAccuracy;
    double exportedAccuracy;
    double seconds;

    Report(String modelId, String version, BuildOptions options, int trainImages, int testImages) {
        this.modelId = modelId;
        this.version = version;
        this.options = options;
        this.trainImages = trainImages;
        this.testImages = testImages;
    }

    void attack(AttackConfig config, List<AttackedPair> pairs) {
        int correct = (int) pairs.stream().filter(p -> p.benignPrediction() == p.trueLabel()).count();
        int succeeded = (int) pairs.stream().filter(AttackedPair::succeeded).count();
        attacks.add(new AttackResult(config, pairs.size(), correct, succeeded));
    }

    String manifestJson() {
        StringBuilder taps = new StringBuilder();
        int index = 0;
        for (Map.Entry<String, long[]> tap : CnnGraph.TAPS.entrySet()) {
            if (index > 0) {
                taps.append(",\n");
            }
            String reduced = tap.getValue().length == 3 ? String.format(Locale.ROOT,
                    ", \"reduced\": {\"max\": \"%1$s_channel_max\", \"mean\": \"%1$s_channel_mean\"}", tap.getKey())
                    : "";
            taps.append(String.format(Locale.ROOT, "    {\"name\": \"%s\", \"index\": %d, \"shape\": %s%s}",
                    tap.getKey(), index++, java.util.Arrays.toString(tap.getValue()), reduced));
        }
        StringBuilder attackJson = new StringBuilder();
        for (int i = 0; i < attacks.size(); i++) {
            AttackResult a = attacks.get(i);
            attackJson.append(i == 0 ? "" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"attack\": \"%s\", \"epsilon\": %.2f, \"steps\": %d, \"pairs\": %d, \"successRate\": %.4f}",
                    a.config().method(), a.config().epsilon(), a.config().steps(), a.pairs(), a.successRate()));
        }
        return String.format(Locale.ROOT, """
            {
              "modelId": "%s",
              "modelVersion": "%s",
              "input": {"name": "input", "shape": [28, 28, 1]},
              "probabilities": "probabilities",
              "logits": "logits",
              "taps": [
            %s
              ],
              "training": {"seed": %d, "epochs": %d, "trainImages": %d, "testImages": %d, "testAccuracy": %.4f},
              "attackedPairs": "attacked-pairs.bin.gz",
              "attacks": [
            %s
              ]
            }
            """, modelId, version, taps, options.seed(), options.epochs(), trainImages, testImages, exportedAccuracy,
                attackJson);
    }

    String text() {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "model %s version %s (seed %d, %d epochs, built in %.0f s)%n", modelId,
                version, options.seed(), options.epochs(), seconds));
        s.append(String.format(Locale.ROOT, "held-out accuracy: %.4f on %d digits (training session %.4f)%n",
                exportedAccuracy, testImages, testAccuracy));
        s.append("attack success rate (attacked input misclassified, among originals classified right):\n");
        for (AttackResult a : attacks) {
            s.append(String.format(Locale.ROOT, "  %-24s %5.1f %%  (%d of %d pairs)%n", a.config().label(),
                    100 * a.successRate(), a.succeeded(), a.benignCorrect()));
        }
        return s.toString();
    }
}
