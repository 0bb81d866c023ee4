package ai.neuraldivergence.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The chart rendered with the value sets users install with (external infrastructure, evaluation mode, everything
 * on) and refused with values it must not accept; every manifest parsed as a Kubernetes object.
 */
class ChartTest {

    private static final String EVERYTHING = """
            global:
              networkPolicy:
                clients:
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}
                prometheus:
                  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
              imagePullSecrets: [registry-credentials]
            kafka:
              existingSecret: nd-kafka-client
            auth:
              existingSecret: nd-api-tokens
            model:
              source: url
              url:
                href: https://models.example/mnist-cnn.tar.gz
                sha256: 3f1e0c8a5b7d9e2f4a6c8b0d1e3f5a7c9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e
            comparison:
              uiInferenceUrl: https://inference.example
              monitors:
                digits:
                  model: mnist-cnn
                  tap: "*"
                  threshold: 0.15
            inference:
              uiOrigins: [https://nd.example]
            monitoring:
              serviceMonitor: {enabled: true, labels: {release: prometheus}}
              prometheusRule: {enabled: true}
            """;

    private static final List<String> PARTS = List.of("inference", "aggregator", "comparison");

    private static String name(String part) {
        return "nd-neuraldivergence-" + part;
    }

    private static List<Chart.Rendered> valueSets() {
        return List.of(Chart.render(Chart.EXTERNAL), Chart.render(Chart.EVALUATION),
                Chart.render(Chart.EVALUATION, EVERYTHING));
    }

    @Test
    void helmLintPassesWithAnExternalConfiguration() throws IOException {
        // lint reads the chart's own values.yaml: a copy with the five values an external install must give
        Path copy = Path.of("target", "lint", "neuraldivergence");
        copyTree(Chart.DIR, copy);
        List<String> lines = new ArrayList<>();
        String section = "";
        for (String line : Files.readAllLines(copy.resolve("values.yaml"))) {
            if (line.matches("^[a-z]\\w*:.*")) {
                section = line.substring(0, line.indexOf(':'));
            }
            if (section.equals("kafka") && line.equals("  bootstrapServers: \"\"")) {
                line = "  bootstrapServers: kafka:9092";
            } else if (section.equals("postgresql") && line.equals("  jdbcUrl: \"\"")) {
                line = "  jdbcUrl: jdbc:postgresql://pg:5432/neuraldivergence";
            } else if (section.equals("postgresql") && line.equals("  existingSecret: \"\"")) {
                line = "  existingSecret: nd-database";
            } else if (section.equals("postgresql") && line.equals("    existingSecret: \"\"")) {
                line = "    existingSecret: nd-database-comparison";
            } else if (section.equals("auth") && line.equals("  existingSecret: \"\"")) {
                line = "  existingSecret: nd-api-tokens";
            }
            lines.add(line);
        }
        Files.write(copy.resolve("values.yaml"), lines);
        LintResult lint = new Helm(copy).lint().strict().call();
        assertFalse(lint.isFailed(), String.join("\n", lint.getMessages()));
    }

    @Test
    void externalKafkaAndPostgreSqlAreTheDefaultAndMustBeNamed() {
        // the Secrets given, so that the addresses are what is missing
        String secrets = "postgresql: {existingSecret: d, comparison: {existingSecret: c}}\nauth: {existingSecret: t}";
        assertTrue(Chart.refusal(secrets).contains("kafka.bootstrapServers is required"), Chart.refusal(secrets));
        String noUrl = Chart.refusal(secrets, "kafka: {bootstrapServers: 'k:9092'}");
        assertTrue(noUrl.contains("postgresql.jdbcUrl is required"), noUrl);
        Chart.Rendered external = Chart.render(Chart.EXTERNAL);
        assertTrue(external.all(io.fabric8.kubernetes.api.model.apps.StatefulSet.class).isEmpty(),
                "no in-chart Kafka or PostgreSQL by default");
        Container aggregator = workload(external, "aggregator").container("aggregator");
        assertEquals("kafka-0.kafka.data:9092,kafka-1.kafka.data:9092", env(aggregator, "KAFKA_BOOTSTRAP_SERVERS"));
        assertEquals("jdbc:postgresql://pg.data:5432/neuraldivergence", env(aggregator, "QUARKUS_DATASOURCE_JDBC_URL"));
        assertEquals("nd-database", aggregator.getEnv().stream().filter(e -> e.getName()
                .equals("QUARKUS_DATASOURCE_PASSWORD")).findFirst().orElseThrow().getValueFrom().getSecretKeyRef()
                .getName());
    }

