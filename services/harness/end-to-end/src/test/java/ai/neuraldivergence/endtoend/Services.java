package ai.neuraldivergence.endtoend;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/** The packaged services one test starts, closed together when it ends, the last started first. */
final class Services implements AutoCloseable {

    private final Deque<ServiceProcess> started = new ArrayDeque<>();

    /** Starts {@code module}, logging to {@code target/e2e-logs/<logName>.log}. */
    ServiceProcess start(String module, Map<String, String> environment, String logName) throws IOException {
        ServiceProcess service = ServiceProcess.start(module, environment, List.of(), logName);
        started.push(service);
        return service;
    }

    /**
     * Starts the comparison service under its own login ({@link ServiceProcess#asComparison}): only once the
     * aggregator is ready, as its migration creates the role that login joins.
     */
    ServiceProcess startComparison(Map<String, String> environment, String logName) throws IOException {
        return start("comparison", ServiceProcess.asComparison(environment), logName);
    }

    @Override
    public void close() {
        while (!started.isEmpty()) {
            started.pop().close();
        }
    }
}
