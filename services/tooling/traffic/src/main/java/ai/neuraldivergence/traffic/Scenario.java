package ai.neuraldivergence.traffic;

import java.util.Locale;

/** What the generator sends for a while: benign digits, or one of the drifts. */
public enum Scenario {
    /** Held-out MNIST digits, as the model was trained on. */
    BENIGN,
    /** FGSM-attacked digits, each after its benign original (a pair). */
    FGSM,
    /** PGD-attacked digits, each after its benign original (a pair). */
    PGD,
    /** Fashion-MNIST clothes: out-of-distribution input. */
    FASHION,
    /** Digits with Gaussian pixel noise (sigma 0.3). */
    NOISE,
    /** Digits rotated by 30 to 60 degrees. */
    ROTATED;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Scenario fromWord(String word) {
        try {
            return valueOf(word.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown scenario '" + word + "': use benign, fgsm, pgd, fashion, "
                    + "noise or rotated");
        }
    }
}
