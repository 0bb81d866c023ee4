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
    // per tap, per reduction ("none" for a dense tap): each captured neuron's scale
    Map<String, Map<String, float[]>> neuronScales = Map.of();
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

    /**
     * Standard deviations from sums and sums of squares over {@code n} observations, as neuron scales: a neuron that
     * hardly varied in training gets at least a thousandth of the tap's mean scale, so that dividing by it cannot blow
     * its values up; one that never varied at all (a unit that never fired) weighs as a typical neuron of its tap, the
     * mean scale (1 where none varied).
     */
    static float[] scales(double[] sum, double[] square, int n) {
        double[] std = new double[sum.length];
        double total = 0;
        int varying = 0;
        for (int j = 0; j < sum.length; j++) {
            double mean = sum[j] / n;
            std[j] = Math.sqrt(Math.max(0, square[j] / n - mean * mean));
            if (std[j] > 0) {
                total += std[j];
                varying++;
            }
        }
        double floor = varying == 0 ? 1 : 1e-3 * total / varying;
        float[] out = new float[std.length];
        for (int j = 0; j < std.length; j++) {
            out[j] = (float) (std[j] > 0 ? Math.max(std[j], floor) : varying == 0 ? 1 : total / varying);
        }
        return out;
    }

    private static String scalesJson(Map<String, float[]> byReduction) {
        if (byReduction == null || byReduction.isEmpty()) {
            return "";
        }
        StringBuilder json = new StringBuilder(", \"neuronScales\": {");
        int i = 0;
        for (Map.Entry<String, float[]> e : byReduction.entrySet()) {
            json.append(i++ == 0 ? "" : ", ").append('"').append(e.getKey()).append("\": [");
            for (int j = 0; j < e.getValue().length; j++) {
                json.append(j == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6g", e.getValue()[j]));
            }
            json.append(']');
        }
        return json.append('}').toString();
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
            taps.append(String.format(Locale.ROOT, "    {\"name\": \"%s\", \"index\": %d, \"shape\": %s%s%s}",
                    tap.getKey(), index++, java.util.Arrays.toString(tap.getValue()), reduced,
                    scalesJson(neuronScales.get(tap.getKey()))));
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
