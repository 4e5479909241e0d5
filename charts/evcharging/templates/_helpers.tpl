{{/* Names, labels, images and the shared pieces of every workload. */}}

{{- define "evc.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "evc.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's resource name: (dict "root" $ "component" "central") */}}
{{- define "evc.componentName" -}}
{{- printf "%s-%s" (include "evc.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "evc.selectorLabels" -}}
app.kubernetes.io/name: {{ include "evc.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "evc.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "evc.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: evcharging
{{- end }}

{{/* Image of one of our binaries: (dict "root" $ "binary" "central" "values" .Values.central) */}}
{{- define "evc.image" -}}
{{- $global := .root.Values.global.image }}
{{- $own := .values.image | default dict }}
{{- $repository := $own.repository | default (printf "%s%s" $global.repositoryPrefix .binary) }}
{{- if $global.registry }}{{ $repository = printf "%s/%s" $global.registry $repository }}{{ end }}
{{- $tag := $own.tag | default $global.tag | default .root.Chart.AppVersion }}
{{- if eq (toString $tag) "latest" }}{{ fail "image tags must be pinned: \"latest\" is refused" }}{{ end }}
{{- printf "%s:%s" $repository (toString $tag) }}
{{- end }}

{{/* Image of a third-party component: (dict "image" .Values.postgresql.image) */}}
{{- define "evc.thirdPartyImage" -}}
{{- if eq (toString .image.tag) "latest" }}{{ fail "image tags must be pinned: \"latest\" is refused" }}{{ end }}
{{- printf "%s:%s" .image.repository (toString .image.tag) }}
{{- end }}

{{- define "evc.address" -}}
{{- printf "%s:%v" (include "evc.componentName" (dict "root" .root "component" .component)) (index .root.Values .component).ports.grpc }}
{{- end }}

{{- define "evc.kafkaBootstrap" -}}
{{- if .Values.kafka.enabled }}
{{- printf "%s:9092" (include "evc.componentName" (dict "root" . "component" "broker")) }}
{{- else }}
{{- required "external.kafka.bootstrapServers is required when kafka.enabled is false" .Values.external.kafka.bootstrapServers }}
{{- end }}
{{- end }}

{{/* The Secret and key holding the Postgres URL. */}}
{{- define "evc.postgresUrlSecret" -}}
{{- if and (not .Values.postgresql.enabled) .Values.external.postgresql.existingSecret }}
{{- .Values.external.postgresql.existingSecret }}
{{- else }}
{{- include "evc.componentName" (dict "root" . "component" "postgres-url") }}
{{- end }}
{{- end }}

{{- define "evc.adminSecret" -}}
{{- .Values.admin.existingSecret | default (include "evc.componentName" (dict "root" . "component" "admin")) }}
{{- end }}

{{/* The services that hold an identity on internal calls (certificate CN, service credential). */}}
{{- define "evc.serviceIdentities" -}}
registry auth central weather edge
{{- end }}

{{- define "evc.serviceCredentialsSecret" -}}
{{- .Values.serviceCredentials.existingSecret | default (include "evc.componentName" (dict "root" . "component" "service-credentials")) }}
{{- end }}

{{- define "evc.tlsSecret" -}}
{{- .Values.mtls.existingSecret | default (include "evc.componentName" (dict "root" . "component" "tls")) }}
{{- end }}

{{/* A value kept across upgrades: the existing Secret's key if there is one, else a fresh
     random string. (dict "root" $ "secret" NAME "key" KEY "length" 24) */}}
{{- define "evc.keptRandom" -}}
{{- $existing := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}

{{- define "evc.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* Environment every one of our binaries gets (the config ConfigMap: peers, Kafka, TLS). */}}
{{- define "evc.commonEnvFrom" -}}
envFrom:
  - configMapRef:
      name: {{ include "evc.componentName" (dict "root" .root "component" "config") }}
{{- end }}

{{/* Restart pods when their configuration or certificates change. */}}
{{- define "evc.configChecksums" -}}
checksum/config: {{ include (print .root.Template.BasePath "/config.yaml") .root | sha256sum }}
checksum/secrets: {{ include (print .root.Template.BasePath "/secrets.yaml") .root | sha256sum }}
{{- end }}

{{/* Volumes with the identity's certificate (mTLS), its service credential (services
     only: CP processes and jobs never get one) and a writable /tmp. */}}
{{- define "evc.commonVolumes" -}}
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
{{- if has .identity (include "evc.serviceIdentities" .root | splitList " ") }}
- name: service-credential
  secret:
    secretName: {{ include "evc.serviceCredentialsSecret" .root }}
    defaultMode: 0400
    items:
      - {key: {{ .identity }}, path: credential}
{{- end }}
{{- if .root.Values.mtls.enabled }}
- name: tls
  secret:
    secretName: {{ include "evc.tlsSecret" .root }}
    defaultMode: 0400
    items:
      - {key: ca.crt, path: ca.crt}
      - {key: {{ .identity }}.crt, path: tls.crt}
      - {key: {{ .identity }}.key, path: tls.key}
{{- end }}
{{- end }}

{{- define "evc.commonVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if has .identity (include "evc.serviceIdentities" .root | splitList " ") }}
- name: service-credential
  mountPath: /etc/evc/service
  readOnly: true
{{- end }}
{{- if .root.Values.mtls.enabled }}
- name: tls
  mountPath: /etc/evc/tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "evc.podSpecCommon" -}}
serviceAccountName: {{ include "evc.fullname" .root }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml (.podSecurityContext | default .root.Values.podSecurityContext) | nindent 2 }}
{{- with .root.Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Native gRPC probes on the health service at port N: (dict "port" N) */}}
{{- define "evc.grpcProbes" -}}
{{- $port := .port }}
# Up to 10 minutes to start: as long as a service retries its peers (EVC_STARTUP_TIMEOUT).
startupProbe:
  grpc: {port: {{ $port }}}
  periodSeconds: 2
  failureThreshold: 300
readinessProbe:
  grpc: {port: {{ $port }}}
  periodSeconds: 5
  failureThreshold: 2
livenessProbe:
  grpc: {port: {{ $port }}}
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 6
{{- end }}

{{/* The service credential file (see evc.commonVolumes): internal RPCs refuse callers
     without an identity when mTLS is off. */}}
{{- define "evc.serviceCredentialEnv" -}}
- name: EVC_SERVICE_CREDENTIAL_FILE
  value: /etc/evc/service/credential
{{- end }}

{{/* User-supplied EVC_* environment of a component. */}}
{{- define "evc.extraEnv" -}}
{{- range $name, $value := .values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{/*
A gRPC service: Deployment + Service with ports named grpc and metrics.
(dict "root" $ "component" "central" "values" .Values.central "env" (list ...) "volumes" (list) "mounts" (list)
      "strategy" "RollingUpdate" "rollingUpdate" (dict "maxSurge" 1 "maxUnavailable" 0) "headless" true)
*/}}
{{- define "evc.grpcService" -}}
{{- $name := include "evc.componentName" . }}
{{- $values := .values }}
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "evc.labels" . | nindent 4 }}
    evc.io/job: evc-{{ .component }}
spec:
  type: ClusterIP
  {{- if .headless }}
  {{- /* Every replica's address in DNS: clients pick among them (see evc.central). */}}
  clusterIP: None
  {{- end }}
  selector:
    {{- include "evc.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $values.ports.grpc }}
      targetPort: grpc
      appProtocol: grpc
    - name: metrics
      port: {{ $values.ports.metrics }}
      targetPort: metrics
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "evc.labels" . | nindent 4 }}
spec:
  replicas: {{ $values.replicas }}
  {{- if .strategy }}
  strategy:
    type: {{ .strategy }}
    {{- with .rollingUpdate }}
    rollingUpdate:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "evc.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "evc.labels" . | nindent 8 }}
      annotations:
        {{- include "evc.configChecksums" . | nindent 8 }}
    spec:
      {{- include "evc.podSpecCommon" . | nindent 6 }}
      terminationGracePeriodSeconds: 30
      containers:
        - name: {{ .component }}
          image: {{ include "evc.image" (dict "root" .root "binary" .component "values" $values) }}
          imagePullPolicy: {{ .root.Values.global.image.pullPolicy }}
          securityContext:
            {{- include "evc.containerSecurityContext" . | nindent 12 }}
          ports:
            - name: grpc
              containerPort: {{ $values.ports.grpc }}
            - name: metrics
              containerPort: {{ $values.ports.metrics }}
            {{- if .root.Values.mtls.enabled }}
            - name: health
              containerPort: {{ $values.ports.health }}
            {{- end }}
          {{- include "evc.commonEnvFrom" . | nindent 10 }}
          env:
            - name: EVC_LISTEN
              value: "0.0.0.0:{{ $values.ports.grpc }}"
            - name: EVC_METRICS_LISTEN
              value: "0.0.0.0:{{ $values.ports.metrics }}"
            {{- if .root.Values.mtls.enabled }}
            - name: EVC_HEALTH_LISTEN
              value: "0.0.0.0:{{ $values.ports.health }}"
            {{- end }}
            {{- include "evc.serviceCredentialEnv" . | nindent 12 }}
            - name: EVC_POSTGRES_URL
              valueFrom:
                secretKeyRef:
                  name: {{ include "evc.postgresUrlSecret" .root }}
                  key: url
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- include "evc.extraEnv" . | nindent 12 }}
          {{- /* On the plaintext health-only port under mTLS: kubelet cannot speak TLS. */}}
          {{- include "evc.grpcProbes" (dict "port" (ternary $values.ports.health $values.ports.grpc .root.Values.mtls.enabled)) | nindent 10 }}
          resources:
            {{- toYaml $values.resources | nindent 12 }}
          volumeMounts:
            {{- include "evc.commonVolumeMounts" (dict "root" .root "identity" .component) | nindent 12 }}
            {{- with .mounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "evc.commonVolumes" (dict "root" .root "identity" .component) | nindent 8 }}
        {{- with .volumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end }}

{{/* "name:partitions name:partitions ..." of kafka.topics. */}}
{{- define "evc.topicSpecs" -}}
{{- $specs := list }}
{{- range .Values.kafka.topics }}{{ $specs = append $specs (printf "%s:%v" .name .partitions) }}{{ end }}
{{- join " " $specs }}
{{- end }}

{{/*
A NetworkPolicy admitting only what `rules` list; each rule a port and who may reach it:
"from" (components of this release), "monitoring" (this namespace and
networkPolicy.monitoringNamespaceSelector) or "anyone".
(dict "root" $ "component" "auth" "rules" (list (dict "port" 50052 "from" (list "central"))))
*/}}
{{- define "evc.networkPolicy" -}}
{{- $root := .root }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "evc.componentName" . }}
  labels:
    {{- include "evc.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "evc.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    {{- range .rules }}
    - ports:
        - {protocol: TCP, port: {{ .port }}}
      {{- if .from }}
      from:
        {{- range $caller := .from }}
        - podSelector:
            matchLabels:
              {{- include "evc.selectorLabels" (dict "root" $root "component" $caller) | nindent 14 }}
        {{- end }}
      {{- else if .monitoring }}
      from:
        - podSelector: {}
        - namespaceSelector:
            {{- toYaml $root.Values.networkPolicy.monitoringNamespaceSelector | nindent 12 }}
      {{- end }}
    {{- end }}
{{- end }}
