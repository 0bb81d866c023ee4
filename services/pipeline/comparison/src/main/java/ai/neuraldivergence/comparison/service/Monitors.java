package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.storage.MonitorStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * What every replica knows of the drift monitors, from the store: their definitions, their state per tap (written
 * by the replica that evaluates them, {@link MonitorEvaluator}), exported as gauges, and their transitions, pushed
 * to this replica's watchers in the order they were stored, each once. Read again every second, so that a monitor
 * created, changed or deleted through any replica, and a state found by any, shows on all.
 */
public final class Monitors {

    /** One monitor's state on one tap; {@code state} is null before its first evaluation. */
    public record Status(StoredMonitor monitor, String tap, MonitorStatus state) {

        public MonitorDefinition definition() {
            return monitor.definition();
        }

        public Transition.State current() {
            return state == null ? Transition.State.OK : state.state();
        }
    }

    /** A stored transition, with its monitor's status as of the transition. */
    public record Announced(Status status, Transition transition) {
    }

    private record Key(String monitor, String tap) {
    }

    private record Gauges(Tags tags, List<Meter> meters) {
    }

    /** Transitions pushed in one read at most; the rest follow at the next. */
    static final int PUSH_BATCH = 500;

    private final MonitorStore store;
    private final MeterRegistry registry;
    private final Consumer<Announced> transitions;
    private volatile List<StoredMonitor> monitors = List.of();
    private final Map<Key, Status> statuses = new LinkedHashMap<>();
    /** Per monitor and tap, its gauges and the labels they carry. */
    private final Map<Key, Gauges> gauges = new HashMap<>();
    private long pushed;

    /**
     * @param transitions told of each transition stored after this replica started, in order, each once
     */
    public Monitors(MonitorStore store, MeterRegistry registry, Consumer<Announced> transitions) {
        this.store = store;
        this.registry = registry;
        this.transitions = transitions;
        this.pushed = store.newestTransitionId();
    }

    /** Reads the definitions and states again; gauges follow (those of deleted monitors or taps are removed). */
    public void refresh() {
        List<StoredMonitor> now = store.list(null);
        List<MonitorStatus> states = store.states();
        Map<String, StoredMonitor> byName = new HashMap<>();
        now.forEach(m -> byName.put(m.definition().name(), m));
        Map<Key, Status> next = new LinkedHashMap<>();
        for (MonitorStatus s : states) {
            StoredMonitor m = byName.get(s.monitor());
            if (m != null) {
                next.put(new Key(s.monitor(), s.tap()), new Status(m, s.tap(), s));
            }
        }
        synchronized (this) {
            monitors = now;
            statuses.clear();
            statuses.putAll(next);
            // a monitor moved to another model or reference is registered again: its old labels would go on
            // reporting it under the model or reference it left
            for (var it = gauges.entrySet().iterator(); it.hasNext();) {
                var e = it.next();
                Status status = next.get(e.getKey());
                if (status == null || !e.getValue().tags().equals(tags(e.getKey(), status.definition()))) {
                    e.getValue().meters().forEach(registry::remove);
                    it.remove();
                }
            }
            next.forEach((key, status) -> gauges.computeIfAbsent(key, k -> register(k, status.definition())));
        }
    }

    public List<StoredMonitor> monitors() {
        return monitors;
    }

    /** Pushes the transitions stored since the last push, in order; returns how many. */
    public int push() {
        List<Transition> fresh;
        synchronized (this) {
            fresh = store.transitionsAfter(pushed, PUSH_BATCH);
        }
        boolean refreshed = false;
        for (Transition t : fresh) {
            // announced under the definition that recorded it: a monitor changed since (another model, another
            // tap) is another generation, and its old transition must not reach the new one's watchers as its own
            Optional<StoredMonitor> m = recordedBy(t);
            if (m.isEmpty() && !refreshed) {
                // a generation newer than this replica has seen: read the monitors once more (once a push)
                refresh();
                refreshed = true;
                m = recordedBy(t);
            }
            if (m.isPresent()) {
                transitions.accept(new Announced(new Status(m.get(), t.tap(), asStatus(t)), t));
            }
            synchronized (this) {
                pushed = t.id();
            }
        }
        return fresh.size();
    }

