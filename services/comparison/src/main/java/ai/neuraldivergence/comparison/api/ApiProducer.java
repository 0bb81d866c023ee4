package ai.neuraldivergence.comparison.api;

import ai.neuraldivergence.comparison.auth.AccessRules;
import ai.neuraldivergence.comparison.config.ComparisonConfig;
import ai.neuraldivergence.comparison.service.Monitors;
import ai.neuraldivergence.comparison.service.SelectionCache;
import ai.neuraldivergence.comparison.service.SelectionReader;
import ai.neuraldivergence.comparison.service.WatchHub;
import ai.neuraldivergence.comparison.service.WindowUpdateListener;
import ai.neuraldivergence.contract.AccessTokens;
import ai.neuraldivergence.domain.Divergence;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.MonitorTransition;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.storage.CatalogStore;
import ai.neuraldivergence.storage.ReferenceStore;
import ai.neuraldivergence.storage.TapWindowStore;
import io.agroal.api.AgroalDataSource;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * Wires the framework-free classes: one {@link ComparisonApi} for both transports, its cache, the monitors, the
 * watch hub, and the listener that feeds them all from the aggregator's window updates.
 */
@ApplicationScoped
public class ApiProducer {

    @Inject
    ComparisonConfig config;

    @Inject
    @Identifier("default-kafka-broker")
    Map<String, Object> kafkaConfig;

    @Inject
    MeterRegistry registry;

    @Inject
    AgroalDataSource dataSource;

    @ConfigProperty(name = "nd.topics.window-updates", defaultValue = "nd.window-updates")
    String windowUpdatesTopic;

    @ConfigProperty(name = "nd.topics.reference-seals", defaultValue = "nd.reference-seals")
    String referenceSealsTopic;

    // at most a quarter of the heap: a 10,000-neuron selection in estimation mode holds about 25 MB twice
    private final SelectionCache cache = new SelectionCache(64, Duration.ofSeconds(60),
            Runtime.getRuntime().maxMemory() / 4);
    private ai.neuraldivergence.comparison.service.SealTombstones tombstones;
    private WatchHub hub;
    private Monitors monitors;
    private WindowUpdateListener listener;
    private ScheduledExecutorService scheduler;

    @jakarta.annotation.PostConstruct
    void createHub() {
        hub = new WatchHub(config.watch().queue());
    }

    void start(@Observes StartupEvent event) {
        SelectionCache used = config.cache().enabled() ? cache : null;
        Monitors m = monitors();
        listener = new WindowUpdateListener(kafkaConfig, windowUpdatesTopic, used, u -> {
            m.windowCommitted(u);
            hub.publish(WatchEvent.newBuilder().setWindowUpdate(u).build());
        });
        listener.start();
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "monitors");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(m::evaluate, 2, 2, TimeUnit.SECONDS);
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
    }

    void stop(@Observes ShutdownEvent event) throws InterruptedException {
        if (scheduler != null) {
            scheduler.shutdownNow();
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
    ComparisonApi api() {
        return new ComparisonApi(dataSource, config.sketchK(), config.cache().enabled() ? cache : null,
                this::monitors, deleted -> tombstones().run(deleted));
    }

    @Produces
    @Singleton
    WatchHub hub() {
        return hub;
    }

    /** Built at startup, so that a mistyped scope or a short token stops the service with the reason. */
    @Produces
    @Singleton
    @io.quarkus.runtime.Startup
    AccessTokens tokens() {
        return new AccessTokens(config.auth().tokens(), AccessRules.SCOPES);
    }

    /** The tombstone producer, made on the first delete: most instances never delete a reference. */
    private synchronized ai.neuraldivergence.comparison.service.SealTombstones tombstones() {
        if (tombstones == null) {
            tombstones = new ai.neuraldivergence.comparison.service.SealTombstones(kafkaConfig, referenceSealsTopic);
        }
        return tombstones;
    }

    synchronized Monitors monitors() {
        if (monitors == null) {
            List<Monitors.Definition> definitions = new ArrayList<>();
            config.monitors().forEach((name, c) -> definitions.add(new Monitors.Definition(name, c.model(), c.tap(),
                    c.reference(), Slice.parse(c.slice()), metric(c.metric()), c.threshold(), c.windowsInARow(),
                    c.minObservations())));
            CatalogStore catalog = new CatalogStore(dataSource);
            SelectionReader reader = new SelectionReader(catalog, new TapWindowStore(dataSource),
                    new ReferenceStore(dataSource), config.sketchK(), null);
            monitors = new Monitors(definitions, reader, registry, (status, wasDrifting) -> hub.publish(
                    WatchEvent.newBuilder().setMonitorTransition(MonitorTransition.newBuilder()
                            .setMonitor(ProtoMapping.monitor(status))
                            .setPreviousState(wasDrifting ? ai.neuraldivergence.proto.v1.MonitorState
                                    .MONITOR_STATE_DRIFTING : ai.neuraldivergence.proto.v1.MonitorState
                                    .MONITOR_STATE_OK)).build()));
        }
        return monitors;
    }

    static Divergence.Metric metric(String word) {
        try {
            return Divergence.Metric.valueOf(word.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("monitor metric must be ks, wasserstein, jensen_shannon, psi or "
                    + "mean_shift, got '" + word + "'");
        }
    }
}
