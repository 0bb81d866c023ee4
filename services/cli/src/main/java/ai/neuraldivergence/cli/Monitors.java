package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.ListMonitorsRequest;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.MonitorDefinition;
import ai.neuraldivergence.proto.v1.MonitorSource;
import ai.neuraldivergence.proto.v1.MonitorState;
import ai.neuraldivergence.proto.v1.MonitorTransition;
import picocli.CommandLine.Command;

@Command(name = "monitors", description = "Drift monitors and their state; create, update, delete, history.",
        subcommands = {MonitorsCreate.class, MonitorsUpdate.class, MonitorsDelete.class, MonitorsHistory.class})
final class Monitors extends ModelListing {

    @Override
    public Integer call() throws Exception {
        return list(s -> s.listMonitors(ListMonitorsRequest.newBuilder().setModelId(model).build()),
                r -> {
                    Table t = new Table("MONITOR", "MODEL", "TAP", "STATE", "SINCE", "VALUE", "THRESHOLD",
                            "DETECTABLE", "REFERENCE");
                    for (Monitor m : r.getMonitorsList()) {
                        // the threshold the newest evaluation applied (a calibrated one's depends on its counts)
                        t.row(m.getName(), m.getModelId(), m.getTap(), state(m), m.hasSince()
                                ? Specs.time(m.getSince()) : "-", m.getCurrentValue(), m.hasWindow()
                                ? m.getThresholdApplied() : m.getThreshold(), m.hasCalibration()
                                ? m.getCalibration().getSmallestDetectableEffect() : "-", m.getReference());
                    }
                    print(t);
                });
    }

    /** DRIFTING in capitals, to stand out in a list of "ok". */
    static String state(Monitor m) {
        return state(m.getState());
    }

    static String state(MonitorState s) {
        return switch (s) {
            case MONITOR_STATE_DRIFTING -> "DRIFTING";
            case MONITOR_STATE_INSUFFICIENT_DATA -> "insufficient data";
            case MONITOR_STATE_INVALID -> "INVALID";
            default -> "ok";
        };
    }

    /**
     * Where to look when a monitor fires: the command comparing the deciding window with the monitor's reference on
     * its tap, in its slice, which lists the most drifted neurons (the UI's Neurons view of the same sides). Empty
     * when the transition names no window.
     */
    static String lookCommand(MonitorTransition t) {
        Monitor m = t.getMonitor();
        if (!m.hasWindow()) {
            return "";
        }
        String slice = ai.neuraldivergence.wire.WireMapping.slice(m.getSlice()).key();
        String at = slice.equals("all") ? "" : "@" + slice;
        // each argument quoted for a shell where it needs to be: a tag value may hold spaces, ';' or '$(...)', and
        // the line is meant to be pasted
        return String.format("nd compare --model %s --tap %s --a %s --b %s", Text.shellWord(m.getModelId()),
                Text.shellWord(m.getTap()), Text.shellWord("ref:" + m.getReference() + at),
                Text.shellWord(Specs.time(m.getWindow().getFrom()) + "/" + Specs.time(m.getWindow().getTo()) + at));
    }

    /** One line: the name and what the monitor watches, when it fires, and where it was defined. */
    static String describe(MonitorDefinition d) {
        String over = d.getMode() == ai.neuraldivergence.proto.v1.MonitorMode.MONITOR_MODE_CALIBRATED
                ? String.format("> calibrated threshold (minimum effect %s, %s false alarms per 30 days)",
                        d.getMinimumEffect(), d.getFalseAlarmBudget())
                : "> " + d.getThreshold();
        return String.format("%s: %s tap %s against %s (slice %s), %s %s for %d in a row, at least %d "
                + "observations within %d min [%s]", d.getName(), d.getModelId(), d.getTap(), d.getReference(),
                ai.neuraldivergence.wire.WireMapping.slice(d.getSlice()).key(), Text.word(d.getMetric()),
                over, d.getWindowsInARow(), d.getMinObservations(), d.getMaxSpanMinutes(),
                d.getSource() == MonitorSource.MONITOR_SOURCE_CONFIG ? "configuration" : "API, by "
                        + d.getUpdatedBy());
    }
}
