package ai.neuraldivergence.testkit;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * A PostgreSQL server of a test's own, frozen with SIGSTOP and thawed with SIGCONT: its connections stay open and
 * nothing answers on them, as with a frozen host or a connection gone half-open, which the server's own timeouts
 * cannot end. Freezes every process of the server as it is at the call: the postmaster (the first line of its pid
 * file) and each backend it started, so open the connections under test before.
 */
public final class FrozenServer implements AutoCloseable {

    private final List<Long> processes;
    private boolean frozen;

    private FrozenServer(List<Long> processes) {
        this.processes = processes;
    }

    /** Freezes {@code pg} now. */
    public static FrozenServer freeze(EmbeddedPostgres pg) throws IOException, InterruptedException, SQLException {
        Path dataDirectory;
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SHOW data_directory")) {
            rs.next();
            dataDirectory = Path.of(rs.getString(1));
        }
        long postmaster = Long.parseLong(Files.readAllLines(dataDirectory.resolve("postmaster.pid")).get(0).trim());
        List<Long> processes = new ArrayList<>();
        processes.add(postmaster);
        ProcessHandle.of(postmaster).orElseThrow().descendants().forEach(p -> processes.add(p.pid()));
        FrozenServer server = new FrozenServer(processes);
        server.signal("STOP");
        server.frozen = true;
        return server;
    }

    /** Thaws the server: what waited on it goes on. Idempotent. */
    @Override
    public void close() throws IOException, InterruptedException {
        if (frozen) {
            signal("CONT");
            frozen = false;
        }
    }

    private void signal(String name) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("kill", "-" + name));
        processes.forEach(p -> command.add(Long.toString(p)));
        // a backend may have ended meanwhile: kill's status then says nothing about the others
        new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
