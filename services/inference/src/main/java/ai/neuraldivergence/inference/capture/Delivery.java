package ai.neuraldivergence.inference.capture;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What became of one request's capture: done once every Kafka record carrying any of its rows was acknowledged or
 * refused. A request that must not answer before its observations are kept (POST /v1/observations) waits on it; a
 * prediction does not, and a failure is counted afterwards. Thread-safe: the request thread, the capture thread and
 * the producer's callbacks all touch it.
 */
public final class Delivery {

    /** The outcome: the records delivered and, if any failed, what failed. */
    public record Outcome(int records, List<String> failures) {
        public boolean delivered() {
            return failures.isEmpty();
        }
    }

    private final CompletableFuture<Outcome> done = new CompletableFuture<>();
    private int expected;
    private int settled;
    private boolean sealed;
    private boolean taken;
    private boolean cancelled;
    private final List<String> failures = new ArrayList<>();

    /** Completes with the outcome once every record is settled. */
    public CompletableFuture<Outcome> outcome() {
        return done;
    }

    /**
     * Withdraws the capture if the capture thread has not taken it yet: then nothing of it will be sent, and the
     * outcome says so. False when it is already on its way (the caller waits for the outcome instead).
     */
    public synchronized boolean cancel(String why) {
        if (taken) {
            return false;
        }
        cancelled = true;
        failures.add(why);
        done.complete(new Outcome(0, List.copyOf(failures)));
        return true;
    }

    /** The capture thread takes the item; false when it was withdrawn. */
    synchronized boolean take() {
        if (cancelled) {
            return false;
        }
        taken = true;
        return true;
    }

    /** One more record will carry some of its rows. */
    synchronized void expect() {
        expected++;
    }

    synchronized void acknowledged() {
        settled++;
        completeIfSettled();
    }

    synchronized void failed(String what) {
        settled++;
        if (failures.size() < 8) {
            failures.add(what);
        }
        completeIfSettled();
    }

    /** No more records will be created for it: it completes when the last one is settled. */
    synchronized void seal() {
        sealed = true;
        completeIfSettled();
    }

    private void completeIfSettled() {
        if (sealed && settled == expected && !done.isDone()) {
            done.complete(new Outcome(expected, List.copyOf(failures)));
        }
    }
}
