package ai.neuraldivergence.traffic;

import ai.neuraldivergence.datasets.AttackedPair;
import ai.neuraldivergence.datasets.AttackedPairs;
import ai.neuraldivergence.datasets.Distortions;
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
            case NOISE -> List.of(digit(Distortions.noisy(digits.image(i % digits.size()), random),
                    digits.label(i % digits.size()), "mnist-noise"));
            case ROTATED -> List.of(digit(Distortions.rotated(digits.image(i % digits.size()), random),
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
}
