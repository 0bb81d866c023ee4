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

{{/* The Secret holding the database user and password. */}}
{{- define "nd.postgresqlSecret" -}}
{{- required "postgresql.existingSecret is required: a Secret with the database user and password (evaluation mode too: kubectl create secret generic nd-database --from-literal=username=neuraldivergence --from-literal=password=$(openssl rand -hex 24))" .Values.postgresql.existingSecret -}}
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

{{- define "nd.kafkaEnvFrom" -}}
{{- if .Values.kafka.existingSecret }}
- secretRef:
    name: {{ .Values.kafka.existingSecret }}
{{- end }}
{{- end -}}

{{- define "nd.datasourceEnv" -}}
- name: QUARKUS_DATASOURCE_JDBC_URL
  value: {{ include "nd.jdbcUrl" . | quote }}
- name: QUARKUS_DATASOURCE_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ include "nd.postgresqlSecret" . }}
      key: {{ .Values.postgresql.usernameKey }}
- name: QUARKUS_DATASOURCE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "nd.postgresqlSecret" . }}
      key: {{ .Values.postgresql.passwordKey }}
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
{{- end -}}

{{/* The writable /tmp of a pod: a size-limited emptyDir (the root filesystem is read only). */}}
{{- define "nd.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.global.tmpSizeLimit }}
{{- end -}}

{{/* Probes on Quarkus' health endpoints. */}}
{{- define "nd.httpProbes" -}}
startupProbe:
  httpGet: {path: /q/health/started, port: http}
  periodSeconds: 5
  failureThreshold: {{ .startupFailures | default 24 }}
livenessProbe:
  httpGet: {path: /q/health/live, port: http}
  periodSeconds: 10
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /q/health/ready, port: http}
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
