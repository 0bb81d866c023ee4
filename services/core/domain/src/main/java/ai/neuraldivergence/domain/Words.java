package ai.neuraldivergence.domain;

import java.util.Locale;
import java.util.function.Function;

/** Enum constants spelled as words (in SQL rows, URLs and settings), and parsed back with one error message. */
final class Words {

    private Words() {
    }

    /** The usual word: the constant's name in lower case. */
    static String of(Enum<?> constant) {
        return constant.name().toLowerCase(Locale.ROOT);
    }

    /** The constant whose word is {@code word}; else an exception naming {@code what} and every word it may be. */
    static <E extends Enum<E>> E parse(E[] constants, Function<E, String> wordOf, String what, String word) {
        StringBuilder words = new StringBuilder();
        for (int i = 0; i < constants.length; i++) {
            String w = wordOf.apply(constants[i]);
            if (w.equals(word)) {
                return constants[i];
            }
            words.append(i == 0 ? "" : i == constants.length - 1 ? " or " : ", ").append(w);
        }
        throw new IllegalArgumentException(what + " must be " + words + ", got '" + word + "'");
    }
}
