package ai.neuraldivergence.inference.capture;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * What became of one request's capture: done once every Kafka record carrying any of its rows was acknowledged or
 * refused. A request that must not answer before its observations are kept (POST /v1/observations) waits on it; a
 * prediction does not, and a failure is counted afterwards. Thread-safe: the request thread, the capture thread and
 * the producer's callbacks all touch it.
 */
public final class Delivery {

    /**
     * The outcome: the records sent, what failed, and per tap whether every record carrying its rows was
     * acknowledged ({@code recorded}) or some was not ({@code notRecorded}): a tap's observations may be split over
     * several records, and the taps of one request travel as separate records, so a failure can leave some taps
     * recorded, and a tap split over several records {@code partlyRecorded}. A client that retries resends the taps
     * not recorded only, or those observations count twice.
     */
    public record Outcome(int records, List<String> failures, Set<String> recorded, Set<String> partlyRecorded,
            Set<String> notRecorded) {
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
    private final Set<String> acknowledgedTaps = new TreeSet<>();
    private final Set<String> failedTaps = new TreeSet<>();

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
        done.complete(snapshot());
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

    /** A record carrying rows of {@code tap} (or the captured input, "input") was acknowledged. */
    synchronized void acknowledged(String tap) {
        settled++;
        acknowledgedTaps.add(tap);
        completeIfSettled();
    }

    /** A record carrying rows of {@code tap} was refused or never sent. */
    synchronized void failed(String tap, String what) {
        settled++;
        failedTaps.add(tap);
        addFailure(what);
        completeIfSettled();
    }

    /** Rows of {@code tap} were not sent (their record could not be built). */
    synchronized void notSent(String tap) {
        failedTaps.add(tap);
    }

    /**
     * The capture thread could not send what it had of this capture (it could not build its records): no more
     * records will carry its rows. It completes, as failed, once the records already sent are settled.
     */
    synchronized void abort(String why) {
        addFailure(why);
        seal();
    }

    /** No more records will be created for it: it completes when the last one is settled. */
    synchronized void seal() {
        sealed = true;
        completeIfSettled();
    }

    private void addFailure(String what) {
        if (failures.size() < 8) {
            failures.add(what);
        }
    }

    private void completeIfSettled() {
        if (sealed && settled == expected && !done.isDone()) {
            done.complete(snapshot());
        }
    }

    private Outcome snapshot() {
        Set<String> recorded = new TreeSet<>(acknowledgedTaps);
        recorded.removeAll(failedTaps);
        Set<String> partly = new TreeSet<>(acknowledgedTaps);
        partly.retainAll(failedTaps);
        Set<String> not = new TreeSet<>(failedTaps);
        not.removeAll(acknowledgedTaps);
        // sorted, so that a message naming them reads the same each time
        return new Outcome(expected, List.copyOf(failures), Collections.unmodifiableSet(recorded),
                Collections.unmodifiableSet(partly), Collections.unmodifiableSet(not));
    }
}
