package ai.neuraldivergence.cli;

import ai.neuraldivergence.contract.ProtoSlices;
import ai.neuraldivergence.domain.Slice;
import ai.neuraldivergence.proto.v1.Catalog;
import ai.neuraldivergence.proto.v1.ClassBy;
import ai.neuraldivergence.proto.v1.ClassMatrix;
import ai.neuraldivergence.proto.v1.ClassMatrixCell;
import ai.neuraldivergence.proto.v1.ClassMatrixRequest;
import ai.neuraldivergence.proto.v1.CompareRequest;
import ai.neuraldivergence.proto.v1.CompareResponse;
import ai.neuraldivergence.proto.v1.ComparisonServiceGrpc;
import ai.neuraldivergence.proto.v1.CreateReferenceRequest;
import ai.neuraldivergence.proto.v1.DeleteReferenceRequest;
import ai.neuraldivergence.proto.v1.DriftTimeline;
import ai.neuraldivergence.proto.v1.DriftTimelineRequest;
import ai.neuraldivergence.proto.v1.GetCatalogRequest;
import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.InspectPairRequest;
import ai.neuraldivergence.proto.v1.InstanceInspection;
import ai.neuraldivergence.proto.v1.LayerOverview;
import ai.neuraldivergence.proto.v1.LayerOverviewRequest;
import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.ListReferencesRequest;
import ai.neuraldivergence.proto.v1.Metric;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.NeuronDivergence;
import ai.neuraldivergence.proto.v1.NeuronShift;
import ai.neuraldivergence.proto.v1.PairInspection;
import ai.neuraldivergence.proto.v1.PairTapShift;
import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.TapDivergence;
import ai.neuraldivergence.proto.v1.TapSummary;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** nd: the NeuralDivergence comparison API from a terminal. Tables by default, --json for scripts. */
@Command(name = "nd", mixinStandardHelpOptions = true, version = "nd 0.1.0",
        description = "Ask a NeuralDivergence comparison service which neurons drifted, where, and since when.",
        footer = {"", "Selections: ref:NAME | last:15m | FROM/TO (ISO-8601), optionally @SLICE "
                + "(@predicted=3, @label=3, @tag:source=prod, @pair=attacked).",
            "Exit codes: 0 ok, 2 usage, 3 invalid request, 4 not found, 5 unauthenticated, 6 unavailable, "
                + "7 already exists, 1 other failures."},
        subcommands = {Nd.Models.class, Nd.Compare.class, Nd.Layers.class, Nd.Classes.class, Nd.Inspect.class,
            Nd.Timeline.class, Nd.Monitors.class, Nd.Watch.class, Nd.References.class})
public final class Nd {

    public static void main(String[] args) {
        System.exit(run(System.out, System.err, args));
    }

