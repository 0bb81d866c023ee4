package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.Granularity;
import ai.neuraldivergence.domain.ReferenceKey;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.WindowKey;
import ai.neuraldivergence.storage.CalibrationSampleStore;
import ai.neuraldivergence.storage.CalibrationSampleStore.Member;
import ai.neuraldivergence.storage.CalibrationSampleStore.Scope;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a flush adds to the calibration samples: the observations of a tap's hour window and of its references
 * (block 0 of the slice all: a sample holds whole observations' projections, which block 0 of a tap stored in
 * several blocks has from its producer) whose rank may be among the kept ones,
 * each with the slices it is in (a slice's null is resampled from the members in it).
 * Remembers each scope's largest kept rank once it is full, so that a flush sends only what could enter it (about
 * size x (1 + ln(observations / size)) rows an hour, not every observation).
 *
 * <p>A tap stored as one block also keeps its members' neuron values, on the scope's smallest ranks within a byte
 * cap, for the mean KS's null ({@link ai.neuraldivergence.domain.SampledMeanKsNull}); the largest rank that keeps them
 * is remembered likewise, so that a flush sends values only with the members that could keep them. Owned by the
 * consumer thread.
 */
public final class CalibrationSamples {

    /** Scopes whose cutoff is remembered: an hour's taps and the references being built, with room to spare. */
    private static final int REMEMBERED = 4_096;

    /** What a flush adds to the samples: the members, and per scope how many of its smallest ranks keep values. */
    record Candidates(List<Member> members, Map<Scope, Integer> valueSizes) {
    }

