package ai.neuraldivergence.cli;

import static ai.neuraldivergence.cli.Text.percent;

import ai.neuraldivergence.proto.v1.InspectInstanceRequest;
import ai.neuraldivergence.proto.v1.InspectPairRequest;
import ai.neuraldivergence.proto.v1.InstanceInspection;
import ai.neuraldivergence.proto.v1.ListPairsRequest;
import ai.neuraldivergence.proto.v1.ListPairsResponse;
import ai.neuraldivergence.proto.v1.NeuronShift;
import ai.neuraldivergence.proto.v1.PairInspection;
import ai.neuraldivergence.proto.v1.PairTapShift;
import io.grpc.ManagedChannel;
import java.util.Comparator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "inspect", description = "Place a recent instance in a distribution, or show what an attack "
        + "moved in a benign/attacked pair.")
final class Inspect extends Call {

    @Mixin
    ModelVersion target;

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
            ListPairsResponse pairs = latestPair();
            if (pairs.getPairsCount() == 0) {
                output.err().println("error: no pair of " + target.model + " is in the recent-observation store");
                return ExitCode.NOT_FOUND;
            }
            pair = pairs.getPairs(0).getPairId();
        }
        return pair != null ? inspectPair() : inspectInstance();
    }

    private ListPairsResponse latestPair() {
        ManagedChannel channel = connection.open();
        try {
            return connection.stub(channel, false).listPairs(ListPairsRequest.newBuilder().setModelId(target.model)
                    .setLimit(1).build());
        } finally {
            channel.shutdownNow();
        }
    }

    private int inspectPair() throws Exception {
        InspectPairRequest request = InspectPairRequest.newBuilder().setModelId(target.model)
                .setModelVersion(target.version).setPairId(pair).setAgainst(Specs.selection(against)).setTopK(top)
                .build();
        return call("inspecting", s -> s.inspectPair(request), (PairInspection p) -> {
            w().printf("pair %s %s: benign %s predicted %d (%.2f), attacked %s predicted %d (%.2f)%n",
                    p.getPairId(), p.getAttacked().getTagsMap(), p.getBenign().getInstanceId(),
                    p.getBenign().getPredictedClass(), p.getBenign().getConfidence(),
                    p.getAttacked().getInstanceId(), p.getAttacked().getPredictedClass(),
                    p.getAttacked().getConfidence());
            Table t = new Table("TAP", "MOVED", "NEURON", "BENIGN", "ATTACKED", "PCT BENIGN", "PCT ATTACKED");
            for (PairTapShift shift : p.getTapsList()) {
                shift.getExcitedList().forEach(n -> row(t, shift, "excited", n));
                shift.getInhibitedList().forEach(n -> row(t, shift, "inhibited", n));
            }
            print(t);
        });
    }

    private static void row(Table t, PairTapShift shift, String moved, NeuronShift n) {
        t.row(shift.getTap(), moved, n.getNeuron(), (double) n.getBenignActivation(),
                (double) n.getAttackedActivation(), percent(n.getBenignPercentile()),
                percent(n.getAttackedPercentile()));
    }

    private int inspectInstance() throws Exception {
        InspectInstanceRequest request = InspectInstanceRequest.newBuilder().setModelId(target.model)
                .setModelVersion(target.version).setInstanceId(instance).setAgainst(Specs.selection(against))
                .build();
        return call("inspecting", s -> s.inspectInstance(request), (InstanceInspection i) -> {
            w().printf("instance %s: anomaly score %.2f (about 1 is typical)%n", i.getInstanceId(),
                    i.getAnomalyScore());
            Table t = new Table("TAP", "ANOMALY", "MOST UNUSUAL NEURONS (percentile)");
            // the most unusual: furthest from the median, either side
            i.getTapsList().forEach(tap -> t.row(tap.getTap(), tap.getAnomalyScore(), tap.getNeuronsList().stream()
                    .sorted(Comparator.comparingDouble(n -> -Math.abs(n.getPercentile() - 0.5))).limit(top)
                    .map(n -> n.getNeuron() + " (" + percent(n.getPercentile()) + ")").toList()));
            print(t);
        });
    }
}
