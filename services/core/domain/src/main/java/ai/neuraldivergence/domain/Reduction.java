package ai.neuraldivergence.domain;

/** How a tap's output becomes one value per neuron. */
public enum Reduction {
    /** Rank-2 taps: each unit is one neuron. */
    NONE,
    /** Rank-4 taps: the channel's spatial max (the default, as in Summit). */
    MAX,
    /** Rank-4 taps: the channel's spatial mean. */
    MEAN;

    public String word() {
        return Words.of(this);
    }

    public static Reduction fromWord(String word) {
        return Words.parse(values(), Reduction::word, "reduction", word);
    }
}