    private final CalibrationSampleStore store;
    private final int size;
    private final long maxBytes;
    private final long valueBytes;
    private final Map<Scope, CalibrationSampleStore.Cutoffs> cutoffs = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Scope, CalibrationSampleStore.Cutoffs> eldest) {
            return size() > REMEMBERED;
        }
    };

    /**
     * @param size observations kept per scope (0: no samples)
     * @param maxBytes the most one scope's sample of a tap may hold: a wide tap keeps fewer (at least 2)
     * @param valueBytes the most one scope's members may hold of neuron values (0: none)
     */
    public CalibrationSamples(CalibrationSampleStore store, int size, long maxBytes, long valueBytes) {
        this.store = store;
        this.size = size;
        this.maxBytes = maxBytes;
        this.valueBytes = valueBytes;
    }

    /** Samples without neuron values. */
    public CalibrationSamples(CalibrationSampleStore store, int size, long maxBytes) {
        this(store, size, maxBytes, 0);
    }

    /**
     * How many of a scope's smallest ranks keep their neuron values: within the byte cap, for a tap stored as one
     * block (no block of a wider one holds a whole observation), never more than the sample keeps, and none when too
     * few to resample.
     */
    int valueSizeFor(ai.neuraldivergence.domain.TapDescriptor tap) {
        if (tap.blockCount() != 1) {
            return 0;
        }
        return ai.neuraldivergence.domain.SampledMeanKsNull.valuesKept(tap.neuronCount(), valueBytes,
                sizeFor(ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS));
    }

    /** Observations a scope keeps: each is stored as 128 projections, 512 bytes, whatever the tap's width. */
    int sizeFor(int neurons) {
        return (int) Math.max(Math.min(2, size), Math.min(size, maxBytes / (4L
                * ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS)));
    }

    /** The members of a flush's windows and references that may enter their scope's sample. */
    Candidates candidates(Map<WindowKey, PendingWindow> windows,
            Map<ReferenceKey, PendingWindow> references) {
        List<Member> out = new ArrayList<>();
        Map<Scope, Integer> valueSizes = new java.util.HashMap<>();
        if (size <= 0) {
            return new Candidates(out, valueSizes);
        }
        // a scope's members share one map, its tap's (with the layout's registered scales); a wide tap's members
        // are their projections already (absent from the maps)
        Map<Scope, ai.neuraldivergence.domain.mmd.RandomFeatureMap> maps = new java.util.HashMap<>();
        windows.forEach((k, w) -> {
            if (wanted(k.slice(), k.block(), w)) {
                Scope scope = Scope.hour(k.modelId(), k.modelVersion(), k.tap(),
                        Granularity.HOUR.windowStart(k.windowStart()));
                add(out, scope, w, k.windowStart());
                if (!w.allProjected()) {
                    maps.computeIfAbsent(scope, s -> ai.neuraldivergence.domain.LayerFeatures.map(w.tap()));
                }
                valueSizes.put(scope, valueSizeFor(w.tap()));
            }
        });
        references.forEach((k, w) -> {
            if (wanted(k.slice(), k.block(), w)) {
                Scope scope = Scope.reference(k.modelId(), k.modelVersion(), k.tap(), k.reference());
                add(out, scope, w, CalibrationSampleStore.NO_WINDOW);
                if (!w.allProjected()) {
                    maps.computeIfAbsent(scope, s -> ai.neuraldivergence.domain.LayerFeatures.map(w.tap()));
                }
                valueSizes.put(scope, valueSizeFor(w.tap()));
            }
        });
        List<Member> kept = smallest(out);
        // the slices of the kept members only (a small share of a flush's observations once a scope is full): the
        // block-0 windows of a tap minute, and of a reference, share each observation's array
        Map<float[], List<Slice>> hourSlices = slicesOf(kept, true);
        Map<float[], List<Slice>> referenceSlices = slicesOf(kept, false);
        windows.forEach((k, w) -> addSlice(hourSlices, k.slice(), k.block(), w));
        references.forEach((k, w) -> addSlice(referenceSlices, k.slice(), k.block(), w));
        List<Member> sliced = new ArrayList<>(kept.size());
        for (Member m : kept) {
            Map<float[], List<Slice>> slices = m.scope().reference().isEmpty() ? hourSlices : referenceSlices;
            sliced.add(new Member(m.scope(), m.rank(), m.instanceId(), m.values(),
                    List.copyOf(slices.get(m.values()))));
        }
        return new Candidates(projected(sliced, maps, valueSizes), valueSizes);
    }

    /** An empty slice list per kept member's row (by identity) of the hours' scopes or of the references'. */
    private static Map<float[], List<Slice>> slicesOf(List<Member> kept, boolean hours) {
        Map<float[], List<Slice>> out = new java.util.IdentityHashMap<>();
        for (Member m : kept) {
            if (m.scope().reference().isEmpty() == hours) {
                out.put(m.values(), new ArrayList<>(4));
            }
        }
        return out;
    }

    /** Adds {@code slice} to the kept rows of a block-0 window. */
    private static void addSlice(Map<float[], List<Slice>> slicesOf, Slice slice, int block,
            PendingWindow w) {
        if (block != 0 || slicesOf.isEmpty()) {
            return;
        }
        // a member is known by its array: the row, or a wide tap's projections (each shared by every slice's window)
        for (float[] row : w.projections() != null ? w.projections() : w.rows().rows()) {
            List<Slice> slices = slicesOf.get(row);
            if (slices != null) {
                slices.add(slice);
            }
        }
    }

    /**
     * The kept members as the sample stores them: each observation's projections on the layer's feature directions
     * (128 floats, whatever the tap's width), from which every bandwidth's features follow; one with a value that is
     * not finite has none, and is left out as the layer statistic leaves it out. A tap stored as one block's member
     * keeps its row too, where its rank may be among those that keep values.
     */
    private List<Member> projected(List<Member> members,
            Map<Scope, ai.neuraldivergence.domain.mmd.RandomFeatureMap> maps, Map<Scope, Integer> valueSizes) {
        List<Member> out = new ArrayList<>(members.size());
        for (Member m : members) {
            Scope s = m.scope();
            var map = maps.get(s);
            // a wide tap's projections were checked finite when they became candidates; a row's projection can still
            // overflow
            float[] p = map != null ? map.projection(m.values()) : m.values();
            if (p != null) {
                // a one-block tap's member arrives as its row (the map projects it here); a wide tap's as projections
                boolean valued = map != null && valueSizes.getOrDefault(s, 0) > 0
                        && m.rank() <= valueCutoff(s);
                out.add(new Member(s, m.rank(), m.instanceId(), p, m.slices(), valued ? m.values() : null));
            }
        }
        return out;
    }

    /** The largest rank of a scope that may keep values: unknown (any) until a flush of it commits. */
    private long valueCutoff(Scope s) {
        CalibrationSampleStore.Cutoffs c = cutoffs.get(s);
        return c == null ? Long.MAX_VALUE : c.valueRank();
    }

    /**
     * Per scope, only the candidates of the scope's size smallest ranks: no others can be kept, even by a scope
     * still empty (the first flush of an hour would otherwise send every observation it holds).
     */
    private List<Member> smallest(List<Member> candidates) {
        Map<Scope, List<Member>> byScope = new LinkedHashMap<>();
        candidates.forEach(m -> byScope.computeIfAbsent(m.scope(), s -> new ArrayList<>()).add(m));
        List<Member> out = new ArrayList<>();
        byScope.forEach((scope, members) -> {
            int keep = sizeFor(members.get(0).values().length);
            if (members.size() > keep) {
                members.sort(java.util.Comparator.comparingLong(Member::rank));
                members = members.subList(0, keep);
            }
            out.addAll(members);
        });
        return out;
    }

    /** Values kept as sent, or null when one is not finite (its observation is left out, as above). */
    private static float[] finite(float[] projection) {
        for (float v : projection) {
            if (!Float.isFinite(v)) {
                return null;
            }
        }
        return projection;
    }

    private static boolean wanted(Slice slice, int block, PendingWindow w) {
        return Slice.ALL.equals(slice) && block == 0 && w.instanceIds() != null
                && (w.tap().blockCount() == 1 || w.allProjected());
    }

    private void add(List<Member> out, Scope scope, PendingWindow w, Instant minute) {
        CalibrationSampleStore.Cutoffs known = cutoffs.get(scope);
        long cutoff = known == null ? Long.MAX_VALUE : known.rank();
        // a wide tap's block 0: its members are the projections its producer sent
        List<float[]> rows = w.allProjected() ? w.projections() : w.rows().rows();
        List<String> ids = w.instanceIds();
        for (int i = 0; i < rows.size(); i++) {
            long rank = CalibrationSampleStore.rank(scope.modelId(), ids.get(i), minute);
            // an observation with a value that is not finite has no projections: left out before the smallest ranks
            // are chosen, so that it takes no place a finite one would have had
            if (rank <= cutoff && finite(rows.get(i)) != null) {
                out.add(new Member(scope, rank, ids.get(i), rows.get(i), List.of()));
            }
        }
    }

    /**
     * Adds late labels to the slices of the sampled observations they join (an hour's sample: a reference's members
     * keep the slices they were captured with), in the flush's transaction, after its members are inserted.
     */
    void joinLabels(Connection c, List<CalibrationSampleStore.LabelJoin> joins) throws SQLException {
        if (size > 0) {
            store.joinLabels(c, joins);
        }
    }

    /** Inserts the members in the flush's transaction; returns the scopes' new cutoffs, for {@link #committed}. */
    Map<Scope, CalibrationSampleStore.Cutoffs> write(Connection c, Candidates candidates) throws SQLException {
        int keep = sizeFor(ai.neuraldivergence.domain.mmd.RandomFeatureMap.DIRECTIONS);
        return store.insert(c, candidates.members(), s -> keep,
                s -> candidates.valueSizes().getOrDefault(s, 0));
    }

    /** Remembers the cutoffs of a committed flush (a rolled-back one's would drop members it never wrote). */
    void committed(Map<Scope, CalibrationSampleStore.Cutoffs> written) {
        cutoffs.putAll(written);
    }
}
