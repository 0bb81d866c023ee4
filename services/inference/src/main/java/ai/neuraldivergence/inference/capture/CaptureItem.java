package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import java.util.List;

/** One request's capture: a batch per tap, and optionally the inputs as images. */
public record CaptureItem(List<ActivationBatch> batches, List<CapturedInput> inputs) {

    public int observations() {
        return batches.isEmpty() ? 0 : batches.get(0).getObservationsCount();
    }
}
