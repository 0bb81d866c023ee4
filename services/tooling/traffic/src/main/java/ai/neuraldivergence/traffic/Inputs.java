package ai.neuraldivergence.traffic;

import ai.neuraldivergence.datasets.AttackedPair;
import ai.neuraldivergence.datasets.AttackedPairs;
import ai.neuraldivergence.datasets.ImageSet;
import ai.neuraldivergence.datasets.NpmImages;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/** Produces the inputs of each scenario, with the metadata the platform slices by. */
public final class Inputs {

    /** One input to send. */
    public record Input(float[] pixels, Integer trueLabel, Map<String, String> tags, String pairId, String pairRole) {
    }

    private final ImageSet digits;
    private final ImageSet fashion;
    private final List<AttackedPair> fgsm = new ArrayList<>();
    private final List<AttackedPair> pgd = new ArrayList<>();
    private final Random random;
    private int next;
    private long pairSerial;

    public Inputs(Path pairsFile, long seed) throws IOException {
        // the held-out split: never what the model or the training reference saw
        this.digits = NpmImages.mnist().split(0.8, 1234).test();
        this.fashion = NpmImages.fashionMnist(300);
        for (AttackedPair p : AttackedPairs.read(pairsFile)) {
            (p.attack().equals("fgsm") ? fgsm : pgd).add(p);
        }
        this.random = new Random(seed);
    }

    /** The next inputs of a scenario: one, or a benign/attacked pair. */
    public List<Input> next(Scenario scenario) {
        int i = next++;
        return switch (scenario) {
            case BENIGN -> List.of(digit(digits.image(i % digits.size()), digits.label(i % digits.size()), "mnist"));
            case NOISE -> {
                float[] x = digits.image(i % digits.size());
                for (int j = 0; j < x.length; j++) {
                    x[j] = clamp(x[j] + (float) (random.nextGaussian() * 0.3));
                }
                yield List.of(digit(x, digits.label(i % digits.size()), "mnist-noise"));
            }
            case ROTATED -> List.of(digit(rotate(digits.image(i % digits.size()),
                    Math.toRadians((30 + random.nextInt(31)) * (random.nextBoolean() ? 1 : -1))),
                    digits.label(i % digits.size()), "mnist-rotated"));
            case FASHION -> List.of(new Input(fashion.image(i % fashion.size()), null,
                    Map.of("source", "traffic", "dataset", "fashion"), null, null));
            case FGSM, PGD -> pair((scenario == Scenario.FGSM ? fgsm : pgd), i);
        };
    }

    private List<Input> pair(List<AttackedPair> pairs, int i) {
        if (pairs.isEmpty()) {
            throw new IllegalStateException("the attacked-pair dataset holds no pairs of this attack");
        }
        AttackedPair p = pairs.get(i % pairs.size());
        // each sending gets its own pair id: the same digit is sent again on later loops
        String id = p.pairId() + "-" + (pairSerial++);
        String eps = String.format(Locale.ROOT, "%.2f", p.epsilon());
        return List.of(
                new Input(p.benign(), p.trueLabel(), Map.of("source", "traffic", "dataset", "mnist"), id, "benign"),
                new Input(p.attacked(), p.trueLabel(), Map.of("source", "traffic", "dataset", "mnist",
                        "attack", p.attack(), "eps", eps), id, "attacked"));
    }

    /** The training split, for the reference replay. */
    public static ImageSet trainingDigits() throws IOException {
        return NpmImages.mnist().split(0.8, 1234).train();
    }

    private static Input digit(float[] x, int label, String dataset) {
        return new Input(x, label, Map.of("source", "traffic", "dataset", dataset), null, null);
    }

    private static float clamp(float v) {
        return Math.max(0f, Math.min(1f, v));
    }

    /** Rotates a 28 x 28 image about its centre (bilinear, zero outside). */
    static float[] rotate(float[] image, double radians) {
        float[] out = new float[image.length];
        double cos = Math.cos(radians);
        double sin = Math.sin(radians);
        double c = 13.5;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                double sx = cos * (x - c) + sin * (y - c) + c;
                double sy = -sin * (x - c) + cos * (y - c) + c;
                int x0 = (int) Math.floor(sx);
                int y0 = (int) Math.floor(sy);
                double fx = sx - x0;
                double fy = sy - y0;
                out[y * 28 + x] = (float) ((1 - fx) * (1 - fy) * at(image, x0, y0) + fx * (1 - fy) * at(image, x0 + 1,
                        y0) + (1 - fx) * fy * at(image, x0, y0 + 1) + fx * fy * at(image, x0 + 1, y0 + 1));
            }
        }
        return out;
    }

    private static float at(float[] image, int x, int y) {
        return x < 0 || y < 0 || x >= 28 || y >= 28 ? 0f : image[y * 28 + x];
    }
}
