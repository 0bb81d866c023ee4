package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.storage.PartitionLayout;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per table partitioned by time: the partitions made ahead of now ({@code nd_aggregator_partitions_ahead}: at 0 a
 * write would have to make its own) and those past their retention that had to be kept
 * ({@code nd_aggregator_partitions_held}: something in them is not folded or rolled up yet). Set by the jobs that
 * make and retire them.
 */
@ApplicationScoped
public class PartitionGauges {

    private final Map<String, AtomicLong> ahead = new HashMap<>();
    private final Map<String, AtomicLong> held = new HashMap<>();

    @Inject
    public PartitionGauges(MeterRegistry registry) {
        for (String table : PartitionLayout.TABLES) {
            AtomicLong a = new AtomicLong();
            AtomicLong h = new AtomicLong();
            ahead.put(table, a);
            held.put(table, h);
            Gauge.builder("nd.aggregator.partitions.ahead", a, AtomicLong::doubleValue).tag("table", table)
                    .description("Partitions made ahead of now (of the finest kind, for tap_window its minutes)")
                    .register(registry);
            Gauge.builder("nd.aggregator.partitions.held", h, AtomicLong::doubleValue).tag("table", table)
                    .description("Partitions past their retention kept because something in them is not folded or "
                            + "rolled up yet")
                    .register(registry);
        }
    }

    public void ahead(String table, long partitions) {
        ahead.get(table).set(partitions);
    }

    public void held(String table, long partitions) {
        held.get(table).set(partitions);
    }
}
