{{/* Names, labels and the pieces every part shares. */}}

{{- define "nd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The name of a part: <fullname>-<part>, at most 52 characters (a StatefulSet's limit). */}}
{{- define "nd.name" -}}
{{- printf "%s-%s" (include "nd.fullname" .root) .part -}}
{{- end -}}

{{- define "nd.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .part }}
{{- end -}}

{{- define "nd.labels" -}}
{{ include "nd.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: neuraldivergence
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* An image of the project: [registry/]repository/nd-<part>:tag, the tag defaulting to the appVersion. */}}
{{- define "nd.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $repo := printf "%s/nd-%s" $g.repository .part -}}
{{- if $g.registry }}{{ $repo = printf "%s/%s" $g.registry $repo }}{{ end -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $g.tag) -}}
{{- end -}}

{{/* Kafka's bootstrap servers: the evaluation broker's Service, else the external ones. */}}
{{- define "nd.kafkaBootstrap" -}}
{{- if .Values.kafka.evaluation.enabled -}}
{{- printf "%s:9092" (include "nd.name" (dict "root" . "part" "kafka")) -}}
{{- else -}}
{{- required "kafka.bootstrapServers is required (or kafka.evaluation.enabled=true)" .Values.kafka.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{- define "nd.jdbcUrl" -}}
{{- if .Values.postgresql.evaluation.enabled -}}
{{- printf "jdbc:postgresql://%s:5432/%s" (include "nd.name" (dict "root" . "part" "postgresql")) .Values.postgresql.evaluation.database -}}
{{- else -}}
{{- required "postgresql.jdbcUrl is required (or postgresql.evaluation.enabled=true)" .Values.postgresql.jdbcUrl -}}
{{- end -}}
{{- end -}}

{{/*
  Evaluation mode: the in-chart Kafka and PostgreSQL both on, a release that holds everything it touches. Only there
  may the API tokens be left out (the APIs open), and do empty clients / prometheus peers mean the release's
  namespace; anywhere else the chart requires tokens and admits no peer it was not told about. "true" or empty.
*/}}
{{- define "nd.evaluation" -}}
{{- if and .Values.kafka.evaluation.enabled .Values.postgresql.evaluation.enabled }}true{{ end -}}
{{- end -}}

{{/* The Secret holding the database user and password (the schema's owner: the aggregator migrates it). */}}
{{- define "nd.postgresqlSecret" -}}
{{- required "postgresql.existingSecret is required: a Secret with the database user and password (evaluation mode too: kubectl create secret generic nd-database --from-literal=username=neuraldivergence --from-literal=password=$(openssl rand -hex 24))" .Values.postgresql.existingSecret -}}
{{- end -}}

{{/*
  The Secret of the comparison service's database user: a member of the NOLOGIN role nd_comparison, which may read
  every table and write only the comparison service's own. Required in every mode; the in-chart PostgreSQL creates
  that user from it, against any other an administrator does.
*/}}
{{- define "nd.comparisonDatabaseSecret" -}}
{{- $c := .Values.postgresql.comparison -}}
{{- $ns := .Release.Namespace -}}
{{- $secret := "kubectl -n %s create secret generic nd-database-comparison --from-literal=username=nd_comparison_login --from-literal=password=%s" -}}
{{- if not $c.existingSecret -}}
{{- if .Values.postgresql.evaluation.enabled -}}
{{- fail (printf "postgresql.comparison.existingSecret is required (evaluation mode too): the comparison service connects as a user of its own, in the role nd_comparison (reads every table, writes only the comparison service's own), which the in-chart PostgreSQL creates from that Secret:\n  %s\nthen set postgresql.comparison.existingSecret=nd-database-comparison" (printf $secret $ns "$(openssl rand -hex 24)")) -}}
{{- else -}}
{{- fail (printf "postgresql.comparison.existingSecret is required: the comparison service connects as a user of its own, in the role nd_comparison (reads every table, writes only the comparison service's own). A database administrator creates it once:\n  DO $$ BEGIN CREATE ROLE nd_comparison NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;\n  CREATE ROLE nd_comparison_login LOGIN PASSWORD '<password>' IN ROLE nd_comparison;\nthen:\n  %s\nand set postgresql.comparison.existingSecret=nd-database-comparison (the aggregator's migrations grant nd_comparison its rights)" (printf $secret $ns "'<password>'")) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $c.existingSecret .Values.postgresql.existingSecret) (eq $c.usernameKey .Values.postgresql.usernameKey) -}}
{{- fail "postgresql.comparison must name a user other than postgresql.existingSecret's: that one owns the schema, and the comparison service must not" -}}
{{- end -}}
{{- $c.existingSecret -}}
{{- end -}}

{{/*
  The Secret of the API tokens, or empty: required outside evaluation mode (see nd.evaluation), where a release
  without it would answer anyone the network policies let in.
*/}}
{{- define "nd.authSecret" -}}
{{- if hasKey .Values.auth "key" -}}
{{- fail "auth.key is gone: the Secret of auth.existingSecret now holds one list of token entries per service, under auth.comparisonKey (default comparison) and auth.inferenceKey (default inference)" -}}
{{- end -}}
{{- if and (not .Values.auth.existingSecret) (not (include "nd.evaluation" .)) -}}
{{- fail (printf "auth.existingSecret is required outside evaluation mode (kafka.evaluation.enabled and postgresql.evaluation.enabled): a Secret with the API tokens of both services, entries [name:]token[=scope+scope] under the keys auth.comparisonKey and auth.inferenceKey, e.g.\n  kubectl -n %s create secret generic nd-api-tokens --from-literal=%s=\"$(openssl rand -hex 24)\" --from-literal=%s=\"$(openssl rand -hex 24)\"\nthen set auth.existingSecret=nd-api-tokens" .Release.Namespace .Values.auth.comparisonKey .Values.auth.inferenceKey) -}}
{{- end -}}
{{- .Values.auth.existingSecret -}}
{{- end -}}

{{/* A service's API tokens from the auth Secret (nothing in evaluation mode without one). Arguments: root, env, key. */}}
{{- define "nd.tokensEnv" -}}
{{- $secret := include "nd.authSecret" .root -}}
{{- if $secret }}
# API calls need one of these tokens (a missing key keeps the pod from starting: never an open API by mistake);
# health and metrics, on the management port, need none
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .key }}
{{- end }}
{{- end -}}

{{/*
Which models a token may reach: the map token name -> models as one variable, name=model+model entries joined by
commas (sorted by name). A token named in none reaches every model; nothing is set for an empty map.
*/}}
{{- define "nd.modelGrantsEnv" -}}
{{- if .grants }}
{{- $entries := list -}}
{{- range $name, $models := .grants -}}
{{- $entries = append $entries (printf "%s=%s" $name (join "+" $models)) -}}
{{- end }}
- name: {{ .env }}
  value: {{ join "," $entries | quote }}
{{- end }}
{{- end -}}

{{/* Mebibytes of a memory quantity (Mi, Gi, M, G or bytes), for the memory rule. */}}
{{- define "nd.mebibytes" -}}
{{- $q := toString . -}}
{{- if hasSuffix "Gi" $q -}}{{- mulf (trimSuffix "Gi" $q | float64) 1024 | int -}}
{{- else if hasSuffix "Mi" $q -}}{{- trimSuffix "Mi" $q | float64 | int -}}
{{- else if hasSuffix "G" $q -}}{{- divf (mulf (trimSuffix "G" $q | float64) 1000000000) 1048576 | int -}}
{{- else if hasSuffix "M" $q -}}{{- divf (mulf (trimSuffix "M" $q | float64) 1000000) 1048576 | int -}}
{{- else -}}{{- divf ($q | float64) 1048576 | int -}}
{{- end -}}
{{- end -}}

{{/* Kafka client settings and topic names every part reads from its environment. */}}
{{- define "nd.kafkaEnv" -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ include "nd.kafkaBootstrap" . | quote }}
{{- end -}}

{{/*
  The Kafka client settings of one part (root, part): its own Secret (kafka.<part>.existingSecret), so that each
  connects as a principal of its own and the brokers' ACLs give it only its topics; else the shared one.
*/}}
{{- define "nd.kafkaEnvFrom" -}}
{{- $own := (index .root.Values.kafka .part | default dict).existingSecret -}}
{{- $secret := $own | default .root.Values.kafka.existingSecret -}}
{{- if $secret }}
- secretRef:
    name: {{ $secret }}
{{- end }}
{{- end -}}

{{/*
  The database URL and a user from a Secret. Arguments: root, secret (the template naming the Secret, resolved after
  the URL so that a missing URL is reported first), usernameKey, passwordKey.
*/}}
{{- define "nd.datasourceEnv" -}}
- name: QUARKUS_DATASOURCE_JDBC_URL
  value: {{ include "nd.jdbcUrl" .root | quote }}
{{- $secret := include .secret .root }}
- name: QUARKUS_DATASOURCE_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .usernameKey }}
- name: QUARKUS_DATASOURCE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .passwordKey }}
{{- end -}}

