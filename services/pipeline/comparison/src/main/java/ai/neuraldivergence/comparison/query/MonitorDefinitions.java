package ai.neuraldivergence.comparison.query;

import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.domain.monitor.Transition;
import ai.neuraldivergence.storage.MonitorStore;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Drift monitors as data: created, replaced and deleted through the API (monitors from configuration only listed),
 * with their history. Every replica evaluates what is stored, so a change made through one reaches all. Writes are
 * logged with who made them.
 */
public final class MonitorDefinitions {

    private static final Logger LOG = Logger.getLogger(MonitorDefinitions.class);

    /** A monitor, its newest transitions, and its recent evaluations (oldest first). */
    public record History(StoredMonitor monitor, List<Transition> transitions,
            List<MonitorStore.TapEvaluation> evaluations) {
    }

    private final MonitorStore store;

    public MonitorDefinitions(MonitorStore store) {
        this.store = store;
    }

    public List<StoredMonitor> list(String modelId) {
        return store.list(modelId);
    }

    /** @param by the caller's token name, for the log (never the token) */
    public StoredMonitor create(MonitorDefinition d, String by) {
        StoredMonitor created = refusedAsStatus(() -> store.create(d, by));
        LOG.infof("monitor %s on model %s created by token '%s'", d.name(), d.modelId(), by);
        return created;
    }

    /** @param mayChange whether the caller may change a monitor of that model (the stored one's, checked locked) */
    public StoredMonitor update(MonitorDefinition d, String by, java.util.function.Predicate<String> mayChange) {
        StoredMonitor updated = refusedAsStatus(() -> store.update(d, by, mayChange));
        LOG.infof("monitor %s on model %s updated by token '%s' (generation %d)", d.name(), d.modelId(), by,
                updated.generation());
        return updated;
    }

    public void delete(String name, String by, java.util.function.Predicate<String> mayChange) {
        refusedAsStatus(() -> {
            store.delete(name, by, mayChange);
            return null;
        });
        LOG.infof("monitor %s deleted by token '%s'", name, by);
    }

    /**
     * @param evaluationMinutes the evaluations of the last this many minutes too (0: none)
     * @param mayRead whether the caller may read a monitor of that model
     * @param currentGeneration the transitions since the monitor last started over alone: for a caller confined to
     *     some models, since the monitor's earlier generations may have watched another model
     */
    public History history(String name, int limit, int evaluationMinutes, java.util.function.Predicate<String> mayRead,
            boolean currentGeneration) {
        StoredMonitor monitor = store.find(name).orElseThrow(() -> new NotFoundException("no monitor '" + name
                + "'"));
        if (!mayRead.test(monitor.definition().modelId())) {
            throw new PermissionDeniedException(notGranted(name));
        }
        return new History(monitor, currentGeneration ? store.history(name, monitor.generation(), limit)
                : store.history(name, limit), evaluationMinutes == 0 ? List.of()
                : store.evaluations(name, monitor.generation(), java.time.Instant.now().minusSeconds(
                        60L * evaluationMinutes)));
    }

    /** Names the monitor, not its model: a confined caller learns nothing of models it is not granted. */
    private static String notGranted(String monitor) {
        return "monitor '" + monitor + "' watches a model this token is not granted";
    }

    private static <T> T refusedAsStatus(java.util.function.Supplier<T> write) {
        try {
            return write.get();
        } catch (MonitorStore.RefusedException e) {
            throw switch (e.refusal()) {
                case EXISTS -> new AlreadyExistsException(e.getMessage());
                case MISSING -> new NotFoundException(e.getMessage());
                case FROM_CONFIG -> new FailedPreconditionException(e.getMessage());
                case NOT_GRANTED -> new PermissionDeniedException(e.getMessage());
            };
        }
    }
}
