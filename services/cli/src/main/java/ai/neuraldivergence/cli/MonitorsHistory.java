package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.MonitorHistoryRequest;
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
                    Table t = new Table("ID", "TAP", "STATE", "SINCE", "VALUE", "THRESHOLD", "WAS", "RECORDED");
                    for (MonitorTransition tr : h.getTransitionsList()) {
                        t.row(tr.getId(), tr.getMonitor().getTap(), Monitors.state(tr.getMonitor().getState()),
                                Specs.time(tr.getMonitor().getSince()), tr.getMonitor().getCurrentValue(),
                                tr.getMonitor().getThreshold(), Monitors.state(tr.getPreviousState()),
                                Specs.time(tr.getRecordedAt()));
                    }
                    print(t);
                });
    }
}