{{/* The pod-level settings every part shares. */}}
{{- define "nd.podCommon" -}}
{{- $v := .root.Values -}}
serviceAccountName: {{ if $v.global.serviceAccount.create }}{{ include "nd.name" . }}{{ else }}default{{ end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $v.global.podSecurityContext | nindent 2 }}
{{- with $v.global.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $v.global.spreadReplicas }}
topologySpreadConstraints:
  {{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "nd.selectorLabels" $ | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The writable /tmp of a pod: a size-limited emptyDir (the root filesystem is read only). */}}
{{- define "nd.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.global.tmpSizeLimit }}
{{- end -}}

{{/*
  Each part's management port: Quarkus' management interface, serving /q/health and /q/metrics apart from the API,
  so that the network policies admit Prometheus there and clients to the API port only.
*/}}
{{- define "nd.managementPort" -}}
{{- get (dict "inference" 9080 "aggregator" 9081 "comparison" 9082) . -}}
{{- end -}}

{{/* The API port of inference and comparison (the aggregator has no API). */}}
{{- define "nd.apiPort" -}}
{{- get (dict "inference" 8080 "comparison" 8082) . -}}
{{- end -}}

{{/* Probes on Quarkus' health endpoints, on the management port. */}}
{{- define "nd.httpProbes" -}}
startupProbe:
  httpGet: {path: /q/health/started, port: management}
  periodSeconds: 5
  failureThreshold: {{ .startupFailures | default 24 }}
livenessProbe:
  httpGet: {path: /q/health/live, port: management}
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /q/health/ready, port: management}
  periodSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* Where the inference container finds the SavedModel. */}}
{{- define "nd.modelPath" -}}
{{- if eq .Values.model.source "pvc" -}}
{{- printf "/model/%s" .Values.model.pvc.path -}}
{{- else -}}
/model/saved_model
{{- end -}}
{{- end -}}

