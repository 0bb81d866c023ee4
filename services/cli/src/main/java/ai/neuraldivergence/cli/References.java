package ai.neuraldivergence.cli;

import ai.neuraldivergence.proto.v1.Reference;
import ai.neuraldivergence.proto.v1.ReferenceState;
import java.time.Duration;
import java.time.Instant;
import picocli.CommandLine.Command;

@Command(name = "references", description = "List, create (freeze a time range), seal or delete references.",
        subcommands = {ReferencesList.class, ReferencesCreate.class, ReferencesSeal.class, ReferencesDelete.class})
final class References {

    /**
     * "sealed", "sealed 12 short" (sealed by the timeout short of its expected count), or "building 3h" with
     * its age: a reference building for long was left so by an interrupted replay.
     */
    static String state(Reference ref) {
        if (ref.getState() == ReferenceState.REFERENCE_STATE_SEALED) {
            return ref.getShortfall() > 0 ? "sealed " + ref.getShortfall() + " short" : "sealed";
        }
        Duration age = Duration.between(Instant.ofEpochSecond(ref.getCreatedAt().getSeconds()), Instant.now());
        return "building " + (age.toHours() > 0 ? age.toHours() + "h" : Math.max(0, age.toMinutes()) + "m");
    }
}
