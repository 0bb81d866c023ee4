package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.comparison.query.FailedPreconditionException;
import ai.neuraldivergence.comparison.query.Selections;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.proto.v1.Granularity;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import ai.neuraldivergence.storage.MonitorStore;
import ai.neuraldivergence.wire.WireMapping;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * Drift monitors at work: each stored monitor (model, tap or every tap, reference, slice, metric, threshold,
 * windows in a row) is evaluated as minute windows commit: the window against the reference, the tap's mean of the
 * metric as its value, and a {@link MonitorState} per tap deciding ok or drifting. The definitions are read from the
 * store at every evaluation run, so a monitor created, changed or deleted through any replica is followed by all.
 * States are exported as gauges (so Prometheus can alert); transitions are stored (once, whichever replica finds one
 * first) and handed to a listener (the watch hub).
 */
public final class Monitors {

    private static final Logger LOG = Logger.getLogger(Monitors.class);

    /** One monitor's state on one tap. */
    public record Status(StoredMonitor monitor, String tap, boolean drifting, Instant since, double value) {

        public MonitorDefinition definition() {
            return monitor.definition();
        }
    }

    /** A transition as stored (id 0 when it was stored already by another replica), with the state it led to. */
    public record Announced(Status status, Transition transition) {
    }

    private record Pending(StoredMonitor monitor, String modelVersion, String tap, Instant minute) {
    }

    /** A minute window announced; matched with the monitors when evaluated, so one created meanwhile sees it. */
    private record Committed(String modelId, String modelVersion, String tap, Slice slice, Instant minute) {
    }

    /** Windows waiting for the next run at most: more in two seconds means a backlog, evaluated from the newest. */
    static final int MAX_WAITING = 100_000;

    /** A state belongs to one generation of a monitor on one tap: a change of what it measures starts it over. */
    private record Key(String name, long generation, String tap) {
    }

    private record Tracked(MonitorDefinition definition, MonitorState state, List<Meter> gauges) {
    }

    private final MonitorStore store;
    private final Selections reader;
    private final MeterRegistry registry;
    private final Consumer<Announced> transitions;
    private volatile List<StoredMonitor> monitors = List.of();
    private final Map<Key, Tracked> tracked = new LinkedHashMap<>();
    private final Map<Key, Status> statuses = new LinkedHashMap<>();
    private final Set<Committed> committed = new LinkedHashSet<>();
    private long shed;
    private final Set<String> warned = new HashSet<>();

    /**
     * @param transitions told of each change of state
     */
    public Monitors(MonitorStore store, Selections reader, MeterRegistry registry, Consumer<Announced> transitions) {
        this.store = store;
        this.reader = reader;
        this.registry = registry;
        this.transitions = transitions;
    }

    /** Reads the stored monitors again; states of monitors deleted or changed are dropped with their gauges. */
    public void refresh() {
        List<StoredMonitor> now = store.list(null);
        Map<String, StoredMonitor> byName = new HashMap<>();
        now.forEach(m -> byName.put(m.definition().name(), m));
        synchronized (this) {
            monitors = now;
            for (var it = tracked.entrySet().iterator(); it.hasNext();) {
                var e = it.next();
                StoredMonitor m = byName.get(e.getKey().name());
                if (m == null || m.generation() != e.getKey().generation()
                        || !m.definition().equals(e.getValue().definition())) {
                    // a changed threshold or run length starts the state over too, until evaluations are stored
                    e.getValue().gauges().forEach(registry::remove);
                    statuses.remove(e.getKey());
                    it.remove();
                }
            }
        }
    }

    public List<StoredMonitor> monitors() {
        return monitors;
    }

    /** Notes a committed minute window; it is evaluated at the next {@link #evaluate()}. */
    public synchronized void windowCommitted(WindowUpdate u) {
        if (u.getWindow().getGranularity() != Granularity.GRANULARITY_MINUTE) {
            return;
        }
        if (committed.size() >= MAX_WAITING) {
            // the oldest goes: the newest minutes decide a monitor's state
            committed.remove(committed.iterator().next());
            shed++;
        }
        committed.add(new Committed(u.getModelId(), u.getModelVersion(), u.getTap(), WireMapping.slice(u.getSlice()),
                Instant.ofEpochSecond(u.getWindow().getStart().getSeconds())));
    }

    /** Announced windows dropped unevaluated because too many waited. */
    public synchronized long shed() {
        return shed;
    }

    /** Reads the definitions, then evaluates the windows committed since the last call (every couple of seconds). */
    public void evaluate() {
        refresh();
        List<Pending> work = new ArrayList<>();
        synchronized (this) {
            for (Committed w : committed) {
                for (StoredMonitor m : monitors) {
                    MonitorDefinition d = m.definition();
                    if (d.modelId().equals(w.modelId()) && d.slice().equals(w.slice()) && d.watches(w.tap())) {
                        work.add(new Pending(m, w.modelVersion(), w.tap(), w.minute()));
                    }
                }
            }
            committed.clear();
        }
        for (Pending p : work) {
            try {
                evaluate(p);
            } catch (RuntimeException e) {
                if (warned.add(p.monitor().definition().name() + '\u0000' + e.getMessage())) {
                    LOG.warnf("monitor %s on tap %s cannot be evaluated: %s", p.monitor().definition().name(),
                            p.tap(), e.getMessage());
                }
            }
        }
    }

