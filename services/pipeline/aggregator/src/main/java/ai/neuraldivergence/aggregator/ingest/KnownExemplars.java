package ai.neuraldivergence.aggregator.ingest;

import ai.neuraldivergence.domain.TopExemplars;
import ai.neuraldivergence.storage.ExemplarStore;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What this instance has committed of each tap minute's top exemplars, so that a flush appends only the candidates
 * that would enter them: after the first flushes of a minute almost nothing does, instead of a whole top-k row per
 * flush. Knowing less than is stored (a minute another instance also wrote, one evicted here) only makes a flush
 * append more, never lose anything: the fold merges every delta.
 *
 * <p>Bounded: the {@code maxMinutes} most recently used tap minutes (a wide tap's top 8 costs about 40 bytes per
 * neuron and exemplar). Updated only after a commit, so that a rolled-back flush leaves nothing known that is not
 * stored. Thread-safe (the writer thread, and recovery on the consumer thread, never at once).
 */
final class KnownExemplars {

    private final int maxMinutes;
    private final Map<ExemplarStore.Key, TopExemplars> known = new LinkedHashMap<>(16, 0.75f, true);

    KnownExemplars(int maxMinutes) {
        this.maxMinutes = maxMinutes;
    }

    /** The candidates of {@code top} that would enter the minute's known top k; empty when none would. */
    synchronized TopExemplars entering(ExemplarStore.Key key, TopExemplars top) {
        TopExemplars k = known.get(key);
        return k == null ? top : k.entering(top);
    }

    /** Candidates committed for a minute: known from now on. */
    synchronized void committed(ExemplarStore.Key key, TopExemplars candidates) {
        TopExemplars k = known.get(key);
        if (k == null) {
            k = new TopExemplars(candidates.neuronCount(), TopExemplars.DEFAULT_K);
            known.put(key, k);
        }
        k.merge(candidates);
        Iterator<ExemplarStore.Key> eldest = known.keySet().iterator();
        while (known.size() > maxMinutes) {
            eldest.next();
            eldest.remove();
        }
    }
}
