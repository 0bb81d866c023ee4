package ai.neuraldivergence.contract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.neuraldivergence.domain.PairRole;
import ai.neuraldivergence.domain.Slice;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProtoSlicesTest {

    @Test
    void everyKindOfSliceSurvivesTheWire() {
        for (Slice s : List.of(Slice.ALL, Slice.predictedClass(3), Slice.trueLabel(0), Slice.tag("eps", "0.1"),
                Slice.pairRole(PairRole.BENIGN), Slice.pairRole(PairRole.ATTACKED))) {
            assertEquals(s, ProtoSlices.fromProto(ProtoSlices.toProto(s)));
        }
        assertEquals(Slice.ALL, ProtoSlices.fromProto(ai.neuraldivergence.proto.v1.Slice.getDefaultInstance()));
    }

    @Test
    void anUnspecifiedPairRoleIsRefused() {
        var s = ai.neuraldivergence.proto.v1.Slice.newBuilder()
                .setPairRole(ai.neuraldivergence.proto.v1.PairRole.PAIR_ROLE_UNSPECIFIED).build();
        assertThrows(IllegalArgumentException.class, () -> ProtoSlices.fromProto(s));
    }
}
