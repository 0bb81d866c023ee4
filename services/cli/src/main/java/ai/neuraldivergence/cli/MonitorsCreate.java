package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.CreateMonitorRequest;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "create", description = "Create a drift monitor (needs a token with the write scope).")
final class MonitorsCreate extends Call {

    @Parameters(index = "0", description = "the monitor's name")
    String name;

    @Option(names = "--model", required = true)
    String model;

    @Mixin
    MonitorOptions options;

    @Override
    public Integer call() throws Exception {
        MonitorDefinition d = options.applyTo(MonitorDefinition.newBuilder().setName(name).setModelId(model).build());
        return call("creating", s -> s.createMonitor(CreateMonitorRequest.newBuilder().setMonitor(d).build()),
                m -> w().println("created monitor " + Monitors.describe(m)));
    }
}
