package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.Placement;
import ai.neuraldivergence.domain.ShiftRanking;
import ai.neuraldivergence.domain.TapDescriptor;
import ai.neuraldivergence.domain.TapDistribution;
import ai.neuraldivergence.domain.TopExemplars;
import ai.neuraldivergence.domain.query.ExemplarQuery;
import ai.neuraldivergence.domain.query.InstanceQuery;
import ai.neuraldivergence.domain.query.PairQuery;
import ai.neuraldivergence.domain.query.PairsQuery;
import ai.neuraldivergence.storage.ExemplarStore;
import ai.neuraldivergence.storage.RecentObservationStore;
import ai.neuraldivergence.storage.RecentObservationStore.Assembled;
import ai.neuraldivergence.storage.RecentObservationStore.Recent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Single observations against distributions: one instance placed in a selection, a benign/attacked pair side by
 * side, the kept pairs, a neuron's exemplars. Reads the recent-observation and exemplar stores and, for
 * percentiles, {@link Selections}.
 */
public final class Investigations {

    /** How far back exemplars are gathered: the last hour of stored minutes. */
    public static final Duration EXEMPLAR_SPAN = Duration.ofHours(1);

    /** One tap of an observation placed: each present neuron's activation and percentile, and the tap's score. */
    public record Placed(TapDescriptor tap, List<Integer> missingBlocks, int[] neurons, float[] activations,
            double[] percentiles, double anomalyScore) {
    }

    public record Inspection(String instanceId, List<Placed> taps, double anomalyScore) {
    }

    /** A kept observation and its input image (null when inference did not capture it). */
    public record Member(Recent observation, byte[] png) {
    }

    /** One neuron's activation in both members, and its percentiles when there was a selection to place them in. */
    public record Shift(int neuron, float benign, float attacked, boolean placed, double benignPercentile,
            double attackedPercentile) {
    }

    public record TapShift(TapDescriptor tap, SortedSet<Integer> missingBlocks, List<Shift> excited,
            List<Shift> inhibited) {
    }

    public record PairShifts(String pairId, Member benign, Member attacked, List<TapShift> taps) {
    }

    /** One exemplar, with what the recent-observation store still knows of it ({@code kept} may be null). */
    public record Exemplar(String instanceId, float activation, Recent kept, byte[] png) {
    }

    public record Exemplars(String tap, int neuron, boolean blockMissing, List<Exemplar> exemplars) {
    }

    private final Selections selections;
    private final RecentObservationStore recent;
    private final ExemplarStore exemplars;

    public Investigations(Selections selections, RecentObservationStore recent, ExemplarStore exemplars) {
        this.selections = selections;
        this.recent = recent;
        this.exemplars = exemplars;
    }

    // ------------------------------------------------------------------ one instance

    /** Places one observation (kept, by its instance id, or inline) in a selection's distributions. */
    public Inspection inspect(InstanceQuery query, Cancellation cancellation) {
        String modelId = query.model().modelId();
        Map<String, float[]> activations = new LinkedHashMap<>();
        Map<String, List<Integer>> missingBlocks = new HashMap<>();
        String version;
        if (query.byInstance()) {
            List<Recent> kept = recent.find(modelId, query.instanceId());
            String chosen = kept.isEmpty() || !query.model().newest() ? query.model().version()
                    : kept.get(kept.size() - 1).modelVersion();
            for (Assembled a : assembled(modelId, chosen, kept.stream()
                    .filter(r -> r.modelVersion().equals(chosen)).toList())) {
                activations.put(a.tap().tap(), a.tap().activations());
                missingBlocks.put(a.tap().tap(), a.missingBlocks());
            }
            if (activations.isEmpty()) {
                throw new NotFoundException("instance '" + query.instanceId() + "' of model '" + modelId
                        + "' is not in the recent-observation store (never captured, or evicted after its TTL)");
            }
            version = selections.version(new ai.neuraldivergence.domain.query.ModelVersion(modelId, chosen));
        } else {
            version = selections.version(query.model());
            activations.putAll(query.inline());
        }
        List<TapDescriptor> taps = selections.taps(modelId, version);
        // a tap asked for or given that the version lacks is a mistake to name, not one to skip (a typo in the
        // filter answered as if the tap had no activations)
        for (String t : java.util.stream.Stream.concat(activations.keySet().stream(), query.taps().stream())
                .toList()) {
            if (taps.stream().noneMatch(d -> d.tap().equals(t))) {
                throw new NotFoundException("model '" + modelId + "' version '" + version + "' has no tap '" + t
                        + "'");
            }
        }
        Selections.Bound against = selections.bind(modelId, query.against());
        List<Placed> placed = new ArrayList<>();
        double total = 0;
        for (TapDescriptor tap : taps) {
            float[] values = activations.get(tap.tap());
            if (values == null || !query.taps().isEmpty() && !query.taps().contains(tap.tap())) {
                continue;
            }
            if (values.length != tap.neuronCount()) {
                throw new IllegalArgumentException("tap '" + tap.tap() + "' has " + tap.neuronCount()
                        + " neurons, got " + values.length + " activations");
            }
            cancellation.check();
            Placed p = place(tap, values, missingBlocks.getOrDefault(tap.tap(), List.of()),
                    selections.read(tap, against), against);
            placed.add(p);
            total += p.anomalyScore();
        }
        if (placed.isEmpty()) {
            throw new IllegalArgumentException("none of the requested taps has activations");
        }
        return new Inspection(query.instanceId(), placed, total / placed.size());
    }

