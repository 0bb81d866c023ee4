package ai.neuraldivergence.comparison.service;

/** A write found its monitor deleted or of another generation: that monitor's runs start over, not the lease. */
final class MonitorChanged extends RuntimeException {
    MonitorChanged() {
        super("the monitor changed while it was evaluated", null, false, false);
    }
}