{{/* The image the model is copied from: model.image.repository, else the project's nd-model image. */}}
{{- define "nd.modelImage" -}}
{{- if .Values.model.image.repository -}}
{{- printf "%s:%s" .Values.model.image.repository (default .Chart.AppVersion .Values.model.image.tag) -}}
{{- else -}}
{{- include "nd.image" (dict "root" . "part" "model") -}}
{{- end -}}
{{- end -}}

{{/* JAVA_TOOL_OPTIONS of a part whose heap is a share of its memory limit. */}}
{{- define "nd.heapFromLimit" -}}
- name: JAVA_TOOL_OPTIONS
  value: "-XX:MaxRAMPercentage={{ .heapPercent }} -XX:+ExitOnOutOfMemoryError -Djava.io.tmpdir=/tmp"
{{- end -}}

{{/* Egress rules of the network policies. */}}
{{- define "nd.dnsEgress" -}}
# DNS
- to:
    {{- toYaml .Values.global.networkPolicy.dns.to | nindent 4 }}
  ports:
    {{- range .Values.global.networkPolicy.dns.ports }}
    - {port: {{ . }}, protocol: UDP}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end -}}

{{/* The ports of kafka.bootstrapServers (and kafka.extraBrokerPorts), each once. */}}
{{- define "nd.kafkaPorts" -}}
{{- $ports := list -}}
{{- range regexFindAll ":[0-9]+" .Values.kafka.bootstrapServers -1 }}{{ $ports = append $ports (trimPrefix ":" .) }}{{ end -}}
{{- range .Values.kafka.extraBrokerPorts }}{{ $ports = append $ports (toString .) }}{{ end -}}
{{- $ports | uniq | join "," -}}
{{- end -}}

{{/* The port of postgresql.jdbcUrl (5432 when it names none). */}}
{{- define "nd.postgresqlPort" -}}
{{- $m := regexFind "//[^/:]+:[0-9]+" .Values.postgresql.jdbcUrl -}}
{{- if $m }}{{ regexFind "[0-9]+$" $m }}{{ else }}5432{{ end -}}
{{- end -}}

{{/*
  Egress to Kafka or PostgreSQL: the in-chart evaluation pods, else the external peers (any destination when none
  are named), on the given ports. Arguments: root, part (kafka | postgresql), peers, ports.
*/}}
{{- define "nd.infrastructureEgress" -}}
{{- $evaluation := (index .root.Values .part).evaluation.enabled -}}
- {{- if $evaluation }}
  to:
    - podSelector:
        matchLabels:
          {{- include "nd.selectorLabels" (dict "root" .root "part" .part) | nindent 10 }}
  {{- else if .peers }}
  to:
    {{- toYaml .peers | nindent 4 }}
  {{- end }}
  ports:
    {{- range .ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end -}}

{{- define "nd.kafkaEgress" -}}
# Kafka
{{ include "nd.infrastructureEgress" (dict "root" . "part" "kafka" "peers" .Values.global.networkPolicy.kafkaPeers
     "ports" (ternary (list 9092) (splitList "," (include "nd.kafkaPorts" .)) .Values.kafka.evaluation.enabled)) }}
{{- end -}}

{{- define "nd.postgresqlEgress" -}}
# PostgreSQL
{{ include "nd.infrastructureEgress" (dict "root" . "part" "postgresql" "peers" .Values.global.networkPolicy.postgresqlPeers
     "ports" (list (ternary "5432" (include "nd.postgresqlPort" .) .Values.postgresql.evaluation.enabled))) }}
{{- end -}}

{{/* The dead-letter topic: kafka.topics.deadLetter, or its deprecated name kafka.topics.deadLetters when set. */}}
{{- define "nd.deadLetterTopic" -}}
{{- .Values.kafka.topics.deadLetters | default .Values.kafka.topics.deadLetter -}}
{{- end -}}