    private static Placed place(TapDescriptor tap, float[] values, List<Integer> missingBlocks, TapDistribution d,
            Selections.Bound against) {
        if (d.observationCount() == 0) {
            throw new FailedPreconditionException("the selection to place in (" + against.selection().describe()
                    + ") holds no observations of tap '" + tap.tap() + "'");
        }
        boolean[] missing = missingNeurons(tap, missingBlocks);
        int[] neurons = new int[values.length];
        float[] activations = new float[values.length];
        double[] percentiles = new double[values.length];
        int placed = 0;
        for (int n = 0; n < values.length; n++) {
            if (!missing[n]) {
                neurons[placed] = n;
                activations[placed] = values[n];
                percentiles[placed] = Placement.percentile(d.neuron(n), values[n]);
                placed++;
            }
        }
        double[] kept = Arrays.copyOf(percentiles, placed);
        return new Placed(tap, missingBlocks, Arrays.copyOf(neurons, placed), Arrays.copyOf(activations, placed),
                kept, Placement.anomalyScore(kept, d.observationCount()));
    }

    /** The neurons of a tap's missing blocks. */
    private static boolean[] missingNeurons(TapDescriptor tap, List<Integer> missingBlocks) {
        boolean[] missing = new boolean[tap.neuronCount()];
        for (int b : missingBlocks) {
            Arrays.fill(missing, tap.blockStart(b), tap.blockStart(b) + tap.blockNeurons(b), true);
        }
        return missing;
    }

    /** Kept rows of one model version put back together tap by tap (a tap is kept one row per block). */
    private List<Assembled> assembled(String modelId, String version, List<Recent> rows) {
        if (rows.isEmpty()) {
            return List.of();
        }
        Map<String, TapDescriptor> layouts = new HashMap<>();
        for (TapDescriptor t : selections.taps(modelId, version)) {
            layouts.put(t.tap(), t);
        }
        return RecentObservationStore.assemble(rows, r -> layouts.get(r.tap()));
    }

    // ------------------------------------------------------------------ pairs

