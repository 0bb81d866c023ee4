package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.MonitorHistoryRequest;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.proto.v1.MonitorTransition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "history", description = "A drift monitor's transitions, newest first.")
final class MonitorsHistory extends Call {

    @Parameters(index = "0", description = "the monitor's name")
    String name;

    @Option(names = "--limit", description = "transitions at most (1..1000, default 100)")
    int limit = 100;

    @Override
    public Integer call() throws Exception {
        return call("reading", s -> s.getMonitorHistory(MonitorHistoryRequest.newBuilder().setName(name)
                .setLimit(limit).build()), h -> {
                    w().println(Monitors.describe(h.getMonitor()));
                    Table t = new Table("ID", "TAP", "STATE", "SINCE", "VALUE", "THRESHOLD", "WAS", "WINDOW",
                            "TOP NEURONS", "RECORDED");
                    for (MonitorTransition tr : h.getTransitionsList()) {
                        Monitor m = tr.getMonitor();
                        t.row(tr.getId(), m.getTap(), Monitors.state(m.getState()),
                                Specs.time(m.getSince()) + (m.getSinceLowerBound() ? " or earlier" : ""),
                                m.getCurrentValue(), m.getThresholdApplied(), Monitors.state(tr.getPreviousState()),
                                m.hasWindow() ? Specs.time(m.getWindow().getFrom()) + "/" + Specs.time(
                                        m.getWindow().getTo()) : "-",
                                tr.getTopNeuronsCount() == 0 ? "-" : tr.getTopNeuronsList().stream()
                                        .map(String::valueOf).collect(java.util.stream.Collectors.joining(",")),
                                Specs.time(tr.getRecordedAt()));
                    }
                    print(t);
                    // the newest drift first: where to look
                    h.getTransitionsList().stream().filter(tr -> tr.getMonitor().getState()
                            == MonitorState.MONITOR_STATE_DRIFTING).findFirst().map(Monitors::lookCommand)
                            .filter(c -> !c.isEmpty()).ifPresent(c -> w().println("look: " + c));
                });
    }
}
