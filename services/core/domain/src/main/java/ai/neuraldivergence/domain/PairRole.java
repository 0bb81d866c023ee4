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
        return Words.parse(values(), PairRole::word, "pair role", word);
    }
}
