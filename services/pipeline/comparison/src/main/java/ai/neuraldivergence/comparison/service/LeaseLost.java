package ai.neuraldivergence.comparison.service;

/** A monitor write found the lease held by another: this replica stops evaluating until it takes the lease again. */
final class LeaseLost extends RuntimeException {
    LeaseLost() {
        super("the monitors' lease was lost", null, false, false);
    }
}