    private void evaluate(Pending p) {
        StoredMonitor m = p.monitor();
        MonitorDefinition d = m.definition();
        TapDescriptor tap = reader.tap(d.modelId(), p.modelVersion(), p.tap());
        TapDistribution window = reader.readUncached(tap, reader.bind(d.modelId(), new Selection.Range(p.minute(),
                p.minute().plusSeconds(60), d.slice())));
        if (window.observationCount() < d.minObservations()) {
            // too few observations yet (a minute that just began) for a meaningful value
            return;
        }
        TapDistribution reference = reader.read(tap, reader.bind(d.modelId(),
                new Selection.Reference(d.reference(), d.slice())));
        if (reference.observationCount() == 0) {
            throw new FailedPreconditionException("reference '" + d.reference() + "' holds no observations of tap '"
                    + tap.tap() + "'");
        }
        TapComparison c = TapComparison.of(tap, reference, window, d.metric(), 0,
                TapComparison.DEFAULT_THRESHOLD, Divergence.DEFAULT_BINS);
        Key key = new Key(d.name(), m.generation(), tap.tap());
        Status before;
        Status after;
        MonitorState.Transition transition;
        synchronized (this) {
            Tracked t = tracked.computeIfAbsent(key, k -> new Tracked(d, new MonitorState(d.threshold(),
                    d.windowsInARow()), register(k, d)));
            before = statuses.get(key);
            transition = t.state().record(p.minute(), c.mean()).orElse(null);
            after = new Status(m, tap.tap(), t.state().drifting(), t.state().since(), t.state().current());
            statuses.put(key, after);
        }
        if (transition != null) {
            LOG.infof("monitor %s: tap %s of %s is %s since %s (%s %.3f, threshold %.3f)", d.name(), tap.tap(),
                    d.modelId(), transition.drifting() ? "DRIFTING" : "ok", transition.since(), d.metric(),
                    transition.value(), d.threshold());
            Transition.State state = transition.drifting() ? Transition.State.DRIFTING : Transition.State.OK;
            Transition.State previous = before != null && before.drifting() ? Transition.State.DRIFTING
                    : Transition.State.OK;
            Transition proposed = new Transition(0, d.name(), m.generation(), tap.tap(), state, previous,
                    transition.since(), transition.value(), d.threshold(), Instant.now());
            Transition stored;
            try {
                stored = store.record(proposed).orElse(proposed);
            } catch (RuntimeException e) {
                // the watchers still hear of it; the history misses it, and the log says so
                LOG.warnf(e, "monitor %s: the transition on tap %s could not be stored", d.name(), tap.tap());
                stored = proposed;
            }
            transitions.accept(new Announced(after, stored));
        }
    }

    private List<Meter> register(Key key, MonitorDefinition d) {
        Tags tags = Tags.of("monitor", d.name(), "model", d.modelId(), "tap", key.tap(), "reference", d.reference());
        List<Meter> out = new ArrayList<>();
        out.add(Gauge.builder("nd.comparison.monitor.drifting", this, m -> m.status(key).map(s -> s.drifting() ? 1.0
                : 0.0).orElse(0.0)).tags(tags).description("1 while the monitor finds the tap drifting, else 0")
                .register(registry));
        out.add(Gauge.builder("nd.comparison.monitor.value", this, m -> m.status(key).map(Status::value)
                .orElse(Double.NaN)).tags(tags)
                .description("The newest minute's value of the monitor's metric against its reference")
                .register(registry));
        out.add(Gauge.builder("nd.comparison.monitor.since", this, m -> m.status(key).map(s -> s.since() == null
                ? 0.0 : (double) s.since().getEpochSecond()).orElse(0.0)).tags(tags)
                .description("When the current state began (epoch seconds; 0: ok since the start)").register(registry));
        return out;
    }

    private synchronized Optional<Status> status(Key key) {
        return Optional.ofNullable(statuses.get(key));
    }

    /** Every monitor's state per tap it has evaluated; monitors not evaluated yet are listed as ok, tap as defined. */
    public synchronized List<Status> statuses() {
        List<Status> out = new ArrayList<>();
        for (StoredMonitor m : monitors) {
            boolean any = false;
            for (Map.Entry<Key, Status> e : statuses.entrySet()) {
                if (e.getKey().name().equals(m.definition().name()) && e.getKey().generation() == m.generation()) {
                    out.add(e.getValue());
                    any = true;
                }
            }
            if (!any) {
                out.add(new Status(m, m.definition().tap(), false, null, Double.NaN));
            }
        }
        return out;
    }
}
