package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.service.SelectionReader;
import ai.neuraldivergence.contract.ProtoSlices;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.proto.v1.Reduction;
import ai.neuraldivergence.proto.v1.Selection;
import ai.neuraldivergence.proto.v1.TapInfo;
import ai.neuraldivergence.proto.v1.TimeRange;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.Arrays;

/** Between the wire's v1 messages and the domain's types; malformed input raises IllegalArgumentException. */
final class ProtoMapping {

    private ProtoMapping() {
    }

    /** A time-range selection; references arrive with the comparison issue's reference storage. */
    static SelectionReader.TimeSelection timeSelection(Selection s, String side) {
        if (s.getSourceCase() == Selection.SourceCase.REFERENCE) {
            throw new ai.neuraldivergence.comparison.service.NotFoundException("reference '" + s.getReference()
                    + "' does not exist");
        }
        if (s.getSourceCase() != Selection.SourceCase.TIME_RANGE) {
            throw new IllegalArgumentException("selection " + side + " needs a reference or a time_range");
        }
        TimeRange r = s.getTimeRange();
        if (!r.hasFrom() || !r.hasTo()) {
            throw new IllegalArgumentException("selection " + side + ": time_range needs from and to");
        }
        return new SelectionReader.TimeSelection(instant(r.getFrom()), instant(r.getTo()),
                ProtoSlices.fromProto(s.getSlice()));
    }

    static TapInfo tapInfo(TapDescriptor t) {
        return TapInfo.newBuilder().setName(t.tap()).setIndex(t.tapIndex())
                .addAllShape(Arrays.stream(t.shape()).boxed().toList()).setNeuronCount(t.neuronCount())
                .setReduction(switch (t.reduction()) {
                    case NONE -> Reduction.REDUCTION_NONE;
                    case MAX -> Reduction.REDUCTION_MAX;
                    case MEAN -> Reduction.REDUCTION_MEAN;
                }).build();
    }

    static Instant instant(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }

    static Timestamp timestamp(Instant t) {
        return Timestamp.newBuilder().setSeconds(t.getEpochSecond()).setNanos(t.getNano()).build();
    }
}
