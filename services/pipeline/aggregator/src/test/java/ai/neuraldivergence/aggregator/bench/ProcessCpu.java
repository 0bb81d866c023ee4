package ai.neuraldivergence.aggregator.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU seconds spent by processes on this machine, from {@code /proc/<pid>/stat} (utime, stime, and the times of
 * children already reaped, in clock ticks).
 */
final class ProcessCpu {

    private final double ticksPerSecond;

    ProcessCpu(long clockTicks) {
        this.ticksPerSecond = clockTicks;
    }

    /** One process's own CPU seconds (threads included); NaN when it is gone. */
    double seconds(long pid) {
        long[] t = times(pid);
        return t == null ? Double.NaN : (t[0] + t[1]) / ticksPerSecond;
    }

    /**
     * A PostgreSQL server's CPU seconds: the postmaster's own and its reaped children's (a backend that exited is
     * added to its parent's cutime/cstime when reaped), plus every living child's (backends, checkpointer, WAL
     * writer, autovacuum). A difference of two readings is what the server spent between them.
     */
    double postgresSeconds(long postmaster) {
        long[] p = times(postmaster);
        if (p == null) {
            return Double.NaN;
        }
        long ticks = p[0] + p[1] + p[2] + p[3];
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path proc : (Iterable<Path>) procs::iterator) {
                String name = proc.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(name);
                long[] t = times(pid);
                if (t != null && t[4] == postmaster) {
                    ticks += t[0] + t[1] + t[2] + t[3];
                }
            }
        } catch (IOException e) {
            return Double.NaN;
        }
        return ticks / ticksPerSecond;
    }

    /** This JVM's CPU seconds. */
    static double ownSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime() / 1e9;
    }

    /** utime, stime, cutime, cstime, ppid; null when the process is gone. */
    private static long[] times(long pid) {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return null;
        }
        // the command name may hold spaces and parentheses: fields are counted after the last ')'
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" +");
        // f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17
        return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]),
            Long.parseLong(f[14]), Long.parseLong(f[1])};
    }

    /** The pid written on the first line of a pid file (postmaster.pid, kafka.pid); -1 when unreadable. */
    static long pidFile(Path file) {
        try {
            return Long.parseLong(Files.readAllLines(file).get(0).trim());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