    @Test
    void eachPartMayConnectToKafkaAsAPrincipalOfItsOwn() {
        // inference faces clients: with a principal of its own, the brokers' ACLs keep it from writing seals
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, """
                kafka:
                  existingSecret: nd-kafka-shared
                  inference:
                    existingSecret: nd-kafka-inference
                  comparison:
                    existingSecret: nd-kafka-comparison
                """);
        assertEquals(List.of("nd-kafka-inference"), kafkaSecrets(r, "inference"));
        assertEquals(List.of("nd-kafka-shared"), kafkaSecrets(r, "aggregator"), "the shared one where none is named");
        assertEquals(List.of("nd-kafka-comparison"), kafkaSecrets(r, "comparison"));
        Chart.Rendered shared = Chart.render(Chart.EXTERNAL, "kafka: {existingSecret: nd-kafka-shared}");
        for (String part : List.of("inference", "aggregator", "comparison")) {
            assertEquals(List.of("nd-kafka-shared"), kafkaSecrets(shared, part), part);
        }
        assertTrue(kafkaSecrets(Chart.render(Chart.EXTERNAL), "inference").isEmpty(), "none: plaintext");
    }

    private static List<String> kafkaSecrets(Chart.Rendered r, String part) {
        return workload(r, part).container(part).getEnvFrom().stream().filter(e -> e.getSecretRef() != null)
                .map(e -> e.getSecretRef().getName()).toList();
    }

    @Test
    void everyContainerRunsAsNonRootOnAReadOnlyFilesystemWithLimits() {
        for (Chart.Rendered r : valueSets()) {
            assertFalse(r.workloads().isEmpty());
            for (Chart.Workload w : r.workloads()) {
                var pod = w.pod().getSecurityContext();
                assertEquals(Boolean.TRUE, pod.getRunAsNonRoot(), w.name());
                assertTrue(pod.getRunAsUser() != null && pod.getRunAsUser() > 0, w.name());
                assertEquals("RuntimeDefault", pod.getSeccompProfile().getType(), w.name());
                assertEquals(Boolean.FALSE, w.pod().getAutomountServiceAccountToken(), w.name());
                w.allContainers().forEach(c -> {
                    String where = w.name() + " container " + c.getName();
                    var sc = c.getSecurityContext();
                    assertNotNull(sc, where);
                    assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), where);
                    assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), where);
                    assertEquals(Boolean.TRUE, sc.getRunAsNonRoot(), where);
                    assertTrue(sc.getCapabilities().getDrop().contains("ALL"), where);
                    assertTrue(sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(), where);
                    Map<String, Quantity> limits = c.getResources().getLimits();
                    assertTrue(limits != null && limits.containsKey("cpu") && limits.containsKey("memory"), where);
                    assertTrue(c.getResources().getRequests().containsKey("memory"), where);
                });
                // the only writable place of the chart's own services is a size-limited /tmp
                Volume tmp = w.pod().getVolumes().stream().filter(v -> v.getName().equals("tmp")).findFirst()
                        .orElseThrow(() -> new AssertionError(w.name() + " has no /tmp volume"));
                assertNotNull(tmp.getEmptyDir().getSizeLimit(), w.name());
            }
        }
    }

    @Test
    void servicesHaveHealthProbesOnTheManagementPortAndTheComparisonServiceAGrpcOne() {
        Chart.Rendered r = Chart.render(Chart.EVALUATION);
        for (String part : PARTS) {
            Container c = workload(r, part).container(part);
            assertEquals("/q/health/ready", c.getReadinessProbe().getHttpGet().getPath(), part);
            assertEquals("/q/health/started", c.getStartupProbe().getHttpGet().getPath(), part);
            assertEquals("management", c.getReadinessProbe().getHttpGet().getPort().getStrVal(), part);
            assertEquals("management", c.getStartupProbe().getHttpGet().getPort().getStrVal(), part);
            if (part.equals("comparison")) {
                // gRPC health is part of the gRPC API: on the API port
                assertEquals(8082, c.getLivenessProbe().getGrpc().getPort());
            } else {
                assertEquals("/q/health/live", c.getLivenessProbe().getHttpGet().getPath(), part);
                assertEquals("management", c.getLivenessProbe().getHttpGet().getPort().getStrVal(), part);
            }
        }
        for (Chart.Workload w : r.workloads()) {
            for (Container c : w.pod().getContainers()) {
                assertNotNull(c.getReadinessProbe(), w.name());
                assertNotNull(c.getLivenessProbe(), w.name());
            }
        }
        // the aggregator's start includes the schema's migrations: 30 minutes, not the two others get; and its
        // upgrade stops the old aggregators before the new ones migrate (docs/operations.md, "Upgrading")
        Container aggregator = workload(r, "aggregator").container("aggregator");
        assertEquals(1800, aggregator.getStartupProbe().getPeriodSeconds()
                * aggregator.getStartupProbe().getFailureThreshold());
        assertEquals("Recreate", r.get(Deployment.class, name("aggregator")).getSpec().getStrategy().getType());
    }

    /**
     * A rolling update loses no call (GracefulShutdownTest shows the service side): each API service is told its
     * shutdown delay and timeout, and Kubernetes waits for both before it kills the pod.
     */
    @Test
    void apiServicesFinishTheirCallsBeforeKubernetesKillsThem() {
        for (Chart.Rendered r : List.of(Chart.render(Chart.EXTERNAL), Chart.render(Chart.EXTERNAL, """
                comparison:
                  shutdown: {delaySeconds: 10, timeoutSeconds: 120}
                """))) {
            for (String part : List.of("inference", "comparison")) {
                String properties = r.get(ConfigMap.class, name(part)).getData().get("application.properties");
                long delay = seconds(properties, "quarkus.shutdown.delay");
                long timeout = seconds(properties, "quarkus.shutdown.timeout");
                assertTrue(delay > 0 && timeout > 0, part + ": " + properties);
                assertEquals(delay + timeout + 15, r.get(Deployment.class, name(part)).getSpec().getTemplate()
                        .getSpec().getTerminationGracePeriodSeconds(), part);
            }
        }
        assertEquals(145, Chart.render(Chart.EXTERNAL, """
                comparison:
                  shutdown: {delaySeconds: 10, timeoutSeconds: 120}
                """).get(Deployment.class, name("comparison")).getSpec().getTemplate().getSpec()
                .getTerminationGracePeriodSeconds());
        String refused = Chart.refusal(Chart.EXTERNAL, """
                inference:
                  shutdown: {delaySeconds: 5, timeoutSeconds: 0}
                """);
        assertTrue(refused.contains("timeoutSeconds"), refused);
    }

    /** One node or zone going down takes no part down whole: replicas are spread where the scheduler can. */
    @Test
    void eachPartsReplicasAreSpreadOverNodesAndZones() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL);
        for (String part : PARTS) {
            var constraints = workload(r, part).pod().getTopologySpreadConstraints();
            assertEquals(List.of("kubernetes.io/hostname", "topology.kubernetes.io/zone"), constraints.stream()
                    .map(c -> c.getTopologyKey()).toList(), part);
            for (var c : constraints) {
                // soft: a cluster of one node or one zone still schedules every replica
                assertEquals("ScheduleAnyway", c.getWhenUnsatisfiable(), part);
                assertEquals(r.get(Deployment.class, name(part)).getSpec().getSelector().getMatchLabels(),
                        c.getLabelSelector().getMatchLabels(), part + ": counts this part's pods only");
            }
        }
        Chart.Rendered off = Chart.render(Chart.EXTERNAL, "global: {spreadReplicas: false}");
        for (String part : PARTS) {
            assertTrue(workload(off, part).pod().getTopologySpreadConstraints().isEmpty(), part);
        }
    }

    /** {@code key=<n>s} of a rendered properties file, in seconds. */
    private static long seconds(String properties, String key) {
        return properties.lines().filter(l -> l.startsWith(key + "=")).findFirst()
                .map(l -> Long.parseLong(l.substring(key.length() + 1, l.length() - 1)))
                .orElseThrow(() -> new AssertionError(key + " is not set: " + properties));
    }

    @Test
    void inferenceKeepsASmallFixedHeapAndRoomForNativeMemory() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL);
        Container inference = workload(r, "inference").container("inference");
        assertTrue(env(inference, "JAVA_TOOL_OPTIONS").contains("-Xmx256m"), env(inference, "JAVA_TOOL_OPTIONS"));
        assertEquals(new Quantity("1536Mi"), inference.getResources().getLimits().get("memory"));
        for (String part : List.of("aggregator", "comparison")) {
            assertTrue(env(workload(r, part).container(part), "JAVA_TOOL_OPTIONS")
                    .contains("-XX:MaxRAMPercentage=50"), part);
        }
        String refused = Chart.refusal(Chart.EXTERNAL, """
                inference:
                  heap: 512Mi
                  resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: "2", memory: 1Gi}}
                """);
        assertTrue(refused.contains("must be at least inference.heap + 768Mi (1280Mi)"), refused);
        Chart.render(Chart.EXTERNAL, """
                inference:
                  heap: 512Mi
                  resources: {requests: {cpu: 500m, memory: 1Gi}, limits: {cpu: "2", memory: 1280Mi}}
                """);
    }

    @Test
    void networkPoliciesAllowExactlyTheIntendedFlows() {
        Chart.Rendered r = Chart.render(Chart.EVALUATION);
        NetworkPolicy deny = r.get(NetworkPolicy.class, "nd-neuraldivergence-deny-all");
        assertEquals(List.of("Ingress", "Egress"), deny.getSpec().getPolicyTypes());
        assertTrue(deny.getSpec().getIngress().isEmpty() && deny.getSpec().getEgress().isEmpty());
        assertEquals(Map.of("app.kubernetes.io/instance", "nd", "app.kubernetes.io/name", "neuraldivergence"),
                deny.getSpec().getPodSelector().getMatchLabels());

        // evaluation mode: clients and Prometheus from the release's namespace, each to its own port
        Set<String> dns = Set.of("dns:53/UDP", "dns:53/TCP");
        assertEquals(Set.of("namespace:8080/TCP", "namespace:9080/TCP"), ingress(r, "inference"));
        assertEquals(union(dns, Set.of("kafka:9092/TCP")), egress(r, "inference"));
        assertEquals(Set.of("namespace:9081/TCP"), ingress(r, "aggregator"), "only Prometheus, on metrics");
        assertEquals(union(dns, Set.of("kafka:9092/TCP", "postgresql:5432/TCP")), egress(r, "aggregator"));
        assertEquals(Set.of("namespace:8082/TCP", "namespace:9082/TCP"), ingress(r, "comparison"));
        assertEquals(union(dns, Set.of("kafka:9092/TCP", "postgresql:5432/TCP")), egress(r, "comparison"));
        assertEquals(Set.of("inference:9092/TCP", "aggregator:9092/TCP", "comparison:9092/TCP"), ingress(r, "kafka"));
        assertEquals(dns, egress(r, "kafka"));
        assertEquals(Set.of("aggregator:5432/TCP", "comparison:5432/TCP"), ingress(r, "postgresql"));
        assertEquals(dns, egress(r, "postgresql"));

        // named clients and Prometheus, external infrastructure in known networks, a model downloaded at start
        Chart.Rendered everything = Chart.render(Chart.EXTERNAL, EVERYTHING, """
                global:
                  networkPolicy:
                    kafkaPeers: [{ipBlock: {cidr: 10.20.0.0/16}}]
                    postgresqlPeers: [{ipBlock: {cidr: 10.30.0.0/16}}]
                """);
        // clients to the API ports only, Prometheus to the management ports only
        assertEquals(Set.of("ns=ingress-nginx:8082/TCP", "ns=monitoring:9082/TCP"), ingress(everything, "comparison"));
        assertEquals(Set.of("ns=ingress-nginx:8080/TCP", "ns=monitoring:9080/TCP"), ingress(everything, "inference"));
        assertEquals(Set.of("ns=monitoring:9081/TCP"), ingress(everything, "aggregator"));
        assertEquals(union(dns, Set.of("10.20.0.0/16:9092/TCP", "10.30.0.0/16:5432/TCP")),
                egress(everything, "aggregator"));
        assertEquals(union(dns, Set.of("10.20.0.0/16:9092/TCP", "any:443/TCP", "any:80/TCP")),
                egress(everything, "inference"), "the model download");
        assertTrue(Chart.render(Chart.EXTERNAL, "global: {networkPolicy: {enabled: false}}")
                .all(NetworkPolicy.class).isEmpty());
    }

    @Test
    void outsideEvaluationModeEmptyPeersAdmitNobody() {
        // external infrastructure, no clients or Prometheus named: no ingress to any part, on any port
        Chart.Rendered r = Chart.render(Chart.EXTERNAL);
        for (String part : PARTS) {
            assertEquals(Set.of(), ingress(r, part), part);
        }
        // clients named, Prometheus not: the clients reach the API ports and nothing else
        Chart.Rendered clients = Chart.render(Chart.EXTERNAL, """
                global: {networkPolicy: {clients: [{podSelector: {matchLabels: {neuraldivergence-client: "true"}}}]}}
                """);
        assertEquals(Set.of("pods{neuraldivergence-client=true}:8080/TCP"), ingress(clients, "inference"));
        assertEquals(Set.of("pods{neuraldivergence-client=true}:8082/TCP"), ingress(clients, "comparison"));
        assertEquals(Set.of(), ingress(clients, "aggregator"));
        // one in-chart part is not evaluation mode: the release still touches outside infrastructure
        Chart.Rendered halfway = Chart.render(Chart.EXTERNAL, "kafka: {evaluation: {enabled: true}}");
        assertEquals(Set.of(), ingress(halfway, "comparison"));

        // a ServiceMonitor that Prometheus could not scrape is refused, with what to set
        String refused = Chart.refusal(Chart.EXTERNAL, "monitoring: {serviceMonitor: {enabled: true}}");
        assertTrue(refused.contains("monitoring.serviceMonitor.enabled needs global.networkPolicy.prometheus"),
                refused);
        assertTrue(refused.contains("global.networkPolicy.prometheus=[{"), refused);
        Chart.render(Chart.EVALUATION, "monitoring: {serviceMonitor: {enabled: true}}");
    }

    @Test
    void notesTellHowToAdmitClientsWhenNoneAre() {
        String none = Chart.notes(Chart.EXTERNAL);
        assertTrue(none.contains("NO CLIENT IS ADMITTED"), none);
        assertTrue(none.contains("global.networkPolicy.clients=[{\"namespaceSelector\""), none);
        assertTrue(none.contains("kubectl -n observability port-forward svc/nd-neuraldivergence-comparison"), none);
        assertTrue(none.contains("API tokens come from Secret nd-api-tokens"), none);
        String named = Chart.notes(Chart.EXTERNAL, EVERYTHING);
        assertFalse(named.contains("NO CLIENT IS ADMITTED"), named);
        assertTrue(named.contains("from global.networkPolicy.clients only"), named);
        String evaluation = Chart.notes(Chart.EVALUATION);
        assertTrue(evaluation.contains("pods of namespace observability (evaluation mode"), evaluation);
        assertTrue(evaluation.contains("WARNING: evaluation mode without auth.existingSecret"), evaluation);
    }

    @Test
    void apiTokensAreRequiredOutsideEvaluationMode() {
        String external = Chart.EXTERNAL.replace("auth:\n  existingSecret: nd-api-tokens\n", "");
        String refused = Chart.refusal(external);
        assertTrue(refused.contains("auth.existingSecret is required outside evaluation mode"), refused);
        assertTrue(refused.contains("kubectl -n observability create secret generic nd-api-tokens "
                + "--from-literal=comparison=\"$(openssl rand -hex 24)\" "
                + "--from-literal=inference=\"$(openssl rand -hex 24)\""), refused);
        // an in-chart Kafka beside an external PostgreSQL is not evaluation mode
        String halfway = Chart.refusal(external, "kafka: {evaluation: {enabled: true}}");
        assertTrue(halfway.contains("auth.existingSecret is required"), halfway);
        // the key of charts before inference had tokens is explained, not silently ignored
        String renamed = Chart.refusal(Chart.EXTERNAL, "auth: {key: tokens}");
        assertTrue(renamed.contains("auth.key is gone"), renamed);

        // evaluation mode may run without them: neither service then gets a token variable
        Chart.Rendered evaluation = Chart.render(Chart.EVALUATION);
        assertEquals(null, env(evaluation, "comparison", "ND_COMPARISON_AUTH_TOKENS"));
        assertEquals(null, env(evaluation, "inference", "ND_INFERENCE_AUTH_TOKENS"));
    }

    @Test
    void modelGrantsReachEachServiceAsOneVariableAndNoneLeavesItUnset() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, "auth: {existingSecret: nd-api-tokens, comparisonModels: "
                + "{team-b: [fraud], team-a: [mnist-cnn, fashion]}, inferenceModels: {team-a: [mnist-cnn]}}");
        assertEquals("team-a=mnist-cnn+fashion,team-b=fraud", env(r, "comparison", "ND_COMPARISON_AUTH_MODELS"));
        assertEquals("team-a=mnist-cnn", env(r, "inference", "ND_INFERENCE_AUTH_MODELS"));
        Chart.Rendered none = Chart.render(Chart.EXTERNAL);
        assertEquals(null, env(none, "comparison", "ND_COMPARISON_AUTH_MODELS"));
        assertEquals(null, env(none, "inference", "ND_INFERENCE_AUTH_MODELS"));
        // a model list that would read as "every model", or a model that would split the entry, is refused
        Chart.refusal(Chart.EXTERNAL, "auth: {existingSecret: t, comparisonModels: {team-a: []}}");
        Chart.refusal(Chart.EXTERNAL, "auth: {existingSecret: t, inferenceModels: {team-a: [\"a,b\"]}}");
    }

    @Test
    void bothServicesReadTheirTokensFromTheSecret() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL);
        assertEquals("nd-api-tokens/comparison", secretKey(r, "comparison", "ND_COMPARISON_AUTH_TOKENS"));
        assertEquals("nd-api-tokens/inference", secretKey(r, "inference", "ND_INFERENCE_AUTH_TOKENS"));
        assertEquals(null, env(r, "aggregator", "ND_COMPARISON_AUTH_TOKENS"), "the aggregator has no API");
        assertEquals(null, env(r, "aggregator", "ND_INFERENCE_AUTH_TOKENS"), "the aggregator has no API");
        for (String part : List.of("inference", "comparison")) {
            EnvVar tokens = workload(r, part).container(part).getEnv().stream()
                    .filter(e -> e.getName().endsWith("_AUTH_TOKENS")).findFirst().orElseThrow();
            assertFalse(Boolean.TRUE.equals(tokens.getValueFrom().getSecretKeyRef().getOptional()),
                    part + ": a missing key must keep the pod from starting, not open its API");
        }
        Chart.Rendered keys = Chart.render(Chart.EXTERNAL,
                "auth: {existingSecret: tokens, comparisonKey: queries, inferenceKey: ingest}");
        assertEquals("tokens/queries", secretKey(keys, "comparison", "ND_COMPARISON_AUTH_TOKENS"));
        assertEquals("tokens/ingest", secretKey(keys, "inference", "ND_INFERENCE_AUTH_TOKENS"));
        // evaluation mode with tokens uses them
        Chart.Rendered evaluation = Chart.render(Chart.EVALUATION, "auth: {existingSecret: nd-api-tokens}");
        assertEquals("nd-api-tokens/inference", secretKey(evaluation, "inference", "ND_INFERENCE_AUTH_TOKENS"));
    }

    @Test
    void healthAndMetricsAreServedOnTheManagementPortOnly() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, EVERYTHING, "inference: {service: {type: LoadBalancer}}");
        Map<String, Integer> management = Map.of("inference", 9080, "aggregator", 9081, "comparison", 9082);
        for (String part : PARTS) {
            int port = management.get(part);
            assertTrue(config(r, part).contains("quarkus.management.port=" + port + "\n"), config(r, part));
            assertEquals(port, workload(r, part).container(part).getPorts().stream()
                    .filter(p -> p.getName().equals("management")).findFirst().orElseThrow().getContainerPort(), part);
            // Prometheus scrapes the management Service, inside the cluster only
            Service service = r.get(Service.class, name(part) + "-management");
            assertEquals("ClusterIP", service.getSpec().getType(), part);
            assertEquals(List.of("management:" + port + "->management"), service.getSpec().getPorts().stream()
                    .map(p -> p.getName() + ":" + p.getPort() + "->" + p.getTargetPort().getStrVal()).toList());
            GenericKubernetesResource monitor = (GenericKubernetesResource) r.kind("ServiceMonitor").stream()
                    .filter(m -> m.getMetadata().getName().equals(name(part))).findFirst().orElseThrow();
            Map<?, ?> endpoint = (Map<?, ?>) ((List<?>) ((Map<?, ?>) monitor.getAdditionalProperties().get("spec"))
                    .get("endpoints")).get(0);
            assertEquals("management", endpoint.get("port"), part);
            assertEquals("/q/metrics", endpoint.get("path"), part);
        }
        // the API Services publish the API and nothing else, whatever their type; the aggregator has no API
        assertEquals(List.of(8080), r.get(Service.class, name("inference")).getSpec().getPorts().stream()
                .map(p -> p.getPort()).toList());
        assertEquals(List.of(8082), r.get(Service.class, name("comparison")).getSpec().getPorts().stream()
                .map(p -> p.getPort()).toList());
        assertTrue(r.find(Service.class, name("aggregator")).isEmpty(), "the aggregator serves no API");
        assertTrue(workload(r, "aggregator").container("aggregator").getPorts().stream()
                .noneMatch(p -> p.getName().equals("http")));
        // the "part down" alert watches the scraped Services
        assertTrue(r.yaml().contains("service=~\"nd-neuraldivergence-(inference|aggregator|comparison)-management\""),
                "NeuralDivergencePartDown");
    }

    @Test
    void theComparisonServiceConnectsAsItsOwnLeastPrivilegedUser() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL);
        assertEquals("nd-database-comparison/username", secretKey(r, "comparison", "QUARKUS_DATASOURCE_USERNAME"));
        assertEquals("nd-database-comparison/password", secretKey(r, "comparison", "QUARKUS_DATASOURCE_PASSWORD"));
        assertEquals("nd-database/username", secretKey(r, "aggregator", "QUARKUS_DATASOURCE_USERNAME"),
                "the aggregator owns the schema");
        Chart.Rendered keys = Chart.render(Chart.EXTERNAL, """
                postgresql: {comparison: {existingSecret: nd-database, usernameKey: reader, passwordKey: reader-pw}}
                """);
        assertEquals("nd-database/reader", secretKey(keys, "comparison", "QUARKUS_DATASOURCE_USERNAME"));
        assertEquals("nd-database/reader-pw", secretKey(keys, "comparison", "QUARKUS_DATASOURCE_PASSWORD"));

        // without its Secret: the SQL an administrator runs, then the Secret to create
        String external = Chart.EXTERNAL.replace("  comparison:\n    existingSecret: nd-database-comparison\n", "");
        String refused = Chart.refusal(external);
        assertTrue(refused.contains("postgresql.comparison.existingSecret is required"), refused);
        assertTrue(refused.contains("DO $$ BEGIN CREATE ROLE nd_comparison NOLOGIN; EXCEPTION WHEN duplicate_object "
                + "THEN NULL; END $$;"), refused);
        assertTrue(refused.contains("CREATE ROLE nd_comparison_login LOGIN PASSWORD '<password>' IN ROLE "
                + "nd_comparison;"), refused);
        assertTrue(refused.contains("kubectl -n observability create secret generic nd-database-comparison "
                + "--from-literal=username=nd_comparison_login"), refused);
        // the owner's user is refused for it
        String owner = Chart.refusal(Chart.EXTERNAL, "postgresql: {comparison: {existingSecret: nd-database}}");
        assertTrue(owner.contains("postgresql.comparison must name a user other than"), owner);

        // evaluation mode requires it too, and the in-chart PostgreSQL creates that user
        String evaluation = Chart.EVALUATION.replace("  comparison:\n    existingSecret: nd-database-comparison\n",
                "");
        String missing = Chart.refusal(evaluation);
        assertTrue(missing.contains("postgresql.comparison.existingSecret is required (evaluation mode too)"), missing);
        assertTrue(missing.contains("--from-literal=password=$(openssl rand -hex 24)"), missing);
        Chart.Rendered inChart = Chart.render(Chart.EVALUATION);
        Chart.Workload postgres = inChart.workloads().stream().filter(w -> w.name().equals(
                "StatefulSet/nd-neuraldivergence-postgresql")).findFirst().orElseThrow();
        Container container = postgres.container("postgresql");
        assertEquals("nd-database-comparison", container.getEnv().stream().filter(e -> e.getName()
                .equals("ND_COMPARISON_PASSWORD")).findFirst().orElseThrow().getValueFrom().getSecretKeyRef()
                .getName());
        assertTrue(container.getVolumeMounts().stream().anyMatch(m -> m.getMountPath()
                .equals("/docker-entrypoint-initdb.d") && m.getName().equals("init")));
        Volume init = postgres.pod().getVolumes().stream().filter(v -> v.getName().equals("init")).findFirst()
                .orElseThrow();
        assertEquals(0555, init.getConfigMap().getDefaultMode(), "run, not sourced");
        String script = inChart.get(ConfigMap.class, init.getConfigMap().getName()).getData()
                .get("comparison-user.sh");
        assertTrue(script.startsWith("#!/bin/sh\n"), script);
        assertTrue(script.contains("SELECT 'CREATE ROLE nd_comparison NOLOGIN'\n  WHERE NOT EXISTS"), script);
        assertTrue(script.contains("CREATE ROLE :\"user\" LOGIN PASSWORD :'password' IN ROLE nd_comparison;"),
                script);

        // the aggregator's user owns the database and is no superuser: the superuser logs in through the pod's
        // socket only (the image's initialisation), and the aggregator connects over the network
        assertEquals("postgres", container.getEnv().stream().filter(e -> e.getName().equals("POSTGRES_USER"))
                .findFirst().orElseThrow().getValue());
        for (String env : List.of("ND_OWNER_USERNAME", "ND_OWNER_PASSWORD")) {
            assertEquals("nd-database", container.getEnv().stream().filter(e -> e.getName().equals(env)).findFirst()
                    .orElseThrow().getValueFrom().getSecretKeyRef().getName(), env);
        }
        assertEquals("nd-database/username", secretKey(inChart, "aggregator", "QUARKUS_DATASOURCE_USERNAME"));
        assertTrue(script.contains("CREATE ROLE :\"owner\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD "
                + ":'owner_password';\nALTER DATABASE :\"database\" OWNER TO :\"owner\";"), script);
        String args = String.join(" ", container.getArgs());
        assertTrue(args.contains("-c hba_file=/etc/nd-postgresql/pg_hba.conf"), args);
        assertTrue(container.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/etc/nd-postgresql")),
                "pg_hba.conf mounted");
        List<String> hba = inChart.get(ConfigMap.class, init.getConfigMap().getName()).getData().get("pg_hba.conf")
                .lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertEquals(List.of("local all all trust", "host all postgres all reject", "host all all all scram-sha-256"),
                hba, "the first matching line decides: no superuser over the network");
        // the init folder holds only the script (the entrypoint would try to run anything else there)
        assertEquals(List.of("comparison-user.sh"), init.getConfigMap().getItems().stream().map(i -> i.getPath())
                .toList());
    }

    @Test
    void egressFollowsTheConfiguredEndpointsAndPeers() {
        Chart.Rendered r = Chart.render("""
                kafka:
                  bootstrapServers: b-1.msk.example:9094,b-2.msk.example:9094
                  extraBrokerPorts: [9096]
                postgresql:
                  jdbcUrl: jdbc:postgresql://pg.example:6432/neuraldivergence?sslmode=require
                  existingSecret: nd-database
                  comparison: {existingSecret: nd-database-comparison}
                auth: {existingSecret: nd-api-tokens}
                model:
                  source: url
                  url: {href: 'https://models.example/m.tar.gz', sha256: %s}
                global:
                  networkPolicy:
                    modelPeers: [{ipBlock: {cidr: 192.0.2.10/32}}]
                    dns:
                      to: [{ipBlock: {cidr: 169.254.20.10/32}}]
                      ports: [53]
                """.formatted("a".repeat(64)));
        Set<String> nodeLocalDns = Set.of("169.254.20.10/32:53/UDP", "169.254.20.10/32:53/TCP");
        assertEquals(union(nodeLocalDns, Set.of("any:9094/TCP", "any:9096/TCP", "any:6432/TCP")),
                egress(r, "aggregator"), "the ports of the connection strings, NodeLocal DNS");
        assertEquals(union(nodeLocalDns, Set.of("any:9094/TCP", "any:9096/TCP", "192.0.2.10/32:443/TCP",
                "192.0.2.10/32:80/TCP")), egress(r, "inference"), "the download only from the model's host");
    }

    @Test
    void disruptionBudgetsNeverBlockADrainAndNamesFitKubernetesLimits() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, "comparison: {replicas: 1}");
        assertEquals(1, r.get(PodDisruptionBudget.class, name("comparison")).getSpec().getMaxUnavailable()
                .getIntVal());
        String blocked = Chart.refusal(Chart.EXTERNAL,
                "comparison: {replicas: 1, podDisruptionBudget: {maxUnavailable: null, minAvailable: 1}}");
        assertTrue(blocked.contains("comparison.podDisruptionBudget.minAvailable (1) must be below its replicas (1)"),
                blocked);
        Chart.render(Chart.EXTERNAL,
                "comparison: {replicas: 3, podDisruptionBudget: {maxUnavailable: null, minAvailable: 2}}");

        // a long release name: StatefulSet names stay within 52 characters (their revision label's limit), every
        // other name (Services: DNS labels) within 63
        String release = "observability-platform-neuraldivergence-production";
        Chart.Rendered evaluation = Chart.renderAs(release, Chart.EVALUATION,
                "monitoring: {serviceMonitor: {enabled: true}}");
        for (HasMetadata o : evaluation.objects()) {
            int limit = o.getKind().equals("StatefulSet") ? 52 : 63;
            assertTrue(o.getMetadata().getName().length() <= limit, o.getKind() + " " + o.getMetadata().getName());
        }
        // numbers Helm would print in exponent form reach Java as integers
        String config = config(Chart.render(Chart.EXTERNAL,
                "comparison: {monitors: {digits: {model: m, minObservations: 1000000}}}"), "comparison");
        assertTrue(config.contains("nd.comparison.monitors.digits.min-observations=1000000\n"), config);
    }

    @Test
    void secretReferencesResolveToRenderedOrDeclaredSecrets() {
        Chart.Rendered external = Chart.render(Chart.EXTERNAL);
        assertEquals(Set.of("nd-database", "nd-database-comparison", "nd-api-tokens"), secretRefs(external));
        assertTrue(external.all(Secret.class).isEmpty(), "the chart creates no Secret for external infrastructure");

        // evaluation mode too: the in-chart PostgreSQL is initialised from the same Secrets the services read
        Chart.Rendered evaluation = Chart.render(Chart.EVALUATION);
        assertEquals(Set.of("nd-database", "nd-database-comparison"), secretRefs(evaluation));
        assertTrue(evaluation.all(Secret.class).isEmpty(), "the chart never generates or stores a password");
        Container postgres = evaluation.workloads().stream().filter(w -> w.name().equals(
                "StatefulSet/nd-neuraldivergence-postgresql")).findFirst().orElseThrow().container("postgresql");
        assertEquals("nd-database", postgres.getEnv().stream().filter(e -> e.getName().equals("POSTGRES_PASSWORD"))
                .findFirst().orElseThrow().getValueFrom().getSecretKeyRef().getName());
        assertTrue(Chart.refusal("kafka: {evaluation: {enabled: true}}\npostgresql: {evaluation: {enabled: true}}")
                .contains("postgresql.existingSecret is required"));

        Chart.Rendered everything = Chart.render(Chart.EVALUATION, EVERYTHING);
        assertEquals(Set.of("nd-database", "nd-database-comparison", "nd-kafka-client", "nd-api-tokens"),
                secretRefs(everything));
    }

    @Test
    void togglesRemoveWhatTheySwitchOff() {
        Chart.Rendered all = Chart.render(Chart.EVALUATION, EVERYTHING);
        assertEquals(3, all.kind("ServiceMonitor").size());
        assertEquals(1, all.kind("PrometheusRule").size());
        assertEquals(1, all.all(HorizontalPodAutoscaler.class).size());
        assertEquals(3, all.all(PodDisruptionBudget.class).size());
        assertEquals(3, all.all(ServiceAccount.class).size());

        Chart.Rendered noInference = Chart.render(Chart.EVALUATION, EVERYTHING, "inference: {enabled: false}");
        List<String> left = noInference.objects().stream().map(o -> o.getKind() + "/" + o.getMetadata().getName())
                .filter(n -> n.contains("inference")).toList();
        assertEquals(List.of(), left);
        assertEquals(2, noInference.kind("ServiceMonitor").size());

        Chart.Rendered plain = Chart.render(Chart.EXTERNAL, """
                inference: {autoscaling: {enabled: false}, podDisruptionBudget: {enabled: false}}
                global: {serviceAccount: {create: false}}
                """);
        assertTrue(plain.kind("ServiceMonitor").isEmpty() && plain.kind("PrometheusRule").isEmpty());
        assertTrue(plain.all(HorizontalPodAutoscaler.class).isEmpty());
        assertEquals(2, plain.get(Deployment.class, name("inference")).getSpec().getReplicas());
        assertTrue(plain.find(PodDisruptionBudget.class, name("inference")).isEmpty());
        assertTrue(plain.all(ServiceAccount.class).isEmpty());
        assertEquals("default", workload(plain, "comparison").pod().getServiceAccountName());
        assertEquals(null, all.get(Deployment.class, name("inference")).getSpec().getReplicas(),
                "the HPA owns the replica count");
    }

    @Test
    void theModelComesFromAnImageAPvcOrAUrl() {
        Chart.Rendered image = Chart.render(Chart.EXTERNAL);
        Chart.Workload inference = workload(image, "inference");
        Container init = inference.pod().getInitContainers().get(0);
        assertEquals("neuraldivergence/nd-model:" + appVersion(), init.getImage());
        assertEquals(List.of("cp", "-R", "/model/.", "/shared/"), init.getCommand(), "saved_model/ and its manifest");
        assertEquals("/shared", init.getVolumeMounts().stream().filter(m -> m.getName().equals("model")).findFirst()
                .orElseThrow().getMountPath(), "the model volume must not hide the image's /model");
        assertTrue(config(image, "inference").contains("nd.model.path=/model/saved_model\n"));

        Chart.Rendered pvc = Chart.render(Chart.EXTERNAL,
                "model: {source: pvc, pvc: {claimName: models, path: mnist/saved_model}}");
        Chart.Workload fromPvc = workload(pvc, "inference");
        assertTrue(fromPvc.pod().getInitContainers().isEmpty());
        Volume model = fromPvc.pod().getVolumes().stream().filter(v -> v.getName().equals("model")).findFirst()
                .orElseThrow();
        assertEquals("models", model.getPersistentVolumeClaim().getClaimName());
        assertEquals(Boolean.TRUE, model.getPersistentVolumeClaim().getReadOnly());
        assertTrue(config(pvc, "inference").contains("nd.model.path=/model/mnist/saved_model\n"));
        assertTrue(fromPvc.container("inference").getVolumeMounts().stream()
                .anyMatch(m -> m.getName().equals("model") && Boolean.TRUE.equals(m.getReadOnly())));

        Chart.Rendered url = Chart.render(Chart.EXTERNAL, EVERYTHING);
        Container download = workload(url, "inference").pod().getInitContainers().get(0);
        assertEquals("https://models.example/mnist-cnn.tar.gz", env(download, "MODEL_URL"));
        assertTrue(download.getCommand().get(2).contains("sha256sum -c"));
        assertTrue(Chart.refusal(Chart.EXTERNAL, "model: {source: url, url: {href: 'https://m.example/m.tgz'}}")
                .contains("model.url.sha256 is required"));
    }

    @Test
    void imagesDefaultToTheChartsAppVersion() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL);
        for (String part : PARTS) {
            assertEquals("neuraldivergence/nd-" + part + ":" + appVersion(), workload(r, part).container(part)
                    .getImage());
        }
        Chart.Rendered pinned = Chart.render(Chart.EXTERNAL,
                "global: {image: {registry: 'registry.example:5000', tag: '1.2.3'}}");
        assertEquals("registry.example:5000/neuraldivergence/nd-comparison:1.2.3",
                workload(pinned, "comparison").container("comparison").getImage());
    }

    @Test
    void monitorsAndTopicsReachTheServicesConfiguration() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, EVERYTHING);
        String comparison = config(r, "comparison");
        assertTrue(comparison.contains("nd.comparison.monitors.digits.model=mnist-cnn\n"), comparison);
        assertTrue(comparison.contains("nd.comparison.monitors.digits.threshold=0.15\n"), comparison);
        assertTrue(comparison.contains("nd.comparison.monitors.digits.windows-in-a-row=2\n"), comparison);
        assertTrue(comparison.contains("nd.comparison.ui.inference-url=https://inference.example\n"), comparison);
        // a calibrated monitor, and a span: the schema refused maxSpan that the template reads, and had no mode
        String calibrated = config(Chart.render(Chart.EXTERNAL, """
                comparison: {monitors: {digits: {model: m, mode: calibrated, minimumEffect: 0, falseAlarmBudget: 2,
                  maxSpan: 30m, metric: mmd, slice: 'tag:region=eu'}}}"""), "comparison");
        for (String line : List.of("mode=calibrated\n", "minimum-effect=0\n", "false-alarm-budget=2\n",
                "max-span=30m\n", "metric=mmd\n", "slice=tag:region=eu\n")) {
            assertTrue(calibrated.contains("nd.comparison.monitors.digits." + line), line + " in " + calibrated);
        }
        assertFalse(comparison.contains("nd.comparison.monitors.digits.mode="), "unset: the service's default");
        // how long late labels join, one value for both services: a true-label monitor waits exactly that long
        Chart.Rendered late = Chart.render(Chart.EXTERNAL, "aggregator: {lateLabelMinutes: 90}");
        assertTrue(config(late, "aggregator").contains("nd.aggregator.recent.ttl=90m\n"), config(late, "aggregator"));
        assertTrue(config(late, "comparison").contains("nd.comparison.monitoring.label-wait=90m\n"));
        assertTrue(Chart.refusal(Chart.EXTERNAL, "aggregator: {lateLabelMinutes: 720}").contains("lateLabelMinutes"));
        // the folds alert waits past the late-label window, or it would fire while late deltas wait as they should
        assertTrue(Chart.refusal(Chart.EXTERNAL, """
                aggregator: {lateLabelMinutes: 120}
                monitoring: {prometheusRule: {enabled: true}}""").contains("unfoldedDeltaSeconds (5400) must exceed"));
        assertTrue(config(r, "aggregator").contains("nd.topics.dead-letter=nd.activations.dlq\n"));
        assertTrue(config(r, "inference").contains("quarkus.http.cors.origins=https://nd.example\n"));
        // a changed configuration rolls the pods
        String before = Chart.render(Chart.EXTERNAL).get(Deployment.class, name("comparison")).getSpec()
                .getTemplate().getMetadata().getAnnotations().get("checksum/config");
        String after = r.get(Deployment.class, name("comparison")).getSpec().getTemplate().getMetadata()
                .getAnnotations().get("checksum/config");
        assertFalse(before.equals(after));
    }

    @Test
    void topicKeysAreOneSetAndTheOldDeadLetterNameStillWins() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, """
                kafka: {topics: {activations: t.act, inputs: t.in, labels: t.lab, deadLetter: t.dlq}}
                """);
        String inference = config(r, "inference");
        for (String key : List.of("nd.topics.activations=t.act\n", "nd.topics.inputs=t.in\n",
                "nd.topics.labels=t.lab\n")) {
            assertTrue(inference.contains(key), key + " in " + inference);
            assertTrue(config(r, "aggregator").contains(key), key);
        }
        assertTrue(config(r, "aggregator").contains("nd.topics.dead-letter=t.dlq\n"));
        // a values file written for an older chart names the topic deadLetters: it is still read, and wins
        Chart.Rendered old = Chart.render(Chart.EXTERNAL, "kafka: {topics: {deadLetters: old.dlq}}");
        assertTrue(config(old, "aggregator").contains("nd.topics.dead-letter=old.dlq\n"));
    }

    @Test
    void inferenceAndTheAggregatorValidateAlike() {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, """
                validation: {maxNeuronsPerTap: 4096, futureSkew: 2m, allowedLateness: 30m, blockSize: 512}
                aggregator: {maxPendingBytes: 64M, maxWindowsPerFlush: 400}
                """);
        String inference = config(r, "inference");
        String aggregator = config(r, "aggregator");
        for (String setting : List.of("max-neurons-per-tap=4096\n", "future-skew=2m\n", "allowed-lateness=30m\n",
                "block-size=512\n")) {
            assertTrue(inference.contains("nd.capture." + setting), inference);
            assertTrue(aggregator.contains("nd.aggregator." + setting), aggregator);
        }
        assertTrue(aggregator.contains("nd.aggregator.max-pending-bytes=64M\n"), aggregator);
        assertTrue(aggregator.contains("nd.aggregator.max-windows-per-flush=400\n"), aggregator);
        String defaults = config(Chart.render(Chart.EXTERNAL), "aggregator");
        assertTrue(defaults.contains("nd.aggregator.max-neurons-per-tap=16384\n"), defaults);
        assertTrue(Chart.refusal(Chart.EXTERNAL, "validation: {maxNeuronsPerTap: 0}").contains("maxNeuronsPerTap"));
    }

    @Test
    void theSchemaRefusesValuesThatWouldWeakenOrBreakTheInstallation() {
        Map<String, String> refused = Map.ofEntries(
                Map.entry("global: {podSecurityContext: {runAsNonRoot: false}}", "runAsNonRoot"),
                Map.entry("global: {securityContext: {readOnlyRootFilesystem: false}}", "readOnlyRootFilesystem"),
                Map.entry("global: {securityContext: {capabilities: {drop: [ALL], add: [NET_ADMIN]}}}", "add"),
                Map.entry("model: {source: s3}", "source"),
                Map.entry("inference: {heap: lots}", "heap"),
                Map.entry("inference: {replica: 3}", "replica"),
                Map.entry("kafka: {bootstrapServers: 'no port here'}", "bootstrapServers"),
                Map.entry("postgresql: {jdbcUrl: 'mysql://db:3306/nd'}", "jdbcUrl"),
                Map.entry("comparison: {monitors: {digits: {model: m, metric: entropy}}}", "metric"),
                // what the service would refuse at start, refused at install
                Map.entry("comparison: {monitors: {digits: {model: m, slice: 'class 3'}}}", "slice"),
                Map.entry("comparison: {monitors: {digits: {model: m, windowsInARow: 61}}}", "windowsInARow"),
                Map.entry("comparison: {monitors: {digits: {model: m, maxSpan: 2 hours}}}", "maxSpan"),
                // null deletes a default: a container without limits
                Map.entry("inference: {resources: {limits: null}}", "limits"));
        for (Map.Entry<String, String> e : refused.entrySet()) {
            String message = Chart.refusal(Chart.EXTERNAL, e.getKey());
            assertTrue(message.contains(e.getValue()), e.getKey() + " -> " + message);
        }
        assertTrue(Chart.refusal(Chart.EXTERNAL, "comparison: {podDisruptionBudget: {maxUnavailable: 0}}")
                .contains("maxUnavailable must be at least 1"));
        assertTrue(Chart.refusal(Chart.EXTERNAL, "aggregator: {sliceTagKeys: []}").contains("sliceTagKeys"));
        String idle = Chart.refusal(Chart.EVALUATION, "aggregator: {replicas: 4}");
        assertTrue(idle.contains("aggregator.replicas (4) exceeds the partitions of nd.activations"), idle);
    }

    @Test
    void alertsReadMetricsTheServicesExport() throws IOException {
        Chart.Rendered r = Chart.render(Chart.EXTERNAL, EVERYTHING);
        HasMetadata rule = r.kind("PrometheusRule").get(0);
        String text = r.yaml();
        Set<String> alerts = new TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("alert: (\\S+)").matcher(text);
        while (m.find()) {
            alerts.add(m.group(1));
        }
        assertEquals(Set.of("NeuralDivergenceTapDrifting", "NeuralDivergenceMonitorInsufficientData",
                "NeuralDivergenceAggregatorLagging", "NeuralDivergenceAggregatorStuck",
                "NeuralDivergenceReferenceCalibrating",
                "NeuralDivergenceObservationsShed", "NeuralDivergenceDeadLettersGrowing",
                "NeuralDivergenceDeadLettersUndeliverable", "NeuralDivergenceStoreFailing",
                "NeuralDivergenceRollupBehind", "NeuralDivergenceWatermarkStalled", "NeuralDivergenceFoldsBehind",
                "NeuralDivergencePartitionsHeld", "NeuralDivergencePartitionsNotAhead",
                "NeuralDivergenceWalHigh", "NeuralDivergencePartDown"), alerts, rule.getMetadata().getName());
        assertTrue(java.util.regex.Pattern.compile("max\\(nd_aggregator_rollup_oldest_unrolled_seconds"
                + "\\{namespace=\"[^\"]+\"}\\) > 3600").matcher(text).find(), "the roll-up backlog alert, an hour");
        Set<String> exported = Metrics.exported();
        assertTrue(Metrics.referenced(text).size() >= 4, "the alerts read metrics");
        for (String metric : Metrics.referenced(text)) {
            assertTrue(Metrics.known(metric, exported), metric + " is not exported by any service");
        }
    }

    @Test
    void theGrafanaDashboardReadsMetricsTheServicesExport() throws IOException {
        String dashboard = Files.readString(Chart.DIR.resolve("../../deploy/grafana/neuraldivergence-dashboard.json"));
        Set<String> referenced = Metrics.referenced(dashboard);
        Set<String> exported = Metrics.exported();
        // throughput, latency, lag, shed, dead letters, drift per tap
        for (String needed : List.of("nd_inference_predictions_total", "nd_inference_predict_seconds_bucket",
                "nd_aggregator_consumer_lag", "nd_capture_observations_shed_total", "nd_aggregator_dead_letters_total",
                "nd_comparison_monitor_value")) {
            assertTrue(referenced.contains(needed), "the dashboard shows " + needed);
        }
        for (String metric : referenced) {
            assertTrue(Metrics.known(metric, exported), metric + " is not exported by any service");
        }
    }

    // ------------------------------------------------------------------ helpers

    static Chart.Workload workload(Chart.Rendered r, String part) {
        return r.workloads().stream().filter(w -> w.name().equals("Deployment/" + name(part))).findFirst()
                .orElseThrow(() -> new AssertionError("no Deployment " + name(part)));
    }

    private static String env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst()
                .orElseThrow(() -> new AssertionError(c.getName() + " has no " + name));
    }

    private static String env(Chart.Rendered r, String part, String name) {
        return workload(r, part).container(part).getEnv().stream().filter(e -> e.getName().equals(name))
                .map(e -> e.getValue() == null ? "from " + e.getValueFrom() : e.getValue()).findFirst().orElse(null);
    }

    /** Where a variable of a part's container comes from: secret/key. */
    private static String secretKey(Chart.Rendered r, String part, String name) {
        EnvVar e = workload(r, part).container(part).getEnv().stream().filter(v -> v.getName().equals(name))
                .findFirst().orElseThrow(() -> new AssertionError(part + " has no " + name));
        return e.getValueFrom().getSecretKeyRef().getName() + "/" + e.getValueFrom().getSecretKeyRef().getKey();
    }

    private static String config(Chart.Rendered r, String part) {
        return r.get(ConfigMap.class, name(part)).getData().get("application.properties");
    }

    private static Set<String> secretRefs(Chart.Rendered r) {
        Set<String> names = new TreeSet<>();
        for (Chart.Workload w : r.workloads()) {
            w.allContainers().forEach(c -> {
                c.getEnv().stream().filter(e -> e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null)
                        .forEach(e -> names.add(e.getValueFrom().getSecretKeyRef().getName()));
                c.getEnvFrom().stream().filter(e -> e.getSecretRef() != null)
                        .forEach(e -> names.add(e.getSecretRef().getName()));
            });
            w.pod().getVolumes().stream().filter(v -> v.getSecret() != null)
                    .forEach(v -> names.add(v.getSecret().getSecretName()));
        }
        return names;
    }

    private static Set<String> ingress(Chart.Rendered r, String part) {
        NetworkPolicy p = r.get(NetworkPolicy.class, name(part));
        assertEquals(List.of("Ingress", "Egress"), p.getSpec().getPolicyTypes());
        Set<String> flows = new TreeSet<>();
        p.getSpec().getIngress().forEach(rule -> flows.addAll(flows(rule.getFrom(), rule.getPorts())));
        return flows;
    }

    private static Set<String> egress(Chart.Rendered r, String part) {
        NetworkPolicy p = r.get(NetworkPolicy.class, name(part));
        Set<String> flows = new TreeSet<>();
        p.getSpec().getEgress().forEach(rule -> flows.addAll(flows(rule.getTo(), rule.getPorts())));
        return flows;
    }

    /**
     * A rule as peer:port/protocol strings; a peer is a component, "namespace", ns=NAME, dns, a CIDR, pods{labels}
     * or any.
     */
    private static Set<String> flows(List<NetworkPolicyPeer> peers, List<NetworkPolicyPort> ports) {
        List<String> names = peers == null || peers.isEmpty() ? List.of("any")
                : peers.stream().map(ChartTest::peer).toList();
        Set<String> out = new TreeSet<>();
        for (String n : names) {
            for (NetworkPolicyPort port : ports) {
                out.add(n + ":" + port.getPort().getIntVal() + "/" + port.getProtocol());
            }
        }
        return out;
    }

    private static String peer(NetworkPolicyPeer p) {
        if (p.getIpBlock() != null) {
            return p.getIpBlock().getCidr();
        }
        Map<String, String> pods = p.getPodSelector() == null ? null : p.getPodSelector().getMatchLabels();
        if (p.getNamespaceSelector() != null) {
            if (pods != null && "kube-dns".equals(pods.get("k8s-app"))) {
                return "dns";
            }
            return "ns=" + p.getNamespaceSelector().getMatchLabels().get("kubernetes.io/metadata.name");
        }
        if (pods == null || pods.isEmpty()) {
            return "namespace";
        }
        return pods.containsKey("app.kubernetes.io/component") ? pods.get("app.kubernetes.io/component")
                : "pods" + pods;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        return Stream.concat(a.stream(), b.stream()).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String appVersion() {
        try {
            return Files.readAllLines(Chart.DIR.resolve("Chart.yaml")).stream().filter(l -> l.startsWith("appVersion:"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim().replace("\"", "")).findFirst().orElseThrow();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
