package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.domain.mmd.RandomFeatureMap;
import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.Observation;
import com.google.protobuf.CodedOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A tap's rows gathered from consecutive requests on the capture thread, turned into records when sent. */
final class OpenBatch {

    final ActivationBatch header;
    final List<Observation> observations = new ArrayList<>();
    // the capture each observation came from, to settle its delivery
    final List<Delivery> owners = new ArrayList<>();
    private float[] activations = new float[4096];
    private int size;

    OpenBatch(ActivationBatch header) {
        this.header = header;
    }

    void add(TapRows rows, Delivery owner) {
        observations.addAll(rows.observations());
        for (int i = 0; i < rows.observations().size(); i++) {
            owners.add(owner);
        }
        if (size + rows.activations().length > activations.length) {
            activations = Arrays.copyOf(activations, Math.max(activations.length * 2,
                    size + rows.activations().length));
        }
        System.arraycopy(rows.activations(), 0, activations, size, rows.activations().length);
        size += rows.activations().length;
    }

    /**
     * Observations {@code [from, to)} as one batch, their neurons {@code [first, first + width)}, with each
     * observation's layer projections through {@code map} where it is given (block 0 of a tap stored in several
     * blocks: no block holds the whole observation, which is here).
     */
    ActivationBatch build(ActivationBatch head, int from, int to, int first, int width, RandomFeatureMap map) {
        int neurons = header.getNeuronCount();
        ActivationBatch.Builder b = head.toBuilder().setNeuronOffset(first)
                .addAllObservations(observations.subList(from, to));
        for (int o = from; o < to; o++) {
            for (int j = 0; j < width; j++) {
                b.addActivations(activations[o * neurons + first + j]);
            }
        }
        if (map != null) {
            float[] row = new float[neurons];
            for (int o = from; o < to; o++) {
                System.arraycopy(activations, o * neurons, row, 0, neurons);
                for (float p : map.projectionOrNaN(row)) {
                    b.addLayerProjections(p);
                }
            }
        }
        return b.build();
    }

    /**
     * The encoded size observation {@code i} adds to a batch of {@code width} neurons, with its layer projections
     * where {@code projected}.
     */
    long bytesOf(int i, int width, boolean projected) {
        return CodedOutputStream.computeMessageSize(8, observations.get(i)) + 4L * width
                + (projected ? 4L * RandomFeatureMap.DIRECTIONS : 0);
    }
}
