package ai.neuraldivergence.domain;

/** The side an observation takes in a benign/attacked pair. */
public enum PairRole {
    BENIGN("benign"),
    ATTACKED("attacked");

    private final String word;

    PairRole(String word) {
        this.word = word;
    }

    public String word() {
        return word;
    }

    public static PairRole fromWord(String word) {
        for (PairRole r : values()) {
            if (r.word.equals(word)) {
                return r;
            }
        }
        throw new IllegalArgumentException("pair role must be benign or attacked, got '" + word + "'");
    }
}
