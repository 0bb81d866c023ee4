package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.proto.v1.ActivationBatch;
import ai.neuraldivergence.proto.v1.CapturedInput;
import java.util.List;

/**
 * One request's capture, waiting for the capture thread. Building the batches (for a prediction: reducing its taps)
 * happens on that thread, off the request's path; whatever the item holds (native tensors) is released by
 * {@link #batches} or {@link #discard}, exactly once.
 */
public interface CaptureItem {

    /** Observations this item holds: what the queue's bound counts. */
    int observations();

    /** One entry per tap, in network order. Releases the item's resources. */
    List<TapRows> taps();

    /** The inputs as images, when they are captured. */
    List<CapturedInput> inputs();

    /** Releases the item's resources without publishing it. */
    void discard();

    /** An item whose batches are already built. */
    static CaptureItem of(List<ActivationBatch> batches, List<CapturedInput> inputs) {
        return new CaptureItem() {
            @Override
            public int observations() {
                return batches.isEmpty() ? 0 : batches.get(0).getObservationsCount();
            }

            @Override
            public List<TapRows> taps() {
                return batches.stream().map(TapRows::of).toList();
            }

            @Override
            public List<CapturedInput> inputs() {
                return inputs;
            }

            @Override
            public void discard() {
            }
        };
    }
}
