package ai.neuraldivergence.datasets;

/**
 * A held-out digit and its adversarially attacked version, linked by a pair id.
 *
 * @param attack {@code fgsm} or {@code pgd}
 * @param epsilon the L-infinity budget of the perturbation, in pixel units (0..1)
 * @param benignPrediction the model's class for the original
 * @param attackedPrediction the model's class for the attacked input (≠ trueLabel when the attack succeeded)
 */
public record AttackedPair(String pairId, String attack, float epsilon, int trueLabel, int benignPrediction,
        int attackedPrediction, float[] benign, float[] attacked) {

    public AttackedPair {
        if (benign.length != ImageSet.PIXELS || attacked.length != ImageSet.PIXELS) {
            throw new IllegalArgumentException("pair images must have " + ImageSet.PIXELS + " pixels");
        }
    }

    /** The attack fooled the model: the original was right, the attacked input is not. */
    public boolean succeeded() {
        return benignPrediction == trueLabel && attackedPrediction != trueLabel;
    }
}
