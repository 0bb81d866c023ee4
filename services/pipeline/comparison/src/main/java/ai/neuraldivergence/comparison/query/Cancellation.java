package ai.neuraldivergence.comparison.query;

/** Checked between units of work (taps, windows, pairs of classes), so that a cancelled call or a passed deadline stops early. */
public interface Cancellation {

    /** Throws when the call should stop. */
    void check();

    Cancellation NONE = () -> { };
}
