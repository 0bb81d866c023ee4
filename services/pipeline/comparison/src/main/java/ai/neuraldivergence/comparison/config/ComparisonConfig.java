package ai.neuraldivergence.comparison.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** The comparison service's settings (application.properties, prefix {@code nd.comparison}). */
@ConfigMapping(prefix = "nd.comparison")
public interface ComparisonConfig {

    /** Sketch size of merged selections; match the aggregator's {@code nd.aggregator.sketch-k}. */
    @WithDefault("200")
    int sketchK();

    /**
     * The most observations of a calibration sample read to resample the layer statistic's null; match the
     * aggregator's {@code nd.aggregator.calibration-sample-size}.
     */
    @io.smallrye.config.WithName("calibration-sample-size")
    @WithDefault("2000")
    int calibrationSampleSize();

    Auth auth();

    Cache cache();

    Watch watch();

    Ui ui();

    Json json();

    Grpc grpc();

    interface Grpc {
        /**
         * How long a gRPC call that brings no deadline of its own may take: past it, the work between taps stops
         * and the statement running is cancelled in the database (DEADLINE_EXCEEDED). A client's deadline, shorter
         * or longer, applies instead.
         */
        @WithDefault("60s")
        java.time.Duration defaultDeadline();
    }

    Monitoring monitoring();

    interface Monitoring {
        /**
         * How long the replica evaluating monitors holds their lease without renewing it (it renews every 5 s): after
         * it stops, another replica takes over within this.
         */
        @WithDefault("15s")
        java.time.Duration leaseTtl();

        /** How far back a new or changed monitor is evaluated from stored windows (and evaluations are kept). */
        @WithDefault("12h")
        java.time.Duration backfill();

        /**
         * How long after its end a minute of a true-label slice still takes late labels: the aggregator's
         * nd.aggregator.recent.ttl (a late label joins an observation kept that long). A monitor of such a slice
         * evaluates its minutes this much later, once their labels are in.
         */
        @WithDefault("1h")
        java.time.Duration labelWait();
    }

    interface Json {
        /**
         * How long a JSON mirror call may take (a browser sends no deadline of its own): past it, the work between
         * taps stops and the statement running is cancelled in the database; the answer is 504 DEADLINE_EXCEEDED.
         * gRPC calls are bounded by the client's deadline instead.
         */
        @WithDefault("60s")
        java.time.Duration deadline();
    }

    interface Ui {
        /**
         * The inference service's URL as a browser reaches it (an ingress in a cluster), for digits uploaded in the
         * Instances view; the inference service must allow the UI's origin (its ND_UI_ORIGIN). Unset: no upload.
         * Environment: ND_UI_INFERENCE_URL.
         */
        java.util.Optional<String> inferenceUrl();
    }

    interface Watch {
        /**
         * Events one watcher (gRPC stream or WebSocket) may have waiting before it is dropped; must absorb a burst
         * (one flush announces every changed tap and slice at once).
         */
        @io.smallrye.config.WithDefault("4096")
        int queue();
    }

    interface Cache {
        /**
         * Keep merged selections between queries, dropped as the aggregator announces changed windows
         * (nd.window-updates); off, every query reads the store.
         */
        @io.smallrye.config.WithDefault("true")
        boolean enabled();
    }

    interface Auth {
        /**
         * API tokens, comma-separated entries {@code [name:]token[=scope+scope]} (environment
         * ND_COMPARISON_AUTH_TOKENS, from a Secret in a cluster): scopes {@code read} (queries, the watch) and
         * {@code write} (create and delete references), none listed meaning both; tokens of at least 16 characters.
         * When set, every gRPC and JSON call needs {@code authorization: Bearer <token>} with the call's scope;
         * health and metrics stay open. Logs name a token by its name, never by itself.
         */
        java.util.Optional<java.util.List<String>> tokens();

        /**
         * Which models a token may reach, comma-separated entries {@code name=model+model} by token name (environment
         * ND_COMPARISON_AUTH_MODELS): such a token is refused any request naming another model, and every answer and
         * watch event of another model is left out of what it is sent. A token named in none reaches every model; a
         * name no token bears stops the service at start.
         */
        java.util.Optional<java.util.List<String>> models();
    }

    /**
     * Drift monitors by name, e.g. {@code nd.comparison.monitors.digits.model=mnist-cnn}: stored at start (marked
     * source=config, changed only here; one removed from here is deleted at the next start), then evaluated like those
     * made through the API as minute windows commit, exported as gauges, listed by ListMonitors and pushed to watchers
     * when they change state.
     */
    java.util.Map<String, Monitor> monitors();

    interface Monitor {
        String model();

        /** A tap name, or "*" for every tap of the model. */
        @WithDefault("*")
        String tap();

        @WithDefault("training")
        String reference();

        /** A slice key: all, predicted=3, label=3, tag:k=v, pair=benign|attacked. */
        @WithDefault("all")
        String slice();

        /** ks, wasserstein, jensen_shannon, psi or mean_shift: the tap's mean of it is the monitor's value. */
        @WithDefault("ks")
        String metric();

        /** fixed (compared with threshold) or calibrated (metric ks or mmd: minimum-effect, false-alarm-budget). */
        @WithDefault("fixed")
        String mode();

        @WithDefault("0.15")
        double threshold();

        /** Calibrated mode: the smallest change worth an alert, in mean KS (a layer monitor's, in MMD²: set it). */
        @WithDefault("0.05")
        double minimumEffect();

        /** Calibrated mode: false alarms allowed per 30 days, every tap of the monitor together. */
        @WithDefault("1")
        double falseAlarmBudget();

        /** Consecutive minute windows over (or back under) the threshold before the state changes. */
        @WithDefault("2")
        int windowsInARow();

        /** A minute with fewer observations is not evaluated (its value would be noise). */
        @WithDefault("200")
        long minObservations();

        /**
         * The longest trailing window an evaluation may grow to reach min-observations (1m..24h, whole minutes).
         */
        @WithDefault("1h")
        java.time.Duration maxSpan();
    }
}
