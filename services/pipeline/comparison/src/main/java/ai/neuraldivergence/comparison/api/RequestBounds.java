package ai.neuraldivergence.comparison.api;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Bounds every request meets before any query runs, whatever the method, read from the message's descriptor: each
 * string at most {@link #MAX_STRING_CHARS} characters and free of control characters, each timestamp inside
 * protobuf's range. A problem is named
 * by its field path and never quotes the value: an error's description travels in a gRPC trailer, which clients cap
 * at 8 KB (a 100 KB model id echoed there once turned INVALID_ARGUMENT into a reset stream reported as INTERNAL).
 */
final class RequestBounds {

    /**
     * Characters a string field may have. Every name the platform stores is shorter (model, version, tap,
     * reference and instance ids at most 128, tag values 256), so a longer one can only be a mistake.
     */
    static final int MAX_STRING_CHARS = 256;

    private RequestBounds() {
    }

    /** Throws IllegalArgumentException naming the first field out of bounds. */
    static void check(Message request) {
        problem(request, "").ifPresent(p -> {
            throw new IllegalArgumentException(p);
        });
    }

    static Optional<String> problem(Message message, String path) {
        if (message instanceof Timestamp t) {
            return timestampProblem(t, path);
        }
        for (Map.Entry<FieldDescriptor, Object> field : message.getAllFields().entrySet()) {
            FieldDescriptor f = field.getKey();
            String name = path.isEmpty() ? f.getName() : path + "." + f.getName();
            if (f.isRepeated()) {
                List<?> values = (List<?>) field.getValue();
                for (int i = 0; i < values.size(); i++) {
                    Optional<String> p = valueProblem(f, values.get(i), name + "[" + i + "]");
                    if (p.isPresent()) {
                        return p;
                    }
                }
            } else {
                Optional<String> p = valueProblem(f, field.getValue(), name);
                if (p.isPresent()) {
                    return p;
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<String> valueProblem(FieldDescriptor f, Object value, String path) {
        if (f.getJavaType() == FieldDescriptor.JavaType.STRING) {
            String s = (String) value;
            if (s.length() > MAX_STRING_CHARS) {
                return Optional.of(path + " has " + s.length() + " characters; a string may have at most "
                        + MAX_STRING_CHARS);
            }
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < 0x20 || c == 0x7f) {
                    // PostgreSQL refuses NUL in text (the call failed as INTERNAL), and no name, tag or id the
                    // platform stores holds a control character: none can match, and logs would print it raw
                    return Optional.of(String.format("%s holds a control character (U+%04X at %d); names, ids and "
                            + "tags may not", path, (int) c, i));
                }
            }
        }
        if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            return problem((Message) value, path);
        }
        return Optional.empty();
    }

    private static Optional<String> timestampProblem(Timestamp t, String path) {
        if (!ai.neuraldivergence.wire.WireMapping.validTimestamp(t)) {
            return Optional.of(path + " must lie in 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z, got "
                    + t.getSeconds() + " s " + t.getNanos() + " ns since 1970");
        }
        return Optional.empty();
    }
}
