package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.proto.v1.MonitorHistoryRequest;
import ai.neuraldivergence.proto.v1.UpdateMonitorRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "update", description = "Change a drift monitor: the options given, the rest kept (needs the write "
        + "scope). Changing what it measures (tap, reference, slice, metric) starts its state over.")
final class MonitorsUpdate extends Call {

    @Parameters(index = "0", description = "the monitor's name")
    String name;

    @Mixin
    MonitorOptions options;

    @Override
    public Integer call() throws Exception {
        return call("updating", s -> {
            MonitorDefinition current = s.getMonitorHistory(MonitorHistoryRequest.newBuilder().setName(name)
                    .setLimit(1).build()).getMonitor();
            // the output-only fields are the service's to set
            MonitorDefinition changed = options.applyTo(current).toBuilder().clearSource().clearUpdatedBy()
                    .clearUpdatedAt().build();
            return s.updateMonitor(UpdateMonitorRequest.newBuilder().setName(name).setMonitor(changed).build());
        }, m -> w().println("updated monitor " + Monitors.describe(m)));
    }
}
