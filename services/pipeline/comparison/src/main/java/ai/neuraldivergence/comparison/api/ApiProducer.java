package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.AccessRules;
import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.comparison.query.Selections;
import ai.neuraldivergence.comparison.service.MonitorEvaluator;
import ai.neuraldivergence.comparison.service.Monitors;
import ai.neuraldivergence.comparison.service.SealTombstones;
import ai.neuraldivergence.comparison.service.SelectionCache;
import ai.neuraldivergence.comparison.service.WatchHub;
import ai.neuraldivergence.comparison.service.WindowUpdateListener;
import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.domain.monitor.MonitorDefinition;
import ai.neuraldivergence.domain.monitor.StoredMonitor;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.Compaction;
import ai.neuraldivergence.storage.MonitorStore;
import ai.neuraldivergence.storage.OffsetStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.StorageException;
import ai.neuraldivergence.storage.TapWindowStore;
import ai.neuraldivergence.storage.WindowDeltaStore;
import ai.neuraldivergence.storage.WindowRollups;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.common.annotation.Identifier;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Wires what follows the aggregator live: the watch hub, the monitors, and the listener that feeds them and the
 * selection cache from the aggregator's window updates; and the access tokens.
 */
@ApplicationScoped
public class ApiProducer {

    private static final Logger LOG = Logger.getLogger(ApiProducer.class);

    @Inject
    ComparisonConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafkaConfig;

    @Inject
    MeterRegistry registry;

    @ConfigProperty(name = "nd.topics.window-updates", defaultValue = "nd.window-updates")
    String windowUpdatesTopic;

    // the aggregator's own keys and defaults: the watermark monitors wait for is its consumer group's
    @ConfigProperty(name = "nd.topics.activations", defaultValue = "nd.activations")
    String activationsTopic;

    @ConfigProperty(name = "nd.topics.labels", defaultValue = "nd.labels")
    String labelsTopic;

    @ConfigProperty(name = "nd.aggregator.consumer-group", defaultValue = "nd-aggregator")
    String aggregatorGroup;

    @ConfigProperty(name = "nd.topics.reference-seals", defaultValue = "nd.reference-seals")
    String referenceSealsTopic;

    private SealTombstones tombstones;
    private WindowUpdateListener listener;

    void start(@Observes StartupEvent event, SelectionCache cache, Monitors monitors, WatchHub hub) {
        listener = new WindowUpdateListener(kafkaConfig, windowUpdatesTopic, config.cache().enabled() ? cache : null,
                u -> hub.publish(WatchEvent.newBuilder().setWindowUpdate(u).build()));
        listener.start();
        registry.gauge("nd.comparison.cache.following", cache, c -> listener.following() ? 1 : 0);
        FunctionCounter.builder("nd.comparison.cache.hits", cache, SelectionCache::hits)
                .description("Selections served from the cache").register(registry);
        FunctionCounter.builder("nd.comparison.cache.misses", cache, SelectionCache::misses)
                .description("Selections read (wholly or their newest window) from the store").register(registry);
        FunctionCounter.builder("nd.comparison.cache.deltas.added", cache, SelectionCache::deltasAdded)
                .description("Announced deltas added to cached selections by id (a window read saved each)")
                .register(registry);
        registry.gauge("nd.comparison.watch.subscribers", hub, WatchHub::subscriberCount);
        FunctionCounter.builder("nd.comparison.watch.dropped", hub, WatchHub::droppedCount)
                .description("Watch subscribers dropped for falling behind").register(registry);
        // On SIGTERM the watch streams and sockets go to the other replicas once the shutdown's delay is over (until
        // then this replica is still in its Service, and a subscription made again could land here): open, they would
        // hold Quarkus' graceful shutdown for its whole timeout and then be cut. A hook of the JVM's own, as Quarkus
        // tells the application it stops only after that wait.
        Duration delay = shutdownDelay.orElse(Duration.ZERO);
        watchEnd = new Thread(() -> {
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            hub.endAll("this replica is stopping: subscribe again");
        }, "nd-watch-end");
        Runtime.getRuntime().addShutdownHook(watchEnd);
    }

    @ConfigProperty(name = "quarkus.shutdown.delay")
    Optional<Duration> shutdownDelay;

