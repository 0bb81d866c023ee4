package ai.neuraldivergence.endtoend;

import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import java.time.Duration;
import java.time.Instant;

/** Time-range selections as the tests ask for them: whole seconds from a start. */
final class Ranges {

    private Ranges() {
    }

    /** The selection of [from, from + length), slice all. */
    static Selection range(Instant from, Duration length) {
        return Selection.newBuilder().setTimeRange(TimeRange.newBuilder()
                .setFrom(Timestamp.newBuilder().setSeconds(from.getEpochSecond()))
                .setTo(Timestamp.newBuilder().setSeconds(from.plus(length).getEpochSecond()))).build();
    }
}
