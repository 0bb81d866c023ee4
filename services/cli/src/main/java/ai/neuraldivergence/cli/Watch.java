package ai.neuraldivergence.cli;

import static ai.neuraldivergence.cli.Text.word;

import ai.neuraldivergence.wire.WireMapping;
import ai.neuraldivergence.proto.v1.Monitor;
import ai.neuraldivergence.proto.v1.WatchEvent;
import ai.neuraldivergence.proto.v1.WatchRequest;
import ai.neuraldivergence.proto.v1.WindowUpdate;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "watch", description = "Print window updates and monitor changes as they happen (Ctrl-C ends).")
final class Watch extends Call {

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
            // a stream: no deadline (--timeout does not apply)
            Iterator<WatchEvent> events = connection.stub(channel, true).watch(WatchRequest.newBuilder()
                    .setModelId(model).addAllTaps(taps).setIncludeMonitors(true).build());
            while (events.hasNext()) {
                WatchEvent e = events.next();
                if (monitorsOnly && !e.hasMonitorTransition()) {
                    continue;
                }
                printEvent(e);
                w().flush();
            }
            return ExitCode.OK;
        } finally {
            channel.shutdownNow();
        }
    }

    /** One line per event, JSON lines with --json. */
    private void printEvent(WatchEvent e) throws Exception {
        if (output.json) {
            w().println(JsonFormat.printer().includingDefaultValueFields().omittingInsignificantWhitespace().print(e));
        } else if (e.hasMonitorTransition()) {
            Monitor m = e.getMonitorTransition().getMonitor();
            w().printf("%s monitor %s: tap %s of %s is %s since %s (%s %.3f, threshold %.3f)%n", Instant.now(),
                    m.getName(), m.getTap(), m.getModelId(), Monitors.state(m),
                    m.hasSince() ? Specs.time(m.getSince()) : "-", word(m.getMetric()), m.getCurrentValue(),
                    m.getThresholdApplied());
            String look = Monitors.lookCommand(e.getMonitorTransition());
            if (m.getState() == ai.neuraldivergence.proto.v1.MonitorState.MONITOR_STATE_DRIFTING && !look.isEmpty()) {
                w().println("  top neurons " + e.getMonitorTransition().getTopNeuronsList() + "; look: " + look);
            }
        } else {
            WindowUpdate u = e.getWindowUpdate();
            w().printf("%s window %s %s %s %s: %d observations (+%d)%n", Instant.now(), u.getModelId(),
                    u.getTap(), WireMapping.slice(u.getSlice()).key(), Specs.time(u.getWindow().getStart()),
                    u.getObservationCount(), u.getAddedCount());
        }
    }
}
