package ai.neuraldivergence.aggregator.ingest;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/** The aggregator's counters: each has a description, which the Prometheus endpoint serves as its help text. */
final class Meters {

    private Meters() {
    }

    static Counter counter(MeterRegistry registry, String name, String description) {
        return Counter.builder(name).description(description).register(registry);
    }
}