    private Thread watchEnd;

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        try {
            if (watchEnd != null) {
                Runtime.getRuntime().removeShutdownHook(watchEnd); // an application stopped without the JVM: tests
            }
        } catch (IllegalStateException e) {
            // the JVM is stopping: the hook has run
        }
        if (listener != null) {
            listener.close();
        }
        synchronized (this) {
            if (tombstones != null) {
                tombstones.close();
            }
        }
    }

    @Produces
    @Singleton
    WatchHub hub() {
        return new WatchHub(config.watch().queue());
    }

    /**
     * Built at startup, so that a mistyped scope, a short token or a model grant for no token stops the service
     * with the reason.
     */
    @Produces
    @Singleton
    @io.quarkus.runtime.Startup
    AccessTokens tokens() {
        return new AccessTokens(config.auth().tokens(), config.auth().models(), AccessRules.SCOPES);
    }

    /** Publishes the seal topic's tombstones of deleted references; the producer is made on the first delete. */
    @Produces
    @Singleton
    ReferenceStore.BeforeDelete tombstones() {
        return deleted -> tombstoneProducer().run(deleted);
    }

    private synchronized SealTombstones tombstoneProducer() {
        if (tombstones == null) {
            tombstones = new SealTombstones(kafkaConfig, referenceSealsTopic);
        }
        return tombstones;
    }

    /**
     * The monitors, as stored; those of the configuration are upserted by name first (replicas starting together
     * write each once), and a configuration monitor no longer configured is deleted, so that the configuration of
     * the newest start is what holds.
     */
    @Produces
    @Singleton
    Monitors monitors(MonitorStore store, WatchHub hub) {
        Set<String> configured = new HashSet<>();
        config.monitors().forEach((name, c) -> {
            store.upsertFromConfig(new MonitorDefinition(name, c.model(), c.tap(), c.reference(),
                    Slice.parse(c.slice()), MonitorDefinition.metric(c.metric()), MonitorDefinition.mode(c.mode()),
                    c.threshold(), c.minimumEffect(), c.falseAlarmBudget(), c.windowsInARow(), c.minObservations(),
                    Math.toIntExact(Math.max(1, c.maxSpan().toMinutes()))));
            configured.add(name);
        });
        for (StoredMonitor m : store.list(null)) {
            if (m.source() == StoredMonitor.Source.CONFIG && !configured.contains(m.definition().name())) {
                LOG.infof("monitor %s is no longer configured: deleted", m.definition().name());
                store.deleteFromConfig(m.definition().name());
            }
        }
        Monitors monitors = new Monitors(store, registry, announced -> hub.publish(WatchEvent.newBuilder()
                .setMonitorTransition(Responses.transition(announced.status(), announced.transition())).build()));
        monitors.refresh();
        return monitors;
    }


    /**
     * Evaluates the monitors while this replica holds their lease: minutes complete by the aggregator's watermark
     * (its consumer group's, over the activation and label topics, as its compaction reads it), read uncached.
     */
    @Produces
    @Singleton
    MonitorEvaluator evaluator(CatalogStore catalog, TapWindowStore windows, WindowRollups rollups,
            WindowDeltaStore deltas, ReferenceStore references, MonitorStore store, Monitors monitors,
            @io.smallrye.common.annotation.Identifier(ai.neuraldivergence.comparison.config.Stores.READS_BOUNDED)
            javax.sql.DataSource dataSource, ai.neuraldivergence.comparison.query.LayerNulls layerNulls) {
        Selections selections = new Selections(catalog, windows, rollups, deltas, references, config.sketchK(),
                null, Runtime.getRuntime().maxMemory() / 16);
        OffsetStore offsets = new OffsetStore();
        List<String> topics = List.of(activationsTopic, labelsTopic);
        MonitorEvaluator.Watermark watermark = () -> {
            try (Connection c = dataSource.getConnection()) {
                return offsets.watermark(c, aggregatorGroup, topics).map(Compaction::completeBefore);
            } catch (SQLException e) {
                throw new StorageException("reading the aggregator's watermark", e);
            }
        };
        String holder = hostName() + "-" + UUID.randomUUID().toString().substring(0, 8);
        MonitorEvaluator evaluator = new MonitorEvaluator(store, catalog, windows, selections, watermark, holder,
                config.monitoring().leaseTtl(), config.monitoring().backfill(), config.monitoring().labelWait(),
                monitors::monitors);
        evaluator.layerNulls(layerNulls);
        // which replica evaluates: exactly one of them should report 1
        io.micrometer.core.instrument.Gauge.builder("nd.comparison.monitor.lease.held", evaluator,
                e -> e.holds() ? 1 : 0).description("1 on the replica that holds the monitors' lease and evaluates "
                        + "them").register(registry);
        FunctionCounter.builder("nd.comparison.monitor.lease.lost", evaluator, MonitorEvaluator::leasesLost)
                .description("Writes refused because this replica's lease was gone (paused past it, or taken)")
                .register(registry);
        return evaluator;
    }

    private static String hostName() {
        String host = System.getenv("HOSTNAME");
        return host == null || host.isBlank() ? "comparison" : host;
    }
}
