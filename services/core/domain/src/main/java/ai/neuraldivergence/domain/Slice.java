package ai.neuraldivergence.domain;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A subset of observations chosen by metadata. Its {@link #key()} is the one spelling used in SQL rows, URLs and
 * logs: {@code all}, {@code predicted=3}, {@code label=3}, {@code tag:source=prod}, {@code pair=attacked}.
 */
public final class Slice {

    public enum Kind { ALL, PREDICTED_CLASS, TRUE_LABEL, TAG, PAIR_ROLE }

    public static final Slice ALL = new Slice(Kind.ALL, null, null);

    // Tag keys are identifiers; values are free text but may not be empty or contain control characters.
    private static final Pattern TAG_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_.\\-]{0,63}");
    private static final int MAX_TAG_VALUE_LENGTH = 128;

    private final Kind kind;
    private final String name;
    private final String value;

    private Slice(Kind kind, String name, String value) {
        this.kind = kind;
        this.name = name;
        this.value = value;
    }

    public static Slice predictedClass(int predictedClass) {
        requireClass(predictedClass);
        return new Slice(Kind.PREDICTED_CLASS, null, Integer.toString(predictedClass));
    }

    public static Slice trueLabel(int label) {
        requireClass(label);
        return new Slice(Kind.TRUE_LABEL, null, Integer.toString(label));
    }

    public static Slice tag(String key, String value) {
        if (key == null || !TAG_KEY.matcher(key).matches()) {
            throw new IllegalArgumentException("tag key must match " + TAG_KEY.pattern() + ", got '" + key + "'");
        }
        if (value == null || value.isEmpty() || value.length() > MAX_TAG_VALUE_LENGTH
                || value.chars().anyMatch(Character::isISOControl)) {
            throw new IllegalArgumentException("tag value for '" + key + "' must be 1.." + MAX_TAG_VALUE_LENGTH
                    + " printable characters");
        }
        return new Slice(Kind.TAG, key, value);
    }

    public static Slice pairRole(PairRole role) {
        Objects.requireNonNull(role, "role");
        return new Slice(Kind.PAIR_ROLE, null, role.word());
    }

    /** Parses a {@link #key()}; throws {@link IllegalArgumentException} naming the accepted forms. */
    public static Slice parse(String key) {
        if (key == null || key.isEmpty() || key.equals("all")) {
            return ALL;
        }
        try {
            if (key.startsWith("predicted=")) {
                return predictedClass(Integer.parseInt(key.substring("predicted=".length())));
            }
            if (key.startsWith("label=")) {
                return trueLabel(Integer.parseInt(key.substring("label=".length())));
            }
            if (key.startsWith("pair=")) {
                return pairRole(PairRole.fromWord(key.substring("pair=".length())));
            }
            if (key.startsWith("tag:")) {
                int eq = key.indexOf('=');
                if (eq > 4) {
                    return tag(key.substring(4, eq), key.substring(eq + 1));
                }
            }
        } catch (NumberFormatException e) {
            // fall through to the message below
        }
        throw new IllegalArgumentException("unknown slice '" + key
                + "': expected all, predicted=<class>, label=<class>, tag:<key>=<value> or pair=benign|attacked");
    }

    private static void requireClass(int c) {
        if (c < 0) {
            throw new IllegalArgumentException("class must be >= 0, got " + c);
        }
    }

    public Kind kind() {
        return kind;
    }

    /** The tag key, for {@link Kind#TAG} slices. */
    public String tagKey() {
        return name;
    }

    /** The class, label, tag value or pair role word; null for {@link Kind#ALL}. */
    public String value() {
        return value;
    }

    public String key() {
        return switch (kind) {
            case ALL -> "all";
            case PREDICTED_CLASS -> "predicted=" + value;
            case TRUE_LABEL -> "label=" + value;
            case TAG -> "tag:" + name + "=" + value;
            case PAIR_ROLE -> "pair=" + value;
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Slice s && s.kind == kind && Objects.equals(s.name, name) && Objects.equals(s.value, value);
    }

    @Override
    public int hashCode() {
        // the kind by name: an enum hashes by identity, which differs from one JVM to the next
        return Objects.hash(kind.name(), name, value);
    }

    @Override
    public String toString() {
        return key();
    }
}
