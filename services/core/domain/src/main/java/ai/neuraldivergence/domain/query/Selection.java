package ai.neuraldivergence.domain.query;

import ai.neuraldivergence.domain.Slice;
import java.time.Duration;
import java.time.Instant;

/** One side of a comparison: a named reference or a time range [from, to), narrowed to a slice. */
public sealed interface Selection permits Selection.Reference, Selection.Range {

    /** The longest range one query may merge; bounds the rows read and the merge work per request. */
    Duration MAX_RANGE = Duration.ofDays(400);

    Slice slice();

    /** The same source narrowed to another slice. */
    Selection withSlice(Slice slice);

    /** How an error message names this selection. */
    String describe();

    record Reference(String name, Slice slice) implements Selection {

        public Reference {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("reference name is empty");
            }
            slice = slice == null ? Slice.ALL : slice;
        }

        @Override
        public Reference withSlice(Slice other) {
            return new Reference(name, other);
        }

        @Override
        public String describe() {
            return "reference '" + name + "', slice " + slice.key();
        }
    }

    record Range(Instant from, Instant to, Slice slice) implements Selection {

        public Range {
            if (from == null || to == null) {
                throw new IllegalArgumentException("a time range needs both from and to");
            }
            if (!from.isBefore(to)) {
                throw new IllegalArgumentException("time range must have from < to, got [" + from + ", " + to + ")");
            }
            if (Duration.between(from, to).compareTo(MAX_RANGE) > 0) {
                throw new IllegalArgumentException("time range may span at most " + MAX_RANGE.toDays() + " days");
            }
            slice = slice == null ? Slice.ALL : slice;
        }

        @Override
        public Range withSlice(Slice other) {
            return new Range(from, to, other);
        }

        @Override
        public String describe() {
            return "[" + from + ", " + to + "), slice " + slice.key();
        }
    }
}