    /**
     * A benign/attacked pair side by side: per tap, the neurons the attack excited and inhibited most (by the change
     * of activation, {@link ShiftRanking}), with percentiles against a selection when one is given.
     */
    public PairShifts inspectPair(PairQuery query, Cancellation cancellation) {
        String modelId = query.model().modelId();
        List<Recent> rows = recent.findPair(modelId, query.pairId());
        String chosen = !query.model().newest() || rows.isEmpty() ? query.model().version()
                : rows.get(rows.size() - 1).modelVersion();
        Map<String, Assembled> benign = new LinkedHashMap<>();
        Map<String, Assembled> attacked = new LinkedHashMap<>();
        for (Assembled a : assembled(modelId, chosen, rows.stream()
                .filter(r -> r.modelVersion().equals(chosen) && r.pairRole() != null).toList())) {
            (a.tap().pairRole() == ai.neuraldivergence.domain.PairRole.BENIGN ? benign : attacked)
                    .put(a.tap().tap(), a);
        }
        if (benign.isEmpty() || attacked.isEmpty()) {
            throw new NotFoundException("pair '" + query.pairId() + "' of model '" + modelId
                    + "' is not in the recent-observation store" + (rows.isEmpty() ? ""
                            : " with both members (has only the " + (benign.isEmpty() ? "attacked" : "benign")
                                    + " one)"));
        }
        String version = selections.version(new ai.neuraldivergence.domain.query.ModelVersion(modelId, chosen));
        Selections.Bound against = query.against() == null ? null : selections.bind(modelId, query.against());
        List<TapShift> shifts = new ArrayList<>();
        for (TapDescriptor tap : selections.taps(modelId, version)) {
            Assembled b = benign.get(tap.tap());
            Assembled a = attacked.get(tap.tap());
            if (a == null || b == null) {
                continue;
            }
            cancellation.check();
            TapDistribution d = against == null ? null : selections.read(tap, against);
            SortedSet<Integer> missingBlocks = new TreeSet<>(a.missingBlocks());
            missingBlocks.addAll(b.missingBlocks());
            float[] ba = b.tap().activations();
            float[] aa = a.tap().activations();
            ShiftRanking ranking = ShiftRanking.of(ba, aa, missingNeurons(tap, List.copyOf(missingBlocks)),
                    query.topK());
            shifts.add(new TapShift(tap, missingBlocks, shifts(ranking.excited(), ba, aa, d),
                    shifts(ranking.inhibited(), ba, aa, d)));
        }
        return new PairShifts(query.pairId(), member(benign.values().iterator().next().tap()),
                member(attacked.values().iterator().next().tap()), shifts);
    }

    private static List<Shift> shifts(int[] neurons, float[] benign, float[] attacked, TapDistribution d) {
        List<Shift> out = new ArrayList<>(neurons.length);
        for (int n : neurons) {
            boolean placed = d != null && d.observationCount() > 0;
            out.add(new Shift(n, benign[n], attacked[n], placed,
                    placed ? Placement.percentile(d.neuron(n), benign[n]) : Double.NaN,
                    placed ? Placement.percentile(d.neuron(n), attacked[n]) : Double.NaN));
        }
        return out;
    }

    private Member member(Recent r) {
        return new Member(r, recent.input(r.modelId(), r.instanceId()).map(in -> in.png()).orElse(null));
    }

    /** The pairs still in the recent-observation store, newest first. */
    public List<RecentObservationStore.KeptPair> pairs(PairsQuery query) {
        return recent.recentPairs(query.modelId(), query.limit());
    }

    // ------------------------------------------------------------------ exemplars

    /**
     * The observations that excited one neuron most over the tap's last hour of stored minutes, highest first, with
     * what the recent-observation store still knows of them (predicted class, time, input image).
     */
    public Exemplars exemplars(ExemplarQuery query) {
        String modelId = query.model().modelId();
        String version = selections.version(query.model());
        TapDescriptor tap = selections.tap(modelId, version, query.tap());
        if (query.neuron() >= tap.neuronCount()) {
            throw new IllegalArgumentException("neuron " + query.neuron() + " does not exist: tap '" + tap.tap()
                    + "' has neurons 0.." + (tap.neuronCount() - 1));
        }
        // only the neuron's block is read: a tap's exemplars are one row per block
        int block = query.neuron() / tap.blockSize();
        int inBlock = query.neuron() - tap.blockStart(block);
        Optional<TopExemplars> found = exemplars.readLatest(modelId, version, tap.tap(), block, EXEMPLAR_SPAN);
        boolean blockMissing = found.isEmpty() && tap.blockCount() > 1 && exemplars.readLatest(modelId, version,
                tap.tap(), block == 0 ? 1 : 0, EXEMPLAR_SPAN).isPresent();
        List<Exemplar> out = new ArrayList<>();
        found.ifPresent(top -> {
            String[] ids = top.ids(inBlock);
            float[] values = top.activations(inBlock);
            for (int i = 0; i < ids.length && i < query.limit(); i++) {
                List<Recent> kept = recent.find(modelId, ids[i]);
                out.add(new Exemplar(ids[i], values[i], kept.isEmpty() ? null : kept.get(0),
                        recent.input(modelId, ids[i]).map(in -> in.png()).orElse(null)));
            }
        });
        return new Exemplars(tap.tap(), query.neuron(), blockMissing, out);
    }
}
