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
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Reduction fromWord(String word) {
        for (Reduction r : values()) {
            if (r.word().equals(word)) {
                return r;
            }
        }
        throw new IllegalArgumentException("reduction must be none, max or mean, got '" + word + "'");
    }
}
