package ai.neuraldivergence.comparison.service;

import ai.neuraldivergence.comparison.query.FailedPreconditionException;
import ai.neuraldivergence.comparison.query.NotFoundException;
import ai.neuraldivergence.comparison.query.Selections;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.monitor.CalibratedThreshold;
import ai.neuraldivergence.domain.monitor.MinuteEvaluation;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.MonitorRun;
import ai.neuraldivergence.domain.monitor.MonitorStatus;
import ai.neuraldivergence.domain.monitor.Redecision;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.domain.query.Selection;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.MonitorStore;
import ai.neuraldivergence.storage.TapWindowStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Evaluates every stored monitor on every tap it watches, each complete minute once: a minute is complete when the
 * aggregator's event-time watermark has passed its end, so a backlog or an idle partition neither skips nor hurries
 * one. Only the holder of the monitors' lease evaluates; every write it makes checks the lease, so that a holder
 * paused past it writes nothing, and a new holder resumes from each monitor's stored state. A new or changed monitor
 * is back-filled from its tap's first observations of the back-fill span. Plain Java: the framework layer calls
 * {@link #lease} and {@link #evaluate} on a schedule.
 */
public final class MonitorEvaluator {

    private static final Logger LOG = Logger.getLogger(MonitorEvaluator.class);
    /** Evaluations one run makes at most, so that a back-fill shares the schedule with live minutes. */
    static final int MAX_PER_RUN = 240;

    /** Where the minutes stand: the start of the first minute not complete yet, or empty while unknown. */
    @FunctionalInterface
    public interface Watermark {
        Optional<Instant> completeBefore();
    }

    /** A run per (monitor, tap), with the definition it was built for. */
    private record Key(String monitor, String tap) {
    }

    /**
     * A monitor's run on a tap. {@code backfillFrom}: the end of a new run's first evaluation (null for a run resumed
     * from the store); {@code lowerBound}: the current state held from that first evaluation on.
     */
    private static final class Tracked {
        private final StoredMonitor monitor;
        private final MonitorRun run;
        private final Instant backfillFrom;
        private boolean lowerBound;

        Tracked(StoredMonitor monitor, MonitorRun run, Instant backfillFrom, boolean lowerBound) {
            this.monitor = monitor;
            this.run = run;
            this.backfillFrom = backfillFrom;
            this.lowerBound = lowerBound;
        }
    }

    private final MonitorStore store;
    private final CatalogStore catalog;
    private final ServingVersions serving;
    private final Selections selections;
    private final Watermark watermark;
    private final String holder;
    private final Duration ttl;
    private final Duration backfill;
    /** How long after its end a true-label slice's minute still takes late labels. */
    private final Duration labelWait;
    private final Supplier<List<StoredMonitor>> monitors;
    private final Map<Key, Tracked> runs = new HashMap<>();
    /** Where the next pass starts taking turns: where the last one stopped. */
    private int turn;
    /** Failures already logged, by monitor and message: a failure repeating every second is logged once. */
    private final java.util.Set<String> warned = new java.util.HashSet<>();
    /** Read by the metrics' thread without the lock: whether this replica evaluates. */
    private volatile MonitorStore.Lease lease;
    /** Writes refused because the lease was gone (expired while this replica was paused, or taken by another). */
    private final java.util.concurrent.atomic.AtomicLong leasesLost = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param holder this replica's name in the lease (its host name and a random part)
     * @param monitors the stored monitors, as last read
     */
    public MonitorEvaluator(MonitorStore store, CatalogStore catalog, TapWindowStore windows, Selections selections,
            Watermark watermark, String holder, Duration ttl, Duration backfill, Duration labelWait,
            Supplier<List<StoredMonitor>> monitors) {
        this.store = store;
        this.catalog = catalog;
        this.serving = new ServingVersions(catalog, windows);
        this.selections = selections;
        this.watermark = watermark;
        this.holder = holder;
        this.ttl = ttl;
        this.backfill = backfill;
        this.labelWait = labelWait;
        if (labelWait.isNegative() || labelWait.compareTo(backfill) >= 0) {
            throw new IllegalArgumentException("nd.comparison.monitoring.label-wait (" + labelWait + ") must be at "
                    + "least 0 and shorter than nd.comparison.monitoring.backfill (" + backfill + ")");
        }
        this.monitors = monitors;
    }

    private volatile ai.neuraldivergence.comparison.query.LayerNulls layerNulls;

    /** Where layer monitors' nulls are resampled from the reference's sample (unset: the analytic bound). */
    public void layerNulls(ai.neuraldivergence.comparison.query.LayerNulls nulls) {
        this.layerNulls = nulls;
    }

    /** Takes or renews the lease; a new epoch means another held it meanwhile: the runs are read again. */
    public boolean lease() {
        // renewed beside a pass in progress, not after it: a pass longer than the lease (a back-fill, every run
        // tracked again after a takeover) lost it to another replica, which then did the same
        Optional<MonitorStore.Lease> held = store.acquire(holder, ttl);
        MonitorStore.Lease current = lease;
        if (held.isPresent() && current != null && held.get().epoch() == current.epoch()) {
            return true;
        }
        synchronized (this) {
            return taken(held);
        }
    }

    private boolean taken(Optional<MonitorStore.Lease> held) {
        if (held.isEmpty() || lease == null || held.get().epoch() != lease.epoch()) {
            runs.clear();
            if (held.isPresent() && (lease == null || held.get().epoch() != lease.epoch())) {
                LOG.infof("this replica (%s) evaluates the monitors now (lease epoch %d)", holder,
                        held.get().epoch());
            }
        }
        lease = held.orElse(null);
        return lease != null;
    }

    public boolean holds() {
        return lease != null;
    }

    /** How many times a write found this replica's lease gone (each time it stopped evaluating until it held one). */
    public long leasesLost() {
        return leasesLost.get();
    }

    /** Gives the lease up at a clean stop, so that another replica takes over at once. */
    public synchronized void release() {
        if (lease != null) {
            store.release(lease);
            lease = null;
        }
    }

    /** Evaluates the complete minutes not evaluated yet, at most {@link #MAX_PER_RUN}; returns how many. */
    public synchronized int evaluate() {
        if (lease == null) {
            return 0;
        }
        Optional<Instant> completeBefore = watermark.completeBefore();
        if (completeBefore.isEmpty()) {
            return 0;
        }
        try {
            return evaluateUpTo(completeBefore.get());
        } catch (LeaseLost e) {
            leasesLost.incrementAndGet();
            LOG.warnf("monitors: the lease (epoch %d) was lost; evaluations stop until it is taken again",
                    lease.epoch());
            lease = null;
            runs.clear();
            return 0;
        }
    }

    private int evaluateUpTo(Instant completeBefore) {
        List<StoredMonitor> listed = monitors.get();
        // the runs of monitors deleted since are dropped, not kept until the lease changes hands
        java.util.Set<String> names = new java.util.HashSet<>();
        listed.forEach(m -> names.add(m.definition().name()));
        runs.keySet().removeIf(k -> !names.contains(k.monitor()));
        java.util.Set<String> failed = new java.util.HashSet<>();
        List<Turns.Run> due = new ArrayList<>();
        for (StoredMonitor m : listed) {
            String name = m.definition().name();
            guarded(name, name, failed, () -> {
                Instant upTo = m.definition().evaluableBefore(completeBefore, labelWait);
                List<String> taps = taps(m);
                // a calibrated monitor shares its false-alarm budget out over every evaluation of every tap it watches
                double alpha = m.definition().calibrated()
                        ? CalibratedThreshold.alpha(m.definition().falseAlarmBudget(), taps.size()) : Double.NaN;
                for (String tap : taps) {
                    String run = name + '\u0000' + tap;
                    // a tap that cannot be tracked (a store failure on its state) leaves the monitor's other taps be
                    Tracked[] t = new Tracked[1];
                    if (!failed.contains(name) && guarded(name, run, failed,
                            () -> (t[0] = track(new Key(name, tap), m, completeBefore, alpha)) != null)) {
                        due.add(() -> !failed.contains(name) && !failed.contains(run) && guarded(name, run, failed,
                                () -> evaluateNext(t[0], tap, completeBefore, upTo, alpha)));
                    }
                }
                return true;
            });
        }
        // in turns, a minute a run, from where the last pass stopped: a run back-filling hours shares the pass with
        // the others' newest minutes, rather than spending it before the runs listed after it get theirs
        Turns.Pass pass = Turns.take(due, MAX_PER_RUN, turn);
        turn = pass.next();
        return pass.taken();
    }

    /**
     * Runs one step of a monitor's evaluation: false when it has nothing to do, or failed (then {@code run}, the
     * monitor or one of its taps, is left out for the rest of the pass; the lease lost stops the whole pass).
     */
    private boolean guarded(String name, String run, java.util.Set<String> failed,
            java.util.function.BooleanSupplier step) {
        try {
            return step.getAsBoolean();
        } catch (LeaseLost e) {
            throw e;
        } catch (MonitorChanged e) {
            // deleted, or changed to measure something else, since the list was read: its runs are dropped and
            // the next refresh tracks it as it is now
            runs.keySet().removeIf(k -> k.monitor().equals(name));
            failed.add(name);
            LOG.infof("monitor %s changed while it was evaluated; its evaluation starts over as it is now", name);
            return false;
        } catch (RuntimeException e) {
            // one monitor that cannot be evaluated (a store failure) holds up neither the others nor the log
            if (warned.add(name + '\u0000' + e.getMessage())) {
                LOG.warnf(e, "monitor %s cannot be evaluated; retried every second", name);
            }
        }
        failed.add(run);
        return false;
    }

    /**
     * Evaluates the run's next minute, if it ends by {@code upTo} (the monitor's own bound: a true-label slice waits
     * for its labels); returns whether it had one. The back-fill span counts from the complete minutes.
     */
    private boolean evaluateNext(Tracked t, String tap, Instant completeBefore, Instant upTo, double alpha) {
        Instant next = t.run.lastEvaluated() == null ? t.backfillFrom : t.run.lastEvaluated().plusSeconds(60);
        // after an outage longer than the back-fill span, minutes past it are gone: evaluated, they would read
        // as empty and record insufficient data that never was
        Instant oldest = Granularity.MINUTE.windowStart(completeBefore.minus(backfill)).plusSeconds(60);
        next = next.isBefore(oldest) ? oldest : next;
        if (next.isAfter(upTo)) {
            return false;
        }
        evaluate(t, tap, next, alpha);
        return true;
    }

    /**
     * The taps a monitor watches, by name, in every version of its model (newest first); the monitor's own tap alone
     * when the model has none of them yet (it is then invalid, and says why).
     */
    private List<String> taps(StoredMonitor m) {
        MonitorDefinition d = m.definition();
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (String version : catalog.versionNames(d.modelId())) {
            catalog.taps(d.modelId(), version).stream().map(TapDescriptor::tap).filter(d::watches).forEach(out::add);
        }
        return out.isEmpty() ? List.of(d.tap()) : List.copyOf(out);
    }

    /**
     * The run of a monitor on a tap: started with a back-fill when nothing is stored; else decided again from the
     * stored evaluations under the current threshold and run length (after a restart, a takeover, or a change of
     * either). Where that agrees with the stored state, the stored one stands (its since may be older than the
     * evaluations kept); where it does not, the new state is written at once, with its transition.
     */
    private Tracked track(Key key, StoredMonitor m, Instant completeBefore, double alpha) {
        Tracked t = runs.get(key);
        MonitorDefinition d = m.definition();
        // the same incarnation only: a monitor deleted and created again under its name, with the same definition,
        // has generation 0 again, and must back-fill rather than go on from the deleted one's run
        if (t != null && t.monitor.generation() == m.generation() && t.monitor.definition().equals(d)
                && java.util.Objects.equals(t.monitor.updatedAt(), m.updatedAt())) {
            return t;
        }
        Optional<MonitorStatus> stored = store.states().stream().filter(s -> s.monitor().equals(key.monitor())
                && s.tap().equals(key.tap()) && s.generation() == m.generation()).findFirst();
        if (stored.isEmpty()) {
            Tracked fresh = new Tracked(m, new MonitorRun(d.windowsInARow()), backfillStart(m, key.tap(),
                    completeBefore), false);
            runs.put(key, fresh);
            return fresh;
        }
        MonitorStatus s = stored.get();
        ai.neuraldivergence.domain.MeanKsNull.Source meanKsNull = meanKsNull(d, key.tap(), s.lastEvaluated());
        List<MonitorRun.Evaluation> kept = store.evaluations(key.monitor(), m.generation(), key.tap()).stream()
                .map(e -> e.outcome() == MonitorRun.Outcome.OVER || e.outcome() == MonitorRun.Outcome.UNDER
                        ? Redecision.of(e, d, alpha, meanKsNull) : e).toList();
        Tracked tracked;
        if (kept.isEmpty()) {
            tracked = new Tracked(m, MonitorRun.resume(d.windowsInARow(), s.state(), s.since(), s.lastEvaluated()),
                    null, s.sinceLowerBound());
            runs.put(key, tracked);
            return tracked;
        }
        Instant firstEnd = kept.get(0).end();
        MonitorRun.Evaluation last = kept.get(kept.size() - 1);
        Optional<Transition> before = store.stateBefore(key.monitor(), m.generation(), key.tap(), firstEnd);
        MonitorRun.Replay replay = MonitorRun.replay(d.windowsInARow(), before.map(Transition::state)
                .orElse(Transition.State.OK), before.map(Transition::since).orElse(null), kept);
        MonitorRun replayed = replay.run();
        if (replayed.state() == s.state()) {
            // the stored since stands (it may be older than the evaluations kept); the run in progress goes on
            tracked = new Tracked(m, replayed.withSince(s.since()), null, s.sinceLowerBound());
        } else {
            // a state that held through every evaluation kept began when its transition says, else no later than
            // the first of them
            boolean throughout = !replay.changed() && before.isEmpty();
            Instant since = replay.changed() ? replayed.since() : before.map(Transition::since).orElse(firstEnd);
            tracked = new Tracked(m, replayed.withSince(since), null, throughout);
            MonitorStatus now = new MonitorStatus(s.monitor(), s.generation(), s.tap(), replayed.state(),
                    since, throughout, last.end(), last.window().start(), last.window().observations(),
                    last.referenceObservations(), last.value(), last.thresholdApplied(), last.calibration(),
                    s.reason());
            Transition change = new Transition(0, s.monitor(), s.generation(), s.tap(), replayed.state(), s.state(),
                    since, throughout, last.value(), last.thresholdApplied(), null, last.window().start(),
                    last.end(), d.slice().key(), List.of(), Instant.now());
            if (store.write(lease, last, now, change) == null) {
                throw refused();
            }
            LOG.infof("monitor %s: tap %s is %s since %s, decided again under threshold %.3f and %d in a row",
                    s.monitor(), s.tap(), replayed.state().word(), replayed.since(), last.thresholdApplied(),
                    d.windowsInARow());
        }
        runs.put(key, tracked);
        return tracked;
    }

    /**
     * The mean KS's null a calibrated KS monitor's evaluation of {@code tap} ending at {@code end} reads (as
     * {@link #evaluate} does); null, the analytic bound, for other monitors or when its reference cannot be found now.
     */
    private ai.neuraldivergence.domain.MeanKsNull.Source meanKsNull(MonitorDefinition d, String tap, Instant end) {
        if (layerNulls == null || !d.calibrated() || d.metric() == Divergence.Metric.MMD || end == null) {
            return null;
        }
        try {
            TapDescriptor descriptor = serving.locate(d, tap, end.minusSeconds(60L * d.maxSpanMinutes()), end).tap();
            var scope = selections.sampleScope(descriptor, selections.bind(d.modelId(),
                    new Selection.Reference(d.reference(), d.slice())));
            return scope == null ? null : layerNulls.meanKsFor(scope);
        } catch (NotFoundException | FailedPreconditionException missing) {
            return null;
        }
    }

    /** Why a write stored nothing: the lease is gone, or (the lease still held) the monitor changed meanwhile. */
    private RuntimeException refused() {
        return store.holds(lease) ? new MonitorChanged() : new LeaseLost();
    }

    /**
     * Where a new run starts: the end of the first minute with observations of the tap within the back-fill span,
     * else the newest minute the monitor may evaluate.
     */
    private Instant backfillStart(StoredMonitor m, String tap, Instant completeBefore) {
        Instant from = Granularity.MINUTE.windowStart(completeBefore.minus(backfill));
        try {
            NavigableMap<Instant, Long> counts = serving.locate(m.definition(), tap, from, completeBefore).counts();
            if (!counts.isEmpty()) {
                return counts.firstKey().plusSeconds(60);
            }
        } catch (NotFoundException e) {
            // no such model or tap yet: evaluated as invalid from the newest minute on
        }
        return m.definition().evaluableBefore(completeBefore, labelWait);
    }

    /**
     * One evaluation of the minute ending at {@code end}, written with the state it leaves. A calibrated monitor
     * reads the reference first: its window grows until the effect it can detect against it is at most twice its
     * minimum effect.
     */
    private void evaluate(Tracked t, String tap, Instant end, double alpha) {
        MonitorDefinition d = t.monitor.definition();
        MonitorRun.Evaluation e;
        int[] top = new int[0];
        try {
            ServingVersions.Located located = serving.locate(d, tap, end.minusSeconds(60L * d.maxSpanMinutes()), end);
            TapDescriptor descriptor = located.tap();
            Selections.Bound referenceSide = selections.bind(d.modelId(), new Selection.Reference(d.reference(),
                    d.slice()));
            TapDistribution reference = selections.read(descriptor, referenceSide);
            boolean layer = d.metric() == Divergence.Metric.MMD;
            var scope = layerNulls == null || !d.calibrated() && !layer ? null
                    : selections.sampleScope(descriptor, referenceSide);
            ai.neuraldivergence.domain.LayerNull.Source layerNull = layer && scope != null
                    ? layerNulls.sourceFor(descriptor, scope) : null;
            // a calibrated KS monitor's null quantile: resampled from its sealed reference's sample where stored
            ai.neuraldivergence.domain.MeanKsNull.Source meanKsNull = !layer && scope != null
                    ? layerNulls.meanKsFor(scope) : null;
            MinuteEvaluation evaluated = MinuteEvaluation.of(d, alpha, descriptor, reference, located.counts(), end,
                    w -> selections.readUncached(descriptor, selections.bind(d.modelId(),
                            new Selection.Range(w.start(), end, d.slice()))), layerNull, meanKsNull);
            e = evaluated.evaluation();
            top = evaluated.topNeurons();
        } catch (NotFoundException | FailedPreconditionException missing) {
            e = MinuteEvaluation.invalid(end, missing.getMessage(), d).evaluation();
        }
        List<Integer> drifted = Arrays.stream(top).limit(MinuteEvaluation.TOP_NEURONS).boxed().toList();
        Optional<MonitorRun.Change> change = t.run.record(e);
        if (change.isPresent()) {
            // a state that held from the back-fill's first evaluation may have begun before it
            t.lowerBound = change.get().since().equals(t.backfillFrom);
        }
        boolean lowerBound = t.lowerBound;
        MonitorStatus state = new MonitorStatus(d.name(), t.monitor.generation(), tap, t.run.state(),
                t.run.since(), lowerBound, end, e.window().start(), e.window().observations(),
                e.referenceObservations(), e.value(), e.thresholdApplied(), e.calibration(),
                t.run.state() == Transition.State.INVALID ? e.reason() : null);
        Transition transition = change.map(c -> new Transition(0, d.name(), t.monitor.generation(), tap, c.state(),
                c.previous(), c.since(), lowerBound, c.decidedBy().value(), c.decidedBy().thresholdApplied(),
                c.decidedBy().reason(), c.decidedBy().window().start(), end, d.slice().key(), drifted,
                Instant.now())).orElse(null);
        if (store.write(lease, e, state, transition) == null) {
            throw refused();
        }
        if (transition != null) {
            LOG.infof("monitor %s: tap %s of %s is %s since %s%s (%s %.3f, threshold %.3f, window %s..%s, %d "
                    + "observations)", d.name(), tap, d.modelId(), transition.state().word(), transition.since(),
                    lowerBound ? " or earlier" : "", d.metric(), e.value(), e.thresholdApplied(), e.window().start(),
                    end, e.window().observations());
        }
    }
}
