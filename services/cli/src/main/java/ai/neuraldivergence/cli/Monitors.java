package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorState;
import picocli.CommandLine.Command;

@Command(name = "monitors", description = "Drift monitors and their state.")
final class Monitors extends ModelListing {

    @Override
    public Integer call() throws Exception {
        return list(s -> s.listMonitors(ListMonitorsRequest.newBuilder().setModelId(model).build()),
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

    /** DRIFTING in capitals, to stand out in a list of "ok". */
    static String state(Monitor m) {
        return m.getState() == MonitorState.MONITOR_STATE_DRIFTING ? "DRIFTING" : "ok";
    }
}
