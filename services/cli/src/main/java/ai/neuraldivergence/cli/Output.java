package ai.neuraldivergence.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** How a command prints: tables for a person, protobuf's canonical JSON for a script (--json). */
final class Output {

    @Option(names = "--json", description = "print the response as JSON (protobuf's canonical JSON), for scripts")
    boolean json;

    // the command this is mixed into: its writers are the ones Nd.run set
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    PrintWriter out() {
        return command.commandLine().getOut();
    }

    PrintWriter err() {
        return command.commandLine().getErr();
    }

    /**
     * A whole response, indented; fields at their default (a share of 0, a false "drifted") printed too, as the
     * JSON mirror prints them: a script reading {@code .summary.driftedShare} gets 0, not null.
     */
    void printJson(MessageOrBuilder response) throws InvalidProtocolBufferException {
        out().println(JsonFormat.printer().includingDefaultValueFields().print(response));
    }

    void print(Table t) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        t.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        out().print(bytes.toString(StandardCharsets.UTF_8));
    }
}
