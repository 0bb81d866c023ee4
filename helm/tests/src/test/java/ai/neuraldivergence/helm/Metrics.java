package ai.neuraldivergence.helm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The Prometheus names the services export (from their Micrometer meter names) and those alerts or dashboards use. */
final class Metrics {

    private static final Path SERVICES = Chart.DIR.resolve("../../services").normalize();
    private static final Pattern METER = Pattern.compile("\"(nd\\.[a-z]+(?:\\.[a-z]+)+)\"");
    private static final Pattern PROMETHEUS = Pattern.compile("\\b(nd_[a-z_]+)\\b");
    // what Micrometer's Prometheus registry appends to a meter's name
    private static final Pattern SUFFIX = Pattern.compile("(_total|_seconds_count|_seconds_sum|_seconds_bucket"
            + "|_seconds_max|_seconds)$");

    private Metrics() {
    }

    /** Meter names in the services' main sources, as Prometheus writes them (dots to underscores). */
    static Set<String> exported() throws IOException {
        Set<String> out = new TreeSet<>();
        try (Stream<Path> files = Files.walk(SERVICES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/"))
                    .toList()) {
                Matcher m = METER.matcher(Files.readString(f));
                while (m.find()) {
                    out.add(m.group(1).replace('.', '_'));
                }
            }
        }
        return out;
    }

    static Set<String> referenced(String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = PROMETHEUS.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    static boolean known(String metric, Set<String> exported) {
        return exported.contains(metric) || exported.contains(SUFFIX.matcher(metric).replaceFirst(""));
    }
}
