package ai.neuraldivergence.cli;

import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** nd: the NeuralDivergence comparison API from a terminal. Tables by default, --json for scripts. */
@Command(name = "nd", mixinStandardHelpOptions = true, version = "nd 0.1.0",
        description = "Ask a NeuralDivergence comparison service which neurons drifted, where, and since when.",
        footer = {"", "Selections: ref:NAME | last:15m | FROM/TO (ISO-8601), optionally @SLICE "
                + "(@predicted=3, @label=3, @tag:source=prod, @pair=attacked).",
            "Exit codes: 0 ok, 2 usage, 3 invalid request, 4 not found, 5 unauthenticated or not allowed, "
                + "6 unavailable or busy, 7 already exists, 1 other failures."},
        subcommands = {Models.class, Compare.class, Layers.class, Classes.class, Inspect.class, Timeline.class,
            Monitors.class, Watch.class, References.class})
public final class Nd {

    public static void main(String[] args) {
        System.exit(run(System.out, System.err, args));
    }

    /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
    public static int run(PrintStream out, PrintStream err, String... args) {
        CommandLine cli = new CommandLine(new Nd());
        // names come from whoever sent the data: printed so that none can hide or reorder what a line says
        cli.setOut(new PrintWriter(new VisibleWriter(new java.io.OutputStreamWriter(out)), true));
        PrintWriter errors = new PrintWriter(new VisibleWriter(new java.io.OutputStreamWriter(err)), true);
        cli.setErr(errors);
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            // the service's messages may quote what the caller sent: through the same escapes as the output
            if (e instanceof StatusRuntimeException s) {
                errors.println("error: " + s.getStatus().getCode() + ": " + s.getStatus().getDescription());
                return ExitCode.of(s.getStatus().getCode());
            }
            if (e instanceof IllegalArgumentException) {
                errors.println("error: " + e.getMessage());
                return ExitCode.USAGE;
            }
            errors.println("error: " + e);
            return ExitCode.FAILED;
        });
        return cli.execute(args);
    }
}
