package ai.neuraldivergence.endtoend;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The documentation names only what the code has. Scans {@code README.md} and {@code docs/*.md} (inline code, fenced
 * blocks and, for the distinctive {@code nd.}, {@code nd_} and {@code ND_} names, prose too) and checks each name
 * against the sources, read as text: no service starts, nothing is compiled.
 *
 * <ul>
 *   <li><b>Configuration keys</b> {@code nd.…}: a key of a service's {@code application.properties}, of a
 *       {@code @ConfigMapping} interface (nested groups and maps included, {@code <name>} standing for a map key),
 *       an {@code @ConfigProperty} name, a system property the code reads or a deprecated alias a configuration
 *       interceptor still reads; {@code nd.x.*} must prefix one. Names
 *       that are values rather than keys (Kafka topics such as {@code nd.activations}, the subprotocol
 *       {@code nd.v1}) pass as a configured value or default, and Micrometer names as metrics. {@code quarkus.…}
 *       keys must be set by one of our {@code application.properties} or read by our code: the docs name no other
 *       Quarkus setting. {@code kafka.…} keys pass through to the Kafka client and are not checked. In a table whose
 *       columns are "key" and "default", a default written as one value must be the code's.</li>
 *   <li><b>Metrics</b> {@code nd_…}: the Prometheus form of a meter the Java sources register ({@code _total} for
 *       counters, {@code _seconds} for timers, brace alternatives such as {@code nd_x_{a,b}_total} expanded, label
 *       sets such as {@code {reason}} ignored); a name that is a PostgreSQL role of the SQL migrations or a string
 *       of the main sources ({@code nd_comparison}) passes too.</li>
 *   <li><b>RPCs and types</b>: every UpperCamelCase name in inline code (and a code span of one capitalised
 *       word, such as {@code Compare}; annotations such as {@code @QuarkusTest} aside) is an rpc, message, enum or
 *       service of {@code proto/src/main/proto} or a Java type of the repository; {@code SomeService/Method},
 *       fenced blocks included, must be an rpc of that service. Other projects' types are named in prose or in
 *       fenced blocks.</li>
 *   <li><b>JSON and REST paths</b> {@code /api/v1/…} and {@code /v1/…}: a {@code google.api.http} path of the proto
 *       or a JAX-RS {@code @Path} (class and method joined), {@code @WebSocket} or {@code @Route} path of a
 *       service's main sources; {@code {param}} segments match any placeholder; a method written before the path
 *       ({@code POST /api/v1/compare}) must be the one served.</li>
 *   <li><b>Environment variables</b> {@code ND_…} and {@code QUARKUS_…}: written in a file of the repository other
 *       than Markdown (scripts, chart, code), or the environment form of a configuration key.</li>
 *   <li>Relative links resolve, anchors included; the README keeps the commands and the prerequisite line that
 *       {@code .ci/run} runs.</li>
 * </ul>
 * Each failure names the file, the line and the name.
 */
class DocsTest {

    private static final Path ROOT = repositoryRoot();
    private static final Set<String> SKIPPED_DIRS = Set.of("target", "node_modules", ".git", ".run", "dist", ".idea",
            ".vscode");

    private static List<DocLine> docs;
    private static Code code;

    @BeforeAll
    static void read() throws IOException {
        docs = new ArrayList<>(DocLine.read(ROOT.resolve("README.md")));
        try (Stream<Path> pages = Files.list(ROOT.resolve("docs"))) {
            for (Path page : pages.filter(p -> p.toString().endsWith(".md")).sorted().toList()) {
                docs.addAll(DocLine.read(page));
            }
        }
        code = Code.index(ROOT);
    }

    // ------------------------------------------------------------------------------------------- configuration

    /** {@code nd.a.b}, {@code nd.a.*}, {@code nd.a.<name>.b}, {@code nd.a.{b,c}}; {@code -Dnd.a} too. */
    private static final Pattern ND_NAME = Pattern.compile("(?:(?<=-D)|(?<![\\w.-]))nd\\.[a-z0-9][a-z0-9-]*"
            + "(?:\\.(?:[a-z0-9][a-z0-9-]*|\\*|<[a-z-]+>|\\{[a-z0-9, -]+\\}))*");
    private static final Pattern QUARKUS_KEY = Pattern.compile(
            "(?<![\\w.-])quarkus\\.[a-z0-9][a-z0-9-]*(?:\\.[a-z0-9*][a-z0-9-]*)+");

    @Test
    void configurationKeysExist() {
        List<String> failures = new ArrayList<>();
        int found = 0;
        for (DocLine line : docs) {
            for (String name : matches(ND_NAME, line.text())) {
                found++;
                for (String n : expandBraces(name)) {
                    if (!code.knowsNdName(n)) {
                        failures.add(line.where() + ": `" + n + "` is no configuration key (application.properties, "
                                + "@ConfigMapping, @ConfigProperty, a system property the code reads), configured "
                                + "value (a Kafka topic) or Micrometer metric name in the code");
                    }
                }
            }
            for (String key : matches(QUARKUS_KEY, line.code())) {
                found++;
                if (!code.quarkusKeys.contains(key)) {
                    failures.add(line.where() + ": `" + key + "` is not set by any service's application.properties "
                            + "nor read by our code");
                }
            }
        }
        assertNoFailures(found, "configuration keys", failures);
    }

    @Test
    void configurationDefaultsAreTheCodes() {
        List<String> failures = new ArrayList<>();
        int checked = 0;
        boolean keyTable = false;
        for (DocLine line : docs) {
            if (!line.text().startsWith("|") || line.fenced()) {
                keyTable = false; // a table ends with its last row
                continue;
            }
            List<String> cells = cells(line.text());
            if (cells.size() >= 2 && cells.get(0).equals("key") && cells.get(1).equals("default")) {
                keyTable = true;
                continue;
            }
            if (!keyTable || cells.size() < 2 || cells.get(0).startsWith("---")) {
                continue;
            }
            List<String> keySpans = spans(cells.get(0));
            String value = simpleValue(cells.get(1));
            if (keySpans.size() != 1 || value == null) {
                continue;
            }
            String key = keySpans.get(0).replaceAll("<[a-z-]+>", "*");
            Set<String> defaults = code.defaultsOf(key);
            if (defaults.stream().anyMatch(d -> d.contains("${"))) {
                continue;
            }
            checked++;
            if (defaults.isEmpty()) {
                failures.add(line.where() + ": `" + keySpans.get(0) + "` is documented with the default `" + value
                        + "`, but the code sets none");
            } else if (!defaults.contains(value)) {
                failures.add(line.where() + ": `" + keySpans.get(0) + "` is documented with the default `" + value
                        + "`, but the code's is " + defaults);
            }
        }
        assertNoFailures(checked, "documented defaults", failures);
    }

    // ------------------------------------------------------------------------------------------- metrics

    private static final Pattern METRIC = Pattern.compile("(?<![\\w.$-])nd_");

    @Test
    void metricsExist() {
        assertEveryMatch("metric names", METRIC, DocLine::text, (line, m, failures) -> {
            String token = metricToken(line.text(), m.start());
            if (token == null) {
                failures.add(line.where() + ": a metric name's brace group is not closed on its line: "
                        + line.text().substring(m.start()));
                return true;
            }
            for (String name : expandBraces(token)) {
                if (!code.prometheusNames.contains(name) && !code.ndIdentifiers.contains(name)) {
                    failures.add(line.where() + ": `" + name + "` is no metric the Java sources register "
                            + "(Prometheus form) nor a name of the SQL migrations or main sources");
                }
            }
            return true;
        });
    }

    /**
     * The metric name at {@code start}: letters, digits and underscores, and brace alternatives right after an
     * underscore ({@code nd_x_{a,b}_total}); a brace after a letter is a label set and ends the name. Null when an
     * alternative is not closed on the line.
     */
    static String metricToken(String text, int start) {
        StringBuilder out = new StringBuilder();
        int i = start;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (Character.isLowerCase(c) || Character.isDigit(c) || c == '_') {
                out.append(c);
                i++;
            } else if (c == '{' && out.length() > 0 && out.charAt(out.length() - 1) == '_') {
                int close = text.indexOf('}', i);
                if (close < 0) {
                    return null;
                }
                out.append(text, i, close + 1);
                i = close + 1;
            } else {
                break;
            }
        }
        return out.toString();
    }

    // ------------------------------------------------------------------------------------------- RPCs and types

    private static final Pattern CAMEL = Pattern.compile("(?<![\\w$@-])([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+)(?![\\w-])");
    private static final Pattern SERVICE_METHOD = Pattern.compile("\\b(\\w+Service)/(\\w+)");

    @Test
    void rpcsAndTypesExist() {
        List<String> failures = new ArrayList<>();
        int found = 0;
        for (DocLine line : docs) {
            // inline code only: a fenced block may be a diagram or a shell session naming other projects' types
            Set<String> names = new LinkedHashSet<>(matches(CAMEL, String.join(" ", line.spans())));
            for (String span : line.spans()) {
                if (span.strip().matches("[A-Z][a-z]+")) {
                    names.add(span.strip());
                }
            }
            for (String name : names) {
                found++;
                if (!code.rpcs.contains(name) && !code.protoTypes.contains(name) && !code.javaTypes.contains(name)) {
                    failures.add(line.where() + ": `" + name + "` is no rpc, message, enum or service of "
                            + "proto/src/main/proto and no Java type of the repository");
                }
            }
            Matcher m = SERVICE_METHOD.matcher(line.code());
            while (m.find()) {
                Set<String> rpcs = code.rpcsByService.get(m.group(1));
                if (rpcs != null && !rpcs.contains(m.group(2))) {
                    failures.add(line.where() + ": `" + m.group() + "`: " + m.group(1) + " has no rpc "
                            + m.group(2));
                }
            }
        }
        assertNoFailures(found, "RPC and type names", failures);
    }

    // ------------------------------------------------------------------------------------------- paths

    private static final Pattern DOC_PATH = Pattern.compile(
            "(?:\\b((?:GET|POST|PUT|DELETE|PATCH)(?:\\|(?:GET|POST|PUT|DELETE|PATCH))*)\\s+)?"
                    + "((?<![A-Za-z_-])/(?:api/)?v1/[A-Za-z0-9_{}/.-]*)");

    @Test
    void jsonAndRestPathsAreServed() {
        assertEveryMatch("paths", DOC_PATH, DocLine::code, (line, m, failures) -> {
            String path = Code.normalizePath(m.group(2).replaceAll("[.,:)]+$", ""));
            if (!code.paths.contains(path)) {
                failures.add(line.where() + ": `" + m.group(2) + "` is no path of the proto's google.api.http "
                        + "options nor a @Path, @WebSocket or @Route of a service");
            } else if (m.group(1) != null) {
                for (String method : m.group(1).split("\\|")) {
                    if (!code.methodPaths.contains(method + " " + path)) {
                        failures.add(line.where() + ": `" + method + " " + m.group(2) + "` is not served "
                                + "(the path is, with another method)");
                    }
                }
            }
            return true;
        });
    }

    // ------------------------------------------------------------------------------------------- environment

    private static final Pattern ENV = Pattern.compile("(?<!\\w)((?:ND|QUARKUS)_[A-Z0-9_]*[A-Z0-9])(_\\*)?(?![a-z])");

    @Test
    void environmentVariablesExist() {
        assertEveryMatch("environment variables", ENV, DocLine::text, (line, m, failures) -> {
            String name = m.group(1);
            boolean known = m.group(2) != null
                    ? code.environment.stream().anyMatch(v -> v.startsWith(name + "_"))
                    : code.environment.contains(name);
            if (!known) {
                failures.add(line.where() + ": `" + m.group() + "` appears in no script, chart or source of "
                        + "the repository and is not the environment form of a configuration key");
            }
            return true;
        });
    }

    // ------------------------------------------------------------------------------------------- links, README

    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");

    @Test
    void linksResolve() {
        assertEveryMatch("links", LINK, DocLine::prose, (line, m, failures) -> {
            String target = m.group(1);
            if (target.matches("[a-z]+:.*")) {
                return false; // another site's: not checked, so not counted
            }
            int hash = target.indexOf('#');
            String file = hash < 0 ? target : target.substring(0, hash);
            Path resolved = file.isEmpty() ? line.path() : line.path().getParent().resolve(file).normalize();
            if (!Files.exists(resolved)) {
                failures.add(line.where() + ": the link `" + target + "` leads nowhere");
            } else if (hash >= 0 && resolved.toString().endsWith(".md")
                    && !anchors(resolved).contains(target.substring(hash + 1))) {
                failures.add(line.where() + ": the link `" + target + "` names no heading of " + file);
            }
            return true;
        });
    }

    @Test
    void readmeKeepsTheCommandsCiRuns() throws IOException {
        List<String> readme = Files.readAllLines(ROOT.resolve("README.md"));
        assertTrue(readme.stream().anyMatch(l -> l.startsWith("deploy/run-local.sh ")),
                "README.md lost the run command (deploy/run-local.sh)");
        assertTrue(readme.stream().anyMatch(l -> l.startsWith("./mvnw verify ")),
                "README.md lost the test command (./mvnw verify), which .ci/run runs");
        Matcher ci = Pattern.compile("PACKAGES=\\(([^)]*)\\)").matcher(Files.readString(ROOT.resolve(".ci/run")));
        assertTrue(ci.find(), ".ci/run has no PACKAGES=(...) line");
        String line = "Prerequisites of the tests (Debian packages): `apt-get install -y " + ci.group(1).strip() + "`";
        assertTrue(readme.contains(line), "README.md must keep the prerequisite line .ci/run installs: " + line);
    }

    // ------------------------------------------------------------------------------------------- helpers

    /** One match on a doc line, checked: false when it is not what the test checks (not counted as found). */
    @FunctionalInterface
    private interface MatchCheck {
        boolean check(DocLine line, Matcher match, List<String> failures);
    }

    /** Checks every match of {@code pattern} in {@code part} of each doc line, then fails naming every failure. */
    private static void assertEveryMatch(String what, Pattern pattern, Function<DocLine, String> part,
            MatchCheck check) {
        List<String> failures = new ArrayList<>();
        int found = 0;
        for (DocLine line : docs) {
            Matcher m = pattern.matcher(part.apply(line));
            while (m.find()) {
                if (check.check(line, m, failures)) {
                    found++;
                }
            }
        }
        assertNoFailures(found, what, failures);
    }

    private static void assertNoFailures(int found, String what, List<String> failures) {
        assertFalse(found == 0, "found no " + what + " in README.md and docs/*.md: the scan is broken");
        if (!failures.isEmpty()) {
            fail(failures.size() + " of the " + what + " the docs name are not in the code:\n"
                    + String.join("\n", failures));
        }
    }

    private static List<String> matches(Pattern p, String text) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(m.groupCount() >= 1 ? m.group(1) : m.group());
        }
        return out;
    }

    /** {@code a_{b,c}_d} as {@code a_b_d} and {@code a_c_d}; names without braces as themselves. */
    static List<String> expandBraces(String name) {
        int open = name.indexOf('{');
        if (open < 0) {
            return List.of(name);
        }
        int close = name.indexOf('}', open);
        List<String> out = new ArrayList<>();
        for (String alternative : name.substring(open + 1, close).split(",")) {
            out.addAll(expandBraces(name.substring(0, open) + alternative.strip() + name.substring(close + 1)));
        }
        return out;
    }

    private static List<String> cells(String row) {
        String inner = row.strip();
        inner = inner.substring(1, inner.endsWith("|") ? inner.length() - 1 : inner.length());
        List<String> out = new ArrayList<>();
        for (String cell : inner.split("\\|", -1)) {
            out.add(cell.strip());
        }
        return out;
    }

    private static List<String> spans(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("`([^`]*)`").matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** A default written as one value: one code span alone, or a bare number, duration, size or boolean. */
    private static String simpleValue(String cell) {
        if (cell.matches("`[^`]*`")) {
            return cell.substring(1, cell.length() - 1);
        }
        return cell.matches("[0-9][0-9.]*[a-zA-Z]*|true|false") ? cell : null;
    }

    /** The anchors GitHub gives the headings of a Markdown file. */
    private static Set<String> anchors(Path file) {
        Set<String> out = new TreeSet<>();
        boolean fenced = false;
        for (String line : readLines(file)) {
            if (line.startsWith("```")) {
                fenced = !fenced;
            } else if (!fenced && line.matches("#{1,6} .*")) {
                String heading = line.replaceFirst("^#+ ", "").replace("`", "").strip().toLowerCase(Locale.ROOT);
                out.add(heading.replaceAll("[^\\p{L}\\p{N} _-]", "").replace(' ', '-'));
            }
        }
        return out;
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The repository's root: the first folder up from the working directory that holds {@code .ci/run}. */
    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve(".ci/run"))) {
                return p;
            }
        }
        throw new IllegalStateException("no .ci/run above " + Path.of("").toAbsolutePath());
    }

    // ------------------------------------------------------------------------------------------- the docs

    /**
     * One line of a Markdown file: its whole text, the code on it (inline spans, or the line itself inside a fenced
     * block) and the prose (the rest).
     */
    record DocLine(Path path, String file, int number, String text, boolean fenced, List<String> spans,
            String prose) {

        String code() {
            return fenced ? text : String.join(" ", spans);
        }

        String where() {
            return file + ":" + number;
        }

        static List<DocLine> read(Path path) {
            String file = ROOT.relativize(path).toString();
            List<DocLine> out = new ArrayList<>();
            boolean fenced = false;
            boolean inCode = false;
            int number = 0;
            for (String text : readLines(path)) {
                number++;
                if (text.strip().startsWith("```")) {
                    fenced = !fenced;
                    inCode = false;
                    continue;
                }
                if (fenced) {
                    out.add(new DocLine(path, file, number, text, true, List.of(), ""));
                    continue;
                }
                if (text.isBlank()) {
                    inCode = false; // a code span ends with its paragraph
                }
                List<String> spans = new ArrayList<>();
                StringBuilder span = new StringBuilder();
                StringBuilder prose = new StringBuilder();
                for (char c : text.toCharArray()) {
                    if (c == '`') {
                        if (inCode) {
                            spans.add(span.toString());
                            span.setLength(0);
                        }
                        inCode = !inCode;
                    } else if (inCode) {
                        span.append(c);
                    } else {
                        prose.append(c);
                    }
                }
                if (inCode && span.length() > 0) {
                    spans.add(span.toString()); // continues on the next line
                }
                out.add(new DocLine(path, file, number, text, false, spans, prose.toString()));
            }
            return out;
        }
    }

    // ------------------------------------------------------------------------------------------- the code

    /** What the sources declare, read as text. */
    static final class Code {
        /** Configuration keys; {@code *} stands for a map key. */
        final Set<String> configKeys = new TreeSet<>();
        /** Effective defaults per key: application.properties' value, else the mapping's default. */
        final Map<String, Set<String>> propertyDefaults = new HashMap<>();
        final Map<String, Set<String>> mappingDefaults = new HashMap<>();
        /** Values that are names themselves: topics, the subprotocol. */
        final Set<String> configValues = new TreeSet<>();
        final Set<String> quarkusKeys = new TreeSet<>();
        final Set<String> meterNames = new TreeSet<>();
        final Set<String> prometheusNames = new TreeSet<>();
        final Set<String> ndIdentifiers = new TreeSet<>();
        final Set<String> rpcs = new TreeSet<>();
        final Map<String, Set<String>> rpcsByService = new HashMap<>();
        final Set<String> protoTypes = new TreeSet<>();
        final Set<String> javaTypes = new TreeSet<>();
        final Set<String> paths = new TreeSet<>();
        final Set<String> methodPaths = new TreeSet<>();
        final Set<String> environment = new TreeSet<>();

        static Code index(Path root) throws IOException {
            Code code = new Code();
            List<Path> files;
            try (Stream<Path> walk = Files.walk(root)) {
                files = walk.filter(p -> root.relativize(p).toString().isEmpty() || !skipped(root.relativize(p)))
                        .filter(Files::isRegularFile).sorted().toList();
            }
            for (Path file : files) {
                String rel = root.relativize(file).toString().replace('\\', '/');
                String name = file.getFileName().toString();
                if (name.endsWith(".md") || Files.size(file) > 4_000_000) {
                    continue;
                }
                String text;
                try {
                    text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(
                            file))).toString();
                } catch (CharacterCodingException binary) {
                    continue;
                }
                code.environmentWords(text);
                if (name.endsWith(".java")) {
                    String java = stripComments(text);
                    code.javaTypes(java);
                    code.systemProperties(java);
                    code.deprecatedAliases(java);
                    if (rel.contains("/src/main/java/")) {
                        code.configMappings(java);
                        code.configProperties(java);
                        code.meters(java);
                        code.resources(java);
                        code.mainStrings(java);
                    }
                } else if (name.equals("application.properties") && rel.contains("/src/main/resources/")) {
                    code.properties(text);
                } else if (name.endsWith(".proto") && rel.startsWith("proto/src/main/proto/")) {
                    code.proto(stripComments(text));
                } else if (name.endsWith(".sql") && rel.contains("/src/main/")) {
                    Matcher m = Pattern.compile("\\bnd_\\w+").matcher(text);
                    while (m.find()) {
                        code.ndIdentifiers.add(m.group());
                    }
                }
            }
            for (String key : code.configKeys) {
                if (!key.contains("*")) {
                    code.environment.add(key.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_"));
                }
            }
            return code;
        }

        private static boolean skipped(Path rel) {
            for (Path part : rel) {
                if (SKIPPED_DIRS.contains(part.toString())) {
                    return true;
                }
            }
            return false;
        }

        boolean knowsNdName(String name) {
            String n = name.replaceAll("<[a-z-]+>", "*");
            if (configValues.contains(n) || meterNames.contains(n)) {
                return true;
            }
            if (n.endsWith(".*")) {
                String prefix = n.substring(0, n.length() - 1);
                return Stream.of(configKeys, configValues, meterNames).flatMap(Set::stream)
                        .anyMatch(k -> segmentsMatch(prefix.split("\\."), k.split("\\."), true));
            }
            return configKeys.stream().anyMatch(k -> segmentsMatch(n.split("\\."), k.split("\\."), false));
        }

        /** Whether the doc's segments match the key's ({@code *} on either side matching any one segment). */
        private static boolean segmentsMatch(String[] doc, String[] key, boolean prefix) {
            if (prefix ? doc.length > key.length : doc.length != key.length) {
                return false;
            }
            for (int i = 0; i < doc.length; i++) {
                if (!doc[i].equals(key[i]) && !doc[i].equals("*") && !key[i].equals("*") && !doc[i].isEmpty()) {
                    return false;
                }
            }
            return true;
        }

        Set<String> defaultsOf(String key) {
            Set<String> out = new TreeSet<>(propertyDefaults.getOrDefault(key, Set.of()));
            if (out.isEmpty()) {
                out.addAll(mappingDefaults.getOrDefault(key, Set.of()));
            }
            return out;
        }

        // ---------------------------------------------------------------- application.properties

        void properties(String text) {
            for (String raw : text.split("\n")) {
                String line = raw.strip();
                int eq = line.indexOf('=');
                if (line.isEmpty() || line.startsWith("#") || eq < 0) {
                    continue;
                }
                String key = line.substring(0, eq).strip();
                String value = line.substring(eq + 1).strip();
                boolean profile = key.startsWith("%");
                if (profile) {
                    key = key.substring(key.indexOf('.') + 1);
                }
                String effective = envDefault(value);
                if (key.startsWith("quarkus.")) {
                    quarkusKeys.add(key);
                    environment.add(key.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_"));
                } else {
                    configKeys.add(key);
                }
                if (!profile && effective != null) {
                    propertyDefaults.computeIfAbsent(key, k -> new TreeSet<>()).add(effective);
                }
                if (effective != null && effective.matches("nd\\.[a-z0-9.-]+")) {
                    configValues.add(effective);
                }
            }
        }

        /** {@code ${ENV:default}} as its default (recording ENV); a plain value as itself. */
        private String envDefault(String value) {
            if (!value.startsWith("${") || !value.endsWith("}")) {
                return value;
            }
            String inner = value.substring(2, value.length() - 1);
            int colon = inner.indexOf(':');
            environment.add(colon < 0 ? inner : inner.substring(0, colon));
            return colon < 0 ? null : inner.substring(colon + 1);
        }

        // ---------------------------------------------------------------- @ConfigMapping, @ConfigProperty

        private static final Pattern MAPPING = Pattern.compile(
                "@(?:[\\w.]+\\.)?ConfigMapping\\(\\s*prefix\\s*=\\s*\"([^\"]+)\"[^)]*\\)"
                        + "[^{]*?interface\\s+(\\w+)[^{]*\\{");
        private static final Pattern METHOD = Pattern.compile(
                "((?:@[\\w.]+(?:\\([^)]*\\))?\\s*)*)([\\w.]+(?:<[^;{}()]*>)?)\\s+(\\w+)\\s*\\(\\s*\\)\\s*;");
        private static final Pattern NESTED = Pattern.compile("\\binterface\\s+(\\w+)[^{]*\\{");

        void configMappings(String java) {
            Matcher m = MAPPING.matcher(java);
            while (m.find()) {
                int open = m.end() - 1;
                Map<String, String> nested = new HashMap<>();
                Matcher n = NESTED.matcher(java);
                while (n.find()) {
                    nested.put(n.group(1), body(java, n.end() - 1));
                }
                mapping(m.group(1), body(java, open), nested, 0);
            }
        }

        private void mapping(String prefix, String body, Map<String, String> nested, int depth) {
            if (depth > 8) {
                return;
            }
            Matcher m = METHOD.matcher(topLevel(body));
            while (m.find()) {
                String annotations = m.group(1);
                String type = m.group(2);
                Matcher withName = Pattern.compile("@(?:[\\w.]+\\.)?WithName\\(\"([^\"]+)\"\\)").matcher(annotations);
                String name = withName.find() ? withName.group(1) : kebab(m.group(3));
                String key = prefix + "." + name;
                String simple = type.replaceAll(".*\\.", "");
                Matcher map = Pattern.compile("(?:[\\w.]*\\.)?Map<\\s*[\\w.]+\\s*,\\s*(?:[\\w.]*\\.)?(\\w+)\\s*>")
                        .matcher(type);
                Matcher optional = Pattern.compile("(?:[\\w.]*\\.)?Optional<\\s*(?:[\\w.]*\\.)?(\\w+)\\s*>")
                        .matcher(type);
                if (map.matches()) {
                    String value = map.group(1);
                    if (nested.containsKey(value)) {
                        mapping(key + ".*", nested.get(value), nested, depth + 1);
                    } else {
                        configKeys.add(key + ".*");
                    }
                } else if (nested.containsKey(simple)) {
                    mapping(key, nested.get(simple), nested, depth + 1);
                } else if (optional.matches() && nested.containsKey(optional.group(1))) {
                    mapping(key, nested.get(optional.group(1)), nested, depth + 1);
                } else {
                    configKeys.add(key);
                    Matcher d = Pattern.compile("@(?:[\\w.]+\\.)?WithDefault\\(\"([^\"]*)\"\\)").matcher(annotations);
                    if (d.find()) {
                        mappingDefaults.computeIfAbsent(key, k -> new TreeSet<>()).add(d.group(1));
                        if (d.group(1).matches("nd\\.[a-z0-9.-]+")) {
                            configValues.add(d.group(1));
                        }
                    }
                }
            }
        }

        void configProperties(String java) {
            Matcher m = Pattern.compile("@(?:[\\w.]+\\.)?ConfigProperty\\(([^)]*)\\)").matcher(java);
            while (m.find()) {
                Matcher name = Pattern.compile("name\\s*=\\s*\"([^\"]+)\"").matcher(m.group(1));
                if (!name.find()) {
                    continue;
                }
                String key = name.group(1);
                (key.startsWith("quarkus.") ? quarkusKeys : configKeys).add(key);
                Matcher def = Pattern.compile("defaultValue\\s*=\\s*\"([^\"]*)\"").matcher(m.group(1));
                if (def.find()) {
                    mappingDefaults.computeIfAbsent(key, k -> new TreeSet<>()).add(def.group(1));
                    if (def.group(1).matches("nd\\.[a-z0-9.-]+")) {
                        configValues.add(def.group(1));
                    }
                }
            }
            Matcher lookup = Pattern.compile("get(?:Optional)?Value\\(\\s*\"([^\"]+)\"").matcher(java);
            while (lookup.find()) {
                (lookup.group(1).startsWith("quarkus.") ? quarkusKeys : configKeys).add(lookup.group(1));
            }
        }

        void systemProperties(String java) {
            Matcher m = Pattern.compile("(?:getProperty|getInteger|getLong|getBoolean)\\(\\s*\"(nd\\.[^\"]+)\"")
                    .matcher(java);
            while (m.find()) {
                configKeys.add(m.group(1));
            }
        }

        /** Deprecated keys a configuration interceptor still reads (the string keys of its DEPRECATED map). */
        void deprecatedAliases(String java) {
            if (!java.contains("implements ConfigSourceInterceptor")) {
                return;
            }
            Matcher m = Pattern.compile("\"(nd\\.[a-z0-9.-]+)\"").matcher(java);
            while (m.find()) {
                configKeys.add(m.group(1));
            }
        }

        // ---------------------------------------------------------------- metrics

        // a registry's own shortcuts (registry.counter("nd.…")) and helpers that take the registry first
        // (Meters.counter(registry, "nd.…", …)) as well as the builders
        private static final Pattern METER = Pattern.compile("(?:\\b(FunctionCounter|Counter|MultiGauge|TimeGauge"
                + "|Gauge|LongTaskTimer|Timer|DistributionSummary)\\s*\\.\\s*builder|\\.\\s*(counter|gauge|timer"
                + "|summary))\\(\\s*(?:\\w+\\s*,\\s*)?\"(nd\\.[^\"]+)\"");

        void meters(String java) {
            Matcher m = METER.matcher(java);
            while (m.find()) {
                String kind = (m.group(1) != null ? m.group(1) : m.group(2)).toLowerCase(Locale.ROOT);
                String name = m.group(3);
                meterNames.add(name);
                String base = name.replace('.', '_').replace('-', '_');
                if (kind.endsWith("counter")) {
                    prometheusNames.add(base.endsWith("_total") ? base : base + "_total");
                } else if (kind.endsWith("timer")) {
                    for (String suffix : List.of("", "_count", "_sum", "_max", "_bucket", "_active_count",
                            "_duration_sum")) {
                        prometheusNames.add(base + "_seconds" + suffix);
                    }
                } else if (kind.equals("distributionsummary") || kind.equals("summary")) {
                    for (String suffix : List.of("", "_count", "_sum", "_max", "_bucket")) {
                        prometheusNames.add(base + suffix);
                    }
                } else {
                    prometheusNames.add(base);
                }
            }
        }

        void mainStrings(String java) {
            Matcher m = Pattern.compile("\"(nd_\\w+)\"").matcher(java);
            while (m.find()) {
                ndIdentifiers.add(m.group(1));
            }
        }

        // ---------------------------------------------------------------- JAX-RS, WebSocket, routes; proto

        private static final Pattern PATH_ANNOTATION = Pattern.compile(
                "@(?:jakarta\\.ws\\.rs\\.)?Path\\(\\s*\"([^\"]*)\"");
        private static final Pattern HTTP_METHOD = Pattern.compile(
                "@(?:jakarta\\.ws\\.rs\\.)?(GET|POST|PUT|DELETE|PATCH|HEAD)\\b(?!\\()");
        private static final Pattern SOCKET = Pattern.compile(
                "@(?:[\\w.]+\\.)?WebSocket\\([^)]*path\\s*=\\s*\"([^\"]*)\"");
        private static final Pattern ROUTE = Pattern.compile("@(?:[\\w.]+\\.)?Route\\([^)]*path\\s*=\\s*\"([^\"]*)\"");
        private static final Pattern CLASS = Pattern.compile("\\b(?:class|interface|record|enum)\\s+\\w+");
        private static final Pattern METHOD_DECLARATION = Pattern.compile(
                "^\\s*(?:(?:public|protected|private|static|final|synchronized|default)\\s+)*"
                        + "(?:<[^>]+>\\s*)?[\\w.<>\\[\\], ?]+\\s+\\w+\\s*\\(");

        void resources(String java) {
            if (!java.contains("@Path") && !java.contains("@jakarta.ws.rs.Path") && !java.contains("WebSocket(")
                    && !java.contains("Route(")) {
                return;
            }
            String classPath = "";
            String pendingPath = null;
            String pendingMethod = null;
            for (String line : java.split("\n")) {
                Matcher socket = SOCKET.matcher(line);
                if (socket.find()) {
                    path("WS", socket.group(1));
                }
                Matcher route = ROUTE.matcher(line);
                if (route.find()) {
                    path("ANY", route.group(1));
                }
                Matcher p = PATH_ANNOTATION.matcher(line);
                if (p.find()) {
                    pendingPath = p.group(1);
                }
                Matcher h = HTTP_METHOD.matcher(line);
                if (h.find()) {
                    pendingMethod = h.group(1);
                }
                String rest = line.replaceAll("@[\\w.]+(\\([^)]*\\))?", "").strip();
                if (rest.isEmpty()) {
                    continue;
                }
                if (CLASS.matcher(rest).find() && !rest.contains("(")) {
                    classPath = pendingPath == null ? "" : pendingPath;
                    pendingPath = null;
                    pendingMethod = null;
                } else if (rest.contains("(") && METHOD_DECLARATION.matcher(rest).find() && !rest.startsWith("return")
                        && !rest.startsWith("new ")) {
                    if (pendingMethod != null || pendingPath != null) {
                        path(pendingMethod == null ? "ANY" : pendingMethod,
                                classPath + "/" + (pendingPath == null ? "" : pendingPath));
                    }
                    pendingPath = null;
                    pendingMethod = null;
                }
            }
        }

        void proto(String proto) {
            String service = null;
            int depth = 0;
            int serviceDepth = -1;
            for (String line : proto.split("\n")) {
                Matcher s = Pattern.compile("^\\s*service\\s+(\\w+)").matcher(line);
                if (s.find()) {
                    service = s.group(1);
                    serviceDepth = depth;
                    protoTypes.add(service);
                    rpcsByService.putIfAbsent(service, new TreeSet<>());
                }
                Matcher t = Pattern.compile("^\\s*(?:message|enum)\\s+(\\w+)").matcher(line);
                if (t.find()) {
                    protoTypes.add(t.group(1));
                }
                Matcher r = Pattern.compile("^\\s*rpc\\s+(\\w+)\\s*\\(").matcher(line);
                if (r.find()) {
                    rpcs.add(r.group(1));
                    if (service != null) {
                        rpcsByService.get(service).add(r.group(1));
                    }
                }
                Matcher http = Pattern.compile("\\b(get|post|put|delete|patch)\\s*:\\s*\"([^\"]+)\"").matcher(line);
                while (http.find()) {
                    path(http.group(1).toUpperCase(Locale.ROOT), http.group(2));
                }
                for (char c : line.toCharArray()) {
                    if (c == '{') {
                        depth++;
                    } else if (c == '}') {
                        depth--;
                        if (depth == serviceDepth) {
                            service = null;
                            serviceDepth = -1;
                        }
                    }
                }
            }
        }

        private void path(String method, String path) {
            String normalized = normalizePath(path);
            paths.add(normalized);
            methodPaths.add(method + " " + normalized);
        }

        static String normalizePath(String path) {
            String p = ("/" + path).replaceAll("/+", "/").replaceAll("\\{[^}]*\\}", "{}");
            return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
        }

        // ---------------------------------------------------------------- types, environment

        void javaTypes(String java) {
            Matcher m = Pattern.compile("\\b(?:class|interface|enum|record)\\s+([A-Z]\\w*)").matcher(java);
            while (m.find()) {
                javaTypes.add(m.group(1));
            }
        }

        void environmentWords(String text) {
            Matcher m = Pattern.compile("\\b(?:ND|QUARKUS)_[A-Z0-9_]*[A-Z0-9]\\b").matcher(text);
            while (m.find()) {
                environment.add(m.group());
            }
        }

        // ---------------------------------------------------------------- Java text

        /** The text between the brace at {@code open} and its match. */
        private static String body(String text, int open) {
            int depth = 0;
            for (int i = open; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '{') {
                    depth++;
                } else if (c == '}' && --depth == 0) {
                    return text.substring(open + 1, i);
                }
            }
            return text.substring(open + 1);
        }

        /** A body with its nested bodies blanked out. */
        private static String topLevel(String body) {
            StringBuilder out = new StringBuilder();
            int depth = 0;
            for (char c : body.toCharArray()) {
                if (c == '{') {
                    depth++;
                } else if (c == '}') {
                    depth--;
                    out.append(';');
                } else if (depth == 0) {
                    out.append(c);
                }
            }
            return out.toString();
        }

        private static String kebab(String method) {
            StringBuilder out = new StringBuilder();
            for (char c : method.toCharArray()) {
                if (Character.isUpperCase(c)) {
                    out.append('-').append(Character.toLowerCase(c));
                } else {
                    out.append(c);
                }
            }
            return out.toString();
        }

        /** Java or proto text without comments; string literals kept (a URL's {@code //} is no comment). */
        static String stripComments(String text) {
            StringBuilder out = new StringBuilder(text.length());
            int i = 0;
            while (i < text.length()) {
                char c = text.charAt(i);
                if (c == '"' || c == '\'') {
                    int j = i + 1;
                    while (j < text.length() && text.charAt(j) != c && text.charAt(j) != '\n') {
                        j += text.charAt(j) == '\\' ? 2 : 1;
                    }
                    j = Math.min(j + 1, text.length());
                    out.append(text, i, j);
                    i = j;
                } else if (text.startsWith("//", i)) {
                    int end = text.indexOf('\n', i);
                    i = end < 0 ? text.length() : end;
                } else if (text.startsWith("/*", i)) {
                    int end = text.indexOf("*/", i + 2);
                    String comment = text.substring(i, end < 0 ? text.length() : end + 2);
                    out.append(comment.replaceAll("[^\n]", "")); // keep the line count
                    i = end < 0 ? text.length() : end + 2;
                } else {
                    out.append(c);
                    i++;
                }
            }
            return out.toString();
        }
    }
}
