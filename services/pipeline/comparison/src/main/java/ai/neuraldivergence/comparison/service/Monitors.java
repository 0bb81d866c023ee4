package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.comparison.query.FailedPreconditionException;
import ai.neuraldivergence.comparison.query.Selections;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.TapComparison;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.proto.v1.Granularity;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;
import org.jboss.logging.Logger;

/**
 * Drift monitors: each configured (model, tap or every tap, reference, slice, metric, threshold, windows in a row)
 * is evaluated as minute windows commit: the window against the reference, the tap's mean of the metric as its
 * value, and a {@link MonitorState} per tap deciding ok or drifting. States are exported as gauges (so Prometheus
 * can alert) and transitions are handed to a listener (the watch hub).
 */
public final class Monitors {

    private static final Logger LOG = Logger.getLogger(Monitors.class);

    /** A configured monitor; {@code tap} "*" watches every tap of the model. */
    public record Definition(String name, String modelId, String tap, String reference, Slice slice,
            Divergence.Metric metric, double threshold, int windowsInARow, long minObservations) {
    }

    /** One monitor's state on one tap. */
    public record Status(Definition definition, String tap, boolean drifting, Instant since, double value) {
    }

    private record Pending(Definition definition, String modelVersion, String tap, Instant minute) {
    }

    private final List<Definition> definitions;
    private final Selections reader;
    private final MeterRegistry registry;
    private final BiConsumer<Status, Boolean> transitions;
    private final Map<String, MonitorState> states = new LinkedHashMap<>();
    private final Map<String, Status> statuses = new LinkedHashMap<>();
    private final Set<Pending> pending = new LinkedHashSet<>();
    private final Set<String> warned = new java.util.HashSet<>();

    /**
     * @param transitions told of each change of state, with the state before it
     */
    public Monitors(List<Definition> definitions, Selections reader, MeterRegistry registry,
            BiConsumer<Status, Boolean> transitions) {
        this.definitions = List.copyOf(definitions);
        this.reader = reader;
        this.registry = registry;
        this.transitions = transitions;
    }

    public List<Definition> definitions() {
        return definitions;
    }

    /** Notes a committed minute window; it is evaluated at the next {@link #evaluate()}. */
    public synchronized void windowCommitted(WindowUpdate u) {
        if (u.getWindow().getGranularity() != Granularity.GRANULARITY_MINUTE) {
            return;
        }
        Slice slice = WireMapping.slice(u.getSlice());
        for (Definition d : definitions) {
            if (d.modelId().equals(u.getModelId()) && d.slice().equals(slice)
                    && (d.tap().equals("*") || d.tap().equals(u.getTap()))) {
                pending.add(new Pending(d, u.getModelVersion(), u.getTap(), Instant.ofEpochSecond(
                        u.getWindow().getStart().getSeconds())));
            }
        }
    }

    /** Evaluates the windows committed since the last call (run on a schedule, every couple of seconds). */
    public void evaluate() {
        List<Pending> work;
        synchronized (this) {
            work = new ArrayList<>(pending);
            pending.clear();
        }
        for (Pending p : work) {
            try {
                evaluate(p);
            } catch (RuntimeException e) {
                if (warned.add(p.definition().name() + '\u0000' + e.getMessage())) {
                    LOG.warnf("monitor %s on tap %s cannot be evaluated: %s", p.definition().name(), p.tap(),
                            e.getMessage());
                }
            }
        }
    }

    private void evaluate(Pending p) {
        Definition d = p.definition();
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
        String key = d.name() + '\u0000' + tap.tap();
        Status before;
        Status after;
        MonitorState.Transition transition;
        synchronized (this) {
            MonitorState state = states.computeIfAbsent(key, k -> {
                register(d, tap.tap());
                return new MonitorState(d.threshold(), d.windowsInARow());
            });
            before = statuses.get(key);
            transition = state.record(p.minute(), c.mean()).orElse(null);
            after = new Status(d, tap.tap(), state.drifting(), state.since(), state.current());
            statuses.put(key, after);
        }
        if (transition != null) {
            LOG.infof("monitor %s: tap %s of %s is %s since %s (%s %.3f, threshold %.3f)", d.name(), tap.tap(),
                    d.modelId(), transition.drifting() ? "DRIFTING" : "ok", transition.since(), d.metric(),
                    transition.value(), d.threshold());
            transitions.accept(after, before != null && before.drifting());
        }
    }

    private void register(Definition d, String tap) {
        String key = d.name() + '\u0000' + tap;
        Tags tags = Tags.of("monitor", d.name(), "model", d.modelId(), "tap", tap, "reference", d.reference());
        Gauge.builder("nd.comparison.monitor.drifting", this, m -> m.status(key).map(s -> s.drifting() ? 1.0 : 0.0)
                .orElse(0.0)).tags(tags).description("1 while the monitor finds the tap drifting, else 0")
                .register(registry);
        Gauge.builder("nd.comparison.monitor.value", this, m -> m.status(key).map(Status::value).orElse(Double.NaN))
                .tags(tags).description("The newest minute's value of the monitor's metric against its reference")
                .register(registry);
        Gauge.builder("nd.comparison.monitor.since", this, m -> m.status(key).map(s -> s.since() == null ? 0.0
                : (double) s.since().getEpochSecond()).orElse(0.0)).tags(tags)
                .description("When the current state began (epoch seconds; 0: ok since the start)").register(registry);
    }

    private synchronized java.util.Optional<Status> status(String key) {
        return java.util.Optional.ofNullable(statuses.get(key));
    }

    /** Every monitor's state per tap it has evaluated; monitors not evaluated yet are listed as ok, tap unknown. */
    public synchronized List<Status> statuses() {
        List<Status> out = new ArrayList<>();
        for (Definition d : definitions) {
            boolean any = false;
            for (Status s : statuses.values()) {
                if (s.definition().equals(d)) {
                    out.add(s);
                    any = true;
                }
            }
            if (!any) {
                out.add(new Status(d, d.tap(), false, null, Double.NaN));
            }
        }
        return out;
    }
}
