package ai.neuraldivergence.aggregator.ingest;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Optional;
import java.util.Set;

/**
 * Finds a JVM failure (an {@link OutOfMemoryError}, say) behind an exception. The Kafka client reports its heartbeat
 * thread's OutOfMemoryError to the consumer wrapped in a {@link RuntimeException}: restarting from the stored offsets
 * would fill the heap again and again, a loop in which every thread, the health probes' too, starves. Such a failure
 * ends the consumer thread as the Error itself would, and liveness asks for a new process.
 */
final class FatalCause {

    private FatalCause() {
    }

    static Optional<VirtualMachineError> of(Throwable failure) {
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Throwable t = failure; t != null && seen.add(t); t = t.getCause()) {
            if (t instanceof VirtualMachineError error) {
                return Optional.of(error);
            }
        }
        return Optional.empty();
    }
}
