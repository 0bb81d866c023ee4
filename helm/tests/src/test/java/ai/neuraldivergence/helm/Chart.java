package ai.neuraldivergence.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** The chart in helm/neuraldivergence, rendered by Helm (as a library) and parsed as Kubernetes objects. */
final class Chart {

    static final Path DIR = Path.of(System.getProperty("nd.chart.dir", "../neuraldivergence")).toAbsolutePath()
            .normalize();
    static final String RELEASE = "nd";
    static final String NAMESPACE = "observability";

    /**
     * The least an installation against external Kafka and PostgreSQL must say: where they are, the owner's and the
     * comparison service's database users, and the API tokens.
     */
    static final String EXTERNAL = """
            kafka:
              bootstrapServers: kafka-0.kafka.data:9092,kafka-1.kafka.data:9092
            postgresql:
              jdbcUrl: jdbc:postgresql://pg.data:5432/neuraldivergence
              existingSecret: nd-database
              comparison:
                existingSecret: nd-database-comparison
            auth:
              existingSecret: nd-api-tokens
            """;

    /**
     * Evaluation mode: Kafka and PostgreSQL inside the release (the database credentials still from Secrets), no API
     * tokens.
     */
    static final String EVALUATION = """
            kafka:
              evaluation:
                enabled: true
            postgresql:
              existingSecret: nd-database
              comparison:
                existingSecret: nd-database-comparison
              evaluation:
                enabled: true
            """;

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private Chart() {
    }

    /** The objects {@code helm template} renders with these values files (YAML texts, later ones win). */
    static Rendered render(String... values) {
        return renderAs(RELEASE, values);
    }

    /** {@link #render} under another release name. */
    static Rendered renderAs(String release, String... values) {
        String yaml = template(release, values);
        List<HasMetadata> objects = new ArrayList<>();
        for (String doc : yaml.split("(?m)^---\\s*$")) {
            boolean empty = doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"));
            if (!empty) {
                objects.add(SERIALIZATION.unmarshal(doc));
            }
        }
        return new Rendered(objects, yaml);
    }

    /** The message with which Helm refuses these values (schema, a required value, the chart's own checks). */
    static String refusal(String... values) {
        try {
            template(RELEASE, values);
        } catch (RuntimeException e) {
            return String.valueOf(e.getMessage());
        }
        throw new AssertionError("Helm rendered the chart with values it should refuse:\n" + String.join("\n", values));
    }

    /** What {@code helm install} prints after installing with these values (NOTES.txt), from a client-only dry run. */
    static String notes(String... values) {
        return withValues(new Helm(DIR).install().withName(RELEASE).withNamespace(NAMESPACE)
                .withKubeVersion("1.27.0").dryRun().clientOnly(), com.marcnuri.helm.InstallCommand::withValuesFile,
                command -> command.call().getOutput(), values);
    }

    private static String template(String release, String... values) {
        // the oldest Kubernetes the chart is for: gRPC probes are GA from 1.27
        return withValues(new Helm(DIR).template().withName(release).withNamespace(NAMESPACE)
                .withKubeVersion("1.27.0"), TemplateCommand::withValuesFile, TemplateCommand::call, values);
    }

    /** Runs a Helm command with each of {@code values} in a values file of its own, deleted afterwards. */
    private static <C> String withValues(C command, java.util.function.BiFunction<C, Path, C> withValuesFile,
            java.util.function.Function<C, String> call, String... values) {
        List<Path> files = new ArrayList<>();
        try {
            for (String v : values) {
                Path file = Files.createTempFile("nd-values", ".yaml");
                files.add(file);
                Files.writeString(file, v);
                command = withValuesFile.apply(command, file);
            }
            return call.apply(command);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            files.forEach(f -> f.toFile().delete());
        }
    }

    /** What one rendering produced. */
    record Rendered(List<HasMetadata> objects, String yaml) {

        <T extends HasMetadata> List<T> all(Class<T> type) {
            return objects.stream().filter(type::isInstance).map(type::cast).toList();
        }

        List<HasMetadata> kind(String kind) {
            return objects.stream().filter(o -> o.getKind().equals(kind)).toList();
        }

        <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
            return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
        }

        <T extends HasMetadata> T get(Class<T> type, String name) {
            return find(type, name).orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name
                    + " among " + objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList()));
        }

        /** Every workload's pod spec, named kind/name. */
        List<Workload> workloads() {
            List<Workload> out = new ArrayList<>();
            for (Deployment d : all(Deployment.class)) {
                out.add(new Workload("Deployment/" + d.getMetadata().getName(), d.getSpec().getTemplate().getSpec()));
            }
            for (StatefulSet s : all(StatefulSet.class)) {
                out.add(new Workload("StatefulSet/" + s.getMetadata().getName(),
                        s.getSpec().getTemplate().getSpec()));
            }
            return out;
        }
    }

    record Workload(String name, PodSpec pod) {

        Stream<Container> allContainers() {
            return Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream());
        }

        Container container(String name) {
            return pod.getContainers().stream().filter(c -> c.getName().equals(name)).findFirst()
                    .orElseThrow(() -> new AssertionError("no container " + name + " in " + this.name));
        }
    }
}