    /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        CommandLine cli = new CommandLine(new Nd());
        cli.setOut(new java.io.PrintWriter(out, true));
        cli.setErr(new java.io.PrintWriter(err, true));
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof StatusRuntimeException s) {
                err.println("error: " + s.getStatus().getCode() + ": " + s.getStatus().getDescription());
                return ExitCode.of(s.getStatus().getCode());
            }
            if (e instanceof IllegalArgumentException) {
                err.println("error: " + e.getMessage());
                return ExitCode.USAGE;
            }
            err.println("error: " + e);
            return ExitCode.FAILED;
        });
        return cli.execute(args);
    }

    /** What every call command shares: the connection, printing, and running one call. */
    abstract static class Call implements Callable<Integer> {
        @Mixin
        Connection connection;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        <R extends MessageOrBuilder> int call(String what, Function<ComparisonServiceGrpc
                .ComparisonServiceBlockingStub, R> rpc, java.util.function.Consumer<R> table) throws Exception {
            ManagedChannel channel = connection.open();
            try {
                R response;
                try (Progress p = new Progress(what, !connection.json)) {
                    response = rpc.apply(connection.stub(channel, false));
                }
                if (connection.json) {
                    spec.commandLine().getOut().println(JsonFormat.printer().print(response));
                } else {
                    table.accept(response);
                }
                spec.commandLine().getOut().flush();
                return ExitCode.OK;
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }

        java.io.PrintWriter w() {
            return spec.commandLine().getOut();
        }

        void print(Table t) {
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            t.print(new PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
            w().print(bytes.toString(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    static Metric metric(String word) {
        try {
            return Metric.valueOf("METRIC_" + word.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("metric must be ks, wasserstein, jensen_shannon, psi or mean_shift; "
                    + "got '" + word + "'");
        }
    }

    static String word(Metric m) {
        return m.name().substring("METRIC_".length()).toLowerCase(Locale.ROOT);
    }

    static String percent(double share) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * share);
    }

    @Command(name = "models", description = "Models, versions, taps in network order, slices, coverage, references.")
    static final class Models extends Call {
        @Option(names = "--model", description = "one model only")
        String model = "";

        @Override
        public Integer call() throws Exception {
            return call("catalog", s -> s.getCatalog(GetCatalogRequest.newBuilder().setModelId(model).build()),
                    (Catalog c) -> {
                        Table t = new Table("MODEL", "VERSION", "TAP", "INDEX", "SHAPE", "NEURONS", "REDUCTION");
                        c.getModelsList().forEach(m -> m.getVersionsList().forEach(v -> v.getTapsList().forEach(tap ->
                                t.row(m.getModelId(), v.getModelVersion(), tap.getName(), tap.getIndex(),
                                        tap.getShapeList(), tap.getNeuronCount(), tap.getReduction().name()
                                                .substring("REDUCTION_".length()).toLowerCase(Locale.ROOT)))));
                        print(t);
                        c.getModelsList().forEach(m -> m.getVersionsList().forEach(v -> {
                            w().printf("%s %s: %s observations, %s .. %s, %d slices, references %s%n", m.getModelId(),
                                    v.getModelVersion(), v.getObservationCount(), v.hasCoverage()
                                            ? Specs.time(v.getCoverage().getFrom()) : "-", v.hasCoverage()
                                            ? Specs.time(v.getCoverage().getTo()) : "-", v.getSlicesCount(),
                                    v.getReferencesList().stream().map(Reference::getName).toList());
                        }));
                    });
        }
    }

    @Command(name = "compare", description = "A against B, per neuron: the top neurons of each tap and its summary.")
    static final class Compare extends Call {
        @Option(names = "--model", required = true)
        String model;

        @Option(names = "--version", description = "model version (default: the newest)")
        String version = "";

        @Option(names = "--tap", description = "one tap (default: every tap)")
        String tap = "";

        @Option(names = "--a", required = true, description = "side A, e.g. ref:training")
        String a;

        @Option(names = "--b", required = true, description = "side B, e.g. last:15m")
        String b;

        @Option(names = "--rank-by", description = "ks, wasserstein, jensen_shannon, psi or mean_shift")
        String rankBy = "ks";

        @Option(names = "--top", description = "neurons listed per tap (default ${DEFAULT-VALUE})")
        int top = 10;

        @Option(names = "--threshold", description = "drift threshold on KS minus its error bound (default 0.1)")
        double threshold;

        @Override
        public Integer call() throws Exception {
            CompareRequest request = CompareRequest.newBuilder().setModelId(model).setModelVersion(version)
                    .setTap(tap).setA(Specs.selection(a)).setB(Specs.selection(b)).setRankBy(metric(rankBy))
                    .setTopK(top).setDriftThreshold(threshold).build();
            return call("comparing", s -> s.compare(request), (CompareResponse r) -> {
                for (TapDivergence t : r.getTapsList()) {
                    TapSummary sum = t.getSummary();
                    w().printf("tap %s (#%d, %d neurons): %s drifted, %s mean %.4f max %.4f, A %d / B %d "
                            + "observations%n", sum.getTap(), sum.getTapIndex(), sum.getNeuronCount(),
                            percent(sum.getDriftedShare()), word(sum.getMetric()), sum.getMean(), sum.getMax(),
                            sum.getCountA(), sum.getCountB());
                    Table table = new Table("NEURON", "KS", "+-", "W1", "JS", "PSI", "MEAN SHIFT", "DIRECTION",
                            "DRIFTED");
                    for (int n : t.getTopNeuronsList()) {
                        NeuronDivergence d = t.getNeurons(n);
                        table.row(n, d.getKs(), d.getKsErrorBound(), d.getWasserstein(), d.getJensenShannon(),
                                d.getPsi(), d.getMeanShift(), d.getDirection().name().substring("DIRECTION_".length())
                                        .toLowerCase(Locale.ROOT), d.getDrifted() ? "yes" : "no");
                    }
                    print(table);
                    w().println();
                }
            });
        }
    }

    @Command(name = "layers", description = "Every tap A against B in network order, and the divergence onset.")
    static final class Layers extends Call {
        @Option(names = "--model", required = true)
        String model;

        @Option(names = "--version")
        String version = "";

        @Option(names = "--a", required = true)
        String a;

        @Option(names = "--b", required = true)
        String b;

        @Option(names = "--metric")
        String metric = "ks";

        @Option(names = "--onset", description = "drifted share that marks the onset tap (default 0.05)")
        double onset;

        @Override
        public Integer call() throws Exception {
            LayerOverviewRequest request = LayerOverviewRequest.newBuilder().setModelId(model).setModelVersion(version)
                    .setA(Specs.selection(a)).setB(Specs.selection(b)).setMetric(metric(metric)).setOnsetShare(onset)
                    .build();
            return call("comparing layers", s -> s.getLayerOverview(request), (LayerOverview o) -> {
                Table t = new Table("TAP", "INDEX", "NEURONS", "DRIFTED", "MEAN", "MAX", "A", "B", "ONSET");
                for (TapSummary s : o.getTapsList()) {
                    t.row(s.getTap(), s.getTapIndex(), s.getNeuronCount(), percent(s.getDriftedShare()), s.getMean(),
                            s.getMax(), s.getCountA(), s.getCountB(), s.getTap().equals(o.getOnsetTap()) ? "<- onset"
                                    : "");
                }
                print(t);
                w().println(o.getOnsetTap().isEmpty() ? "no tap crosses the onset share"
                        : "divergence onset: " + o.getOnsetTap());
            });
        }
    }

    @Command(name = "classes", description = "Divergence between every pair of classes of one tap.")
    static final class Classes extends Call {
        @Option(names = "--model", required = true)
        String model;

        @Option(names = "--version")
        String version = "";

        @Option(names = "--tap", required = true)
        String tap;

        @Option(names = "--source", required = true, description = "ref:NAME or a time range")
        String source;

        @Option(names = "--by", description = "predicted or label (default ${DEFAULT-VALUE})")
        String by = "predicted";

        @Option(names = "--metric")
        String metric = "ks";

        @Override
        public Integer call() throws Exception {
            ClassMatrixRequest.Builder request = ClassMatrixRequest.newBuilder().setModelId(model)
                    .setModelVersion(version).setTap(tap).setMetric(metric(metric)).setClassBy(switch (by) {
                        case "predicted" -> ClassBy.CLASS_BY_PREDICTED;
                        case "label" -> ClassBy.CLASS_BY_TRUE_LABEL;
                        default -> throw new IllegalArgumentException("--by is predicted or label, got '" + by + "'");
                    });
            var selection = Specs.selection(source);
            if (selection.hasTimeRange()) {
                request.setTimeRange(selection.getTimeRange());
            } else {
                request.setReference(selection.getReference());
            }
            return call("comparing classes", s -> s.getClassMatrix(request.build()), (ClassMatrix m) -> {
                String[] header = new String[m.getClassesCount() + 1];
                header[0] = "CLASS";
                for (int i = 0; i < m.getClassesCount(); i++) {
                    header[i + 1] = String.valueOf(m.getClasses(i));
                }
                Table t = new Table(header);
                int n = m.getClassesCount();
                for (int i = 0; i < n; i++) {
                    Object[] row = new Object[n + 1];
                    row[0] = m.getClasses(i);
                    for (int j = 0; j < n; j++) {
                        ClassMatrixCell c = m.getCells(i * n + j);
                        row[j + 1] = i == j ? "-" : String.format(Locale.ROOT, "%.3f (%s)", c.getValue(),
                                percent(c.getDriftedShare()));
                    }
                    t.row(row);
                }
                print(t);
                w().println("cells: mean " + metric + " over the tap's neurons (drifted share)");
            });
        }
    }

    @Command(name = "inspect", description = "Place a recent instance in a distribution, or show what an attack "
            + "moved in a benign/attacked pair.")
    static final class Inspect extends Call {
        @Option(names = "--model", required = true)
        String model;

        @Option(names = "--version")
        String version = "";

        @Option(names = "--instance", description = "a recent prediction's instance id")
        String instance;

        @Option(names = "--pair", description = "a benign/attacked pair id, or 'latest'")
        String pair;

        @Option(names = "--against", description = "the distribution to place in (default ${DEFAULT-VALUE})")
        String against = "ref:training";

        @Option(names = "--top", description = "neurons per direction and tap (default ${DEFAULT-VALUE})")
        int top = 5;

        @Override
        public Integer call() throws Exception {
            if ((instance == null) == (pair == null)) {
                throw new IllegalArgumentException("give --instance or --pair");
            }
            if ("latest".equals(pair)) {
                ManagedChannel channel = connection.open();
                try {
                    var pairs = connection.stub(channel, false).listPairs(ai.neuraldivergence.proto.v1
                            .ListPairsRequest.newBuilder().setModelId(model).setLimit(1).build());
                    if (pairs.getPairsCount() == 0) {
                        spec.commandLine().getErr().println("error: no pair of " + model
                                + " is in the recent-observation store");
                        return ExitCode.NOT_FOUND;
                    }
                    pair = pairs.getPairs(0).getPairId();
                } finally {
                    channel.shutdownNow();
                }
            }
            if (pair != null) {
                InspectPairRequest request = InspectPairRequest.newBuilder().setModelId(model)
                        .setModelVersion(version).setPairId(pair).setAgainst(Specs.selection(against)).setTopK(top)
                        .build();
                return call("inspecting", s -> s.inspectPair(request), (PairInspection p) -> {
                    w().printf("pair %s %s: benign %s predicted %d (%.2f), attacked %s predicted %d (%.2f)%n",
                            p.getPairId(), p.getAttacked().getTagsMap(), p.getBenign().getInstanceId(), p.getBenign().getPredictedClass(),
                            p.getBenign().getConfidence(), p.getAttacked().getInstanceId(),
                            p.getAttacked().getPredictedClass(), p.getAttacked().getConfidence());
                    Table t = new Table("TAP", "MOVED", "NEURON", "BENIGN", "ATTACKED", "PCT BENIGN", "PCT ATTACKED");
                    for (PairTapShift shift : p.getTapsList()) {
                        for (NeuronShift n : shift.getExcitedList()) {
                            t.row(shift.getTap(), "excited", n.getNeuron(), (double) n.getBenignActivation(),
                                    (double) n.getAttackedActivation(), percent(n.getBenignPercentile()),
                                    percent(n.getAttackedPercentile()));
                        }
                        for (NeuronShift n : shift.getInhibitedList()) {
                            t.row(shift.getTap(), "inhibited", n.getNeuron(), (double) n.getBenignActivation(),
                                    (double) n.getAttackedActivation(), percent(n.getBenignPercentile()),
                                    percent(n.getAttackedPercentile()));
                        }
                    }
                    print(t);
                });
            }
            InspectInstanceRequest request = InspectInstanceRequest.newBuilder().setModelId(model)
                    .setModelVersion(version).setInstanceId(instance).setAgainst(Specs.selection(against)).build();
            return call("inspecting", s -> s.inspectInstance(request), (InstanceInspection i) -> {
                w().printf("instance %s: anomaly score %.2f (about 1 is typical)%n", i.getInstanceId(),
                        i.getAnomalyScore());
                Table t = new Table("TAP", "ANOMALY", "MOST UNUSUAL NEURONS (percentile)");
                i.getTapsList().forEach(tap -> t.row(tap.getTap(), tap.getAnomalyScore(), tap.getNeuronsList().stream()
                        .sorted(java.util.Comparator.comparingDouble(n -> -Math.abs(n.getPercentile() - 0.5))).limit(top)
                        .map(n -> n.getNeuron() + " (" + percent(n.getPercentile()) + ")").toList()));
                print(t);
            });
        }
    }

    @Command(name = "timeline", description = "Each window of a range against a reference, per tap.")
    static final class Timeline extends Call {
        @Option(names = "--model", required = true)
        String model;

        @Option(names = "--version")
        String version = "";

        @Option(names = "--reference", description = "default ${DEFAULT-VALUE}")
        String reference = "training";

        @Option(names = "--range", description = "default ${DEFAULT-VALUE}")
        String range = "last:1h";

        @Option(names = "--tap", description = "taps (default: all)")
        List<String> taps = List.of();

        @Option(names = "--slice", description = "default all")
        String slice = "all";

        @Override
        public Integer call() throws Exception {
            DriftTimelineRequest request = DriftTimelineRequest.newBuilder().setModelId(model).setModelVersion(version)
                    .setReference(reference).setRange(Specs.range(range)).addAllTaps(taps)
                    .setSlice(ProtoSlices.toProto(Slice.parse(slice))).build();
            return call("computing the timeline", s -> s.getDriftTimeline(request), (DriftTimeline tl) -> {
                Table t = new Table("WINDOW", "TAP", "DRIFTED", "MEAN KS", "OBSERVATIONS", "ONSET");
                tl.getPointsList().forEach(p -> p.getTapsList().forEach(s -> t.row(Specs.time(p.getWindow()
                        .getStart()), s.getTap(), percent(s.getDriftedShare()), s.getMean(), s.getCountB(),
                        s.getTap().equals(p.getOnsetTap()) ? "<- onset" : "")));
                print(t);
            });
        }
    }

    @Command(name = "monitors", description = "Drift monitors and their state.")
    static final class Monitors extends Call {
        @Option(names = "--model")
        String model = "";

        @Override
        public Integer call() throws Exception {
            return call("listing", s -> s.listMonitors(ListMonitorsRequest.newBuilder().setModelId(model).build()),
                    r -> {
                        Table t = new Table("MONITOR", "MODEL", "TAP", "STATE", "SINCE", "VALUE", "THRESHOLD",
                                "REFERENCE");
                        for (Monitor m : r.getMonitorsList()) {
                            t.row(m.getName(), m.getModelId(), m.getTap(), state(m), m.hasSince()
                                    ? Specs.time(m.getSince()) : "-", m.getCurrentValue(), m.getThreshold(),
                                    m.getReference());
                        }
                        print(t);
                    });
        }
    }

    static String state(Monitor m) {
        return m.getState() == ai.neuraldivergence.proto.v1.MonitorState.MONITOR_STATE_DRIFTING ? "DRIFTING" : "ok";
    }

    @Command(name = "watch", description = "Print window updates and monitor changes as they happen (Ctrl-C ends).")
    static final class Watch extends Call {
        @Option(names = "--model", description = "one model (default: every model)")
        String model = "";

        @Option(names = "--tap")
        List<String> taps = List.of();

        @Option(names = "--monitors-only", description = "only monitor changes")
        boolean monitorsOnly;

        @Override
        public Integer call() throws Exception {
            ManagedChannel channel = connection.open();
            try {
                Iterator<WatchEvent> events = connection.stub(channel, true).watch(WatchRequest.newBuilder()
                        .setModelId(model).addAllTaps(taps).setIncludeMonitors(true).build());
                while (events.hasNext()) {
                    WatchEvent e = events.next();
                    if (monitorsOnly && !e.hasMonitorTransition()) {
                        continue;
                    }
                    if (connection.json) {
                        w().println(JsonFormat.printer().omittingInsignificantWhitespace().print(e));
                    } else if (e.hasMonitorTransition()) {
                        Monitor m = e.getMonitorTransition().getMonitor();
                        w().printf("%s monitor %s: tap %s of %s is %s since %s (%s %.3f, threshold %.3f)%n",
                                java.time.Instant.now(), m.getName(), m.getTap(), m.getModelId(), state(m),
                                m.hasSince() ? Specs.time(m.getSince()) : "-", word(m.getMetric()),
                                m.getCurrentValue(), m.getThreshold());
                    } else {
                        var u = e.getWindowUpdate();
                        w().printf("%s window %s %s %s %s: %d observations (+%d)%n", java.time.Instant.now(),
                                u.getModelId(), u.getTap(), ProtoSlices.fromProto(u.getSlice()).key(),
                                Specs.time(u.getWindow().getStart()), u.getObservationCount(), u.getAddedCount());
                    }
                    w().flush();
                }
                return ExitCode.OK;
            } finally {
                channel.shutdownNow();
            }
        }
    }

    @Command(name = "references", description = "List, create (freeze a time range), seal or delete references.",
            subcommands = {References.ListReferences.class, References.Create.class, References.Seal.class,
                References.Delete.class})
    static final class References {

        @Command(name = "list", description = "Every reference.")
        static final class ListReferences extends Call {
            @Option(names = "--model")
            String model = "";

            @Override
            public Integer call() throws Exception {
                return call("listing", s -> s.listReferences(ListReferencesRequest.newBuilder().setModelId(model)
                        .build()), r -> {
                            Table t = new Table("MODEL", "NAME", "VERSION", "ORIGIN", "STATE", "OBSERVATIONS",
                                    "CREATED", "SEALED");
                            for (Reference ref : r.getReferencesList()) {
                                t.row(ref.getModelId(), ref.getName(), ref.getModelVersion(), ref.getOrigin().name()
                                        .substring("REFERENCE_ORIGIN_".length()).toLowerCase(Locale.ROOT),
                                        state(ref), ref.getObservationCount(), Specs.time(ref.getCreatedAt()),
                                        ref.hasSealedAt() ? Specs.time(ref.getSealedAt()) : "-");
                            }
                            print(t);
                        });
            }
        }

        @Command(name = "create", description = "Freeze a time range into a named reference.")
        static final class Create extends Call {
            @Parameters(index = "0", description = "the reference's name")
            String name;

            @Option(names = "--model", required = true)
            String model;

            @Option(names = "--version")
            String version = "";

            @Option(names = "--range", required = true, description = "last:1h or FROM/TO")
            String range;

            @Option(names = "--slice", description = "freeze one slice only, as the whole population")
            String slice;

            @Override
            public Integer call() throws Exception {
                CreateReferenceRequest.Builder request = CreateReferenceRequest.newBuilder().setName(name)
                        .setModelId(model).setModelVersion(version).setRange(Specs.range(range));
                if (slice != null) {
                    request.setSlice(ProtoSlices.toProto(Slice.parse(slice)));
                }
                return call("freezing", s -> s.createReference(request.build()), (Reference r) ->
                        w().printf("created reference %s of %s %s: %d observations%n", r.getName(), r.getModelId(),
                                r.getModelVersion(), r.getObservationCount()));
            }
        }

        /**
         * "sealed", "sealed 12 short" (sealed by the timeout short of its expected count), or "building 3h" with
         * its age: a reference building for long was left so by an interrupted replay.
         */
        static String state(Reference ref) {
            if (ref.getState() == ai.neuraldivergence.proto.v1.ReferenceState.REFERENCE_STATE_SEALED) {
                return ref.getShortfall() > 0 ? "sealed " + ref.getShortfall() + " short" : "sealed";
            }
            java.time.Duration age = java.time.Duration.between(java.time.Instant.ofEpochSecond(
                    ref.getCreatedAt().getSeconds()), java.time.Instant.now());
            return "building " + (age.toHours() > 0 ? age.toHours() + "h" : Math.max(0, age.toMinutes()) + "m");
        }

        @Command(name = "seal", description = "Seal a tagged reference once each tap holds --expected observations.")
        static final class Seal extends Call {
            @Parameters(index = "0", description = "the reference's name")
            String name;

            @Option(names = "--model", required = true)
            String model;

            @Option(names = "--version", description = "default: the newest")
            String version = "";

            @Option(names = "--expected", required = true, description = "observations per tap it is complete with")
            long expected;

            @Override
            public Integer call() throws Exception {
                return call("sealing", s -> s.sealReference(ai.neuraldivergence.proto.v1.SealReferenceRequest
                        .newBuilder().setModelId(model).setModelVersion(version).setName(name)
                        .setExpectedObservations(expected).build()), (Reference r) ->
                        w().printf("reference %s of %s %s: %s, %d of %d observations%n", r.getName(), r.getModelId(),
                                r.getModelVersion(), state(r), r.getObservationCount(), expected));
            }
        }

        @Command(name = "delete", description = "Delete a reference (every version of it, unless --version).")
        static final class Delete extends Call {
            @Parameters(index = "0")
            String name;

            @Option(names = "--model", required = true)
            String model;

            @Option(names = "--version", description = "only this version's")
            String version = "";

            @Override
            public Integer call() throws Exception {
                return call("deleting", s -> s.deleteReference(DeleteReferenceRequest.newBuilder().setModelId(model)
                        .setName(name).setModelVersion(version).build()), r -> w().println("deleted reference "
                                + name + " of " + model));
            }
        }
    }
}
