package ai.neuraldivergence.contract;

import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.Tag;

/** Slices between the wire ({@code neuraldivergence.v1.Slice}) and the domain ({@link Slice}). */
public final class ProtoSlices {

    private ProtoSlices() {
    }

    /** The domain slice of a wire slice; an unset slice means all. Throws IllegalArgumentException when invalid. */
    public static Slice fromProto(ai.neuraldivergence.proto.v1.Slice s) {
        return switch (s.getKindCase()) {
            case KIND_NOT_SET, ALL -> Slice.ALL;
            case PREDICTED_CLASS -> Slice.predictedClass(s.getPredictedClass());
            case TRUE_LABEL -> Slice.trueLabel(s.getTrueLabel());
            case TAG -> Slice.tag(s.getTag().getKey(), s.getTag().getValue());
            case PAIR_ROLE -> switch (s.getPairRole()) {
                case PAIR_ROLE_BENIGN -> Slice.pairRole(PairRole.BENIGN);
                case PAIR_ROLE_ATTACKED -> Slice.pairRole(PairRole.ATTACKED);
                default -> throw new IllegalArgumentException("slice pair_role must be BENIGN or ATTACKED");
            };
        };
    }

    public static ai.neuraldivergence.proto.v1.Slice toProto(Slice s) {
        ai.neuraldivergence.proto.v1.Slice.Builder b = ai.neuraldivergence.proto.v1.Slice.newBuilder();
        return switch (s.kind()) {
            case ALL -> b.setAll(true).build();
            case PREDICTED_CLASS -> b.setPredictedClass(Integer.parseInt(s.value())).build();
            case TRUE_LABEL -> b.setTrueLabel(Integer.parseInt(s.value())).build();
            case TAG -> b.setTag(Tag.newBuilder().setKey(s.tagKey()).setValue(s.value())).build();
            case PAIR_ROLE -> b.setPairRole(PairRole.fromWord(s.value()) == PairRole.BENIGN
                    ? ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_BENIGN
                    : ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_ATTACKED).build();
        };
    }
}
