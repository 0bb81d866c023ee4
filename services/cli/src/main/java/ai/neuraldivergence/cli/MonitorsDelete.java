package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.DeleteMonitorRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "delete", description = "Delete a drift monitor and its history (needs the write scope).")
final class MonitorsDelete extends Call {

    @Parameters(index = "0", description = "the monitor's name")
    String name;

    @Override
    public Integer call() throws Exception {
        return call("deleting", s -> s.deleteMonitor(DeleteMonitorRequest.newBuilder().setName(name).build()),
                r -> w().println("deleted monitor " + name));
    }
}
