package ai.neuraldivergence.inference.capture;

import ai.neuraldivergence.proto.v1.CapturedInput;
import java.util.List;

/**
 * One request's capture, waiting for the capture thread. Building the rows (for a prediction: reducing its taps)
 * happens on that thread, off the request's path; whatever the item holds (native tensors) is released by
 * {@link #taps} or {@link #discard}, exactly once. Its {@link #delivery} says when Kafka has it.
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

    /** What became of it. */
    Delivery delivery();

    /** An item whose rows are already built (observations recorded through the API). */
    static CaptureItem of(List<TapRows> taps) {
        Delivery delivery = new Delivery();
        return new CaptureItem() {
            @Override
            public int observations() {
                return taps.isEmpty() ? 0 : taps.get(0).observations().size();
            }

            @Override
            public List<TapRows> taps() {
                return taps;
            }

            @Override
            public List<CapturedInput> inputs() {
                return List.of();
            }

            @Override
            public void discard() {
            }

            @Override
            public Delivery delivery() {
                return delivery;
            }
        };
    }
}