    private Optional<StoredMonitor> recordedBy(Transition t) {
        return monitors.stream().filter(s -> s.definition().name().equals(t.monitor())
                && s.generation() == t.generation()).findFirst();
    }

    /** The state a transition led to, as a status (the deciding evaluation's window and value). */
    public static MonitorStatus asStatus(Transition t) {
        return new MonitorStatus(t.monitor(), t.generation(), t.tap(), t.state(), t.since(), t.sinceLowerBound(),
                t.windowEnd(), t.windowStart(), 0, 0, t.value(), t.thresholdApplied(), null, t.reason());
    }

    private static Tags tags(Key key, MonitorDefinition d) {
        return Tags.of("monitor", d.name(), "model", d.modelId(), "tap", key.tap(), "reference", d.reference());
    }

    private Gauges register(Key key, MonitorDefinition d) {
        Tags tags = tags(key, d);
        List<Meter> out = new ArrayList<>();
        out.add(Gauge.builder("nd.comparison.monitor.drifting", this, m -> m.status(key)
                .map(s -> s.current() == Transition.State.DRIFTING ? 1.0 : 0.0).orElse(0.0)).tags(tags)
                .description("1 while the monitor finds the tap drifting, else 0").register(registry));
        for (Transition.State state : Transition.State.values()) {
            out.add(Gauge.builder("nd.comparison.monitor.state", this, m -> m.status(key)
                    .map(s -> s.current() == state ? 1.0 : 0.0).orElse(0.0)).tags(tags.and("state", state.word()))
                    .description("1 for the monitor's state on the tap (ok, drifting, insufficient_data, invalid), "
                            + "0 for the others").register(registry));
        }
        out.add(Gauge.builder("nd.comparison.monitor.value", this, m -> m.status(key)
                .map(s -> s.state() == null ? Double.NaN : s.state().value()).orElse(Double.NaN)).tags(tags)
                .description("The newest complete evaluation's value of the monitor's metric against its reference")
                .register(registry));
        // a calibrated monitor's threshold moves with its window's counts: a dashboard plots it beside the value
        out.add(Gauge.builder("nd.comparison.monitor.threshold", this, m -> m.status(key)
                .map(s -> s.state() == null ? Double.NaN : s.state().thresholdApplied()).orElse(Double.NaN))
                .tags(tags).description("The threshold the newest complete evaluation's value was compared with")
                .register(registry));
        out.add(Gauge.builder("nd.comparison.monitor.detectable.effect", this, m -> m.status(key)
                .map(s -> s.state() == null ? Double.NaN : s.state().smallestDetectableEffect()).orElse(Double.NaN))
                .tags(tags).description("A calibrated monitor's smallest effect detectable at its newest window's "
                        + "counts (NaN for a fixed one)").register(registry));
        out.add(Gauge.builder("nd.comparison.monitor.since", this, m -> m.status(key)
                .map(s -> s.state() == null || s.state().since() == null ? 0.0
                        : (double) s.state().since().getEpochSecond()).orElse(0.0)).tags(tags)
                .description("When the current state began (epoch seconds; 0: ok since the start)").register(registry));
        return new Gauges(tags, out);
    }

    private synchronized Optional<Status> status(Key key) {
        return Optional.ofNullable(statuses.get(key));
    }

    /** Every monitor's state per tap it has evaluated; monitors not evaluated yet once, tap as defined. */
    public synchronized List<Status> statuses() {
        List<Status> out = new ArrayList<>();
        for (StoredMonitor m : monitors) {
            boolean any = false;
            for (Map.Entry<Key, Status> e : statuses.entrySet()) {
                if (e.getKey().monitor().equals(m.definition().name())) {
                    out.add(e.getValue());
                    any = true;
                }
            }
            if (!any) {
                out.add(new Status(m, m.definition().tap(), null));
            }
        }
        return out;
    }
}
