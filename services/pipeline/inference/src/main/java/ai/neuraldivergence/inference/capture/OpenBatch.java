package ai.neuraldivergence.inference.capture;

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

    /** Observations {@code [from, to)} as one batch, their neurons {@code [first, first + width)}. */
    ActivationBatch build(ActivationBatch head, int from, int to, int first, int width) {
        int neurons = header.getNeuronCount();
        ActivationBatch.Builder b = head.toBuilder().setNeuronOffset(first)
                .addAllObservations(observations.subList(from, to));
        for (int o = from; o < to; o++) {
            for (int j = 0; j < width; j++) {
                b.addActivations(activations[o * neurons + first + j]);
            }
        }
        return b.build();
    }

    /** The encoded size observation {@code i} adds to a batch of {@code width} neurons. */
    long bytesOf(int i, int width) {
        return CodedOutputStream.computeMessageSize(8, observations.get(i)) + 4L * width;
    }
}
