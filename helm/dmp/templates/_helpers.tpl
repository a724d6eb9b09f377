{{/* Names ---------------------------------------------------------------- */}}
{{- define "dmp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dmp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one app's resources: dict "root" $ "app" "api-gateway" */}}
{{- define "dmp.appName" -}}
{{- printf "%s-%s" (include "dmp.fullname" .root | trunc 40 | trimSuffix "-") .app | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "dmp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "dmp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "dmp.secretName" -}}
{{- printf "%s-api" (include "dmp.fullname" .) -}}
{{- end -}}

{{- define "dmp.storageSecretName" -}}
{{- default (printf "%s-storage-keys" (include "dmp.fullname" .)) .Values.storage.encryption.existingSecret -}}
{{- end -}}

{{/* Labels --------------------------------------------------------------- */}}
{{- define "dmp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dmp.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .app }}
{{- end -}}

{{- define "dmp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dmp.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: dmp
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "dmp.annotations" -}}
{{- with .Values.commonAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Effective settings of one service entry: defaults overridden by the entry. dict "root" $ "app" name */}}
{{- define "dmp.serviceValues" -}}
{{- $entry := index .root.Values.services .app -}}
{{- toYaml (mergeOverwrite (deepCopy .root.Values.defaults) (deepCopy $entry)) -}}
{{- end -}}

{{/* Image of one app: dict "root" $ "app" name "svc" effective values */}}
{{- define "dmp.image" -}}
{{- $img := .root.Values.image -}}
{{- $own := default dict .svc.image -}}
{{- $repo := default (printf "%s-%s" $img.repository .app) $own.repository -}}
{{- $tag := default (default .root.Chart.AppVersion $img.tag) $own.tag | toString -}}
{{- if eq $tag "latest" -}}
{{- fail (printf "image tag of %s must not be 'latest': pin a version" .app) -}}
{{- end -}}
{{- $ref := ternary $repo (printf "%s/%s" $img.registry $repo) (empty $img.registry) -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $ref $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{/* Non-secret environment shared by every app and the migrate Job (name: value map) */}}
{{- define "dmp.sharedEnv" -}}
DMP_ENV: {{ .Values.dmpEnv | quote }}
LOG_LEVEL: {{ .Values.logLevel | quote }}
HTTP_HOST: "0.0.0.0"
SHUTDOWN_TIMEOUT_MS: {{ .Values.shutdownTimeoutMs | toString | quote }}
GATEWAY_DEADLINE_SHARDS: {{ .Values.deadlineShards | toString | quote }}
REGISTRY_DEADLINE_SHARDS: {{ .Values.deadlineShards | toString | quote }}
KAFKA_BROKERS: {{ join "," .Values.kafka.brokers | quote }}
{{- if .Values.kafka.tls.enabled }}
KAFKA_SSL: "true"
{{- if .Values.kafka.tls.caSecret }}
KAFKA_SSL_CA_FILE: {{ printf "/etc/dmp/kafka-ca/%s" .Values.kafka.tls.caKey | quote }}
{{- end }}
{{- end }}
{{- if .Values.kafka.sasl.enabled }}
KAFKA_SASL_MECHANISM: {{ .Values.kafka.sasl.mechanism | quote }}
{{- end }}
CASSANDRA_CONTACT_POINTS: {{ join "," .Values.cassandra.contactPoints | quote }}
CASSANDRA_LOCAL_DC: {{ .Values.cassandra.localDc | quote }}
CASSANDRA_KEYSPACE: {{ .Values.cassandra.keyspace | quote }}
CASSANDRA_REPLICATION_FACTOR: {{ .Values.cassandra.replicationFactor | toString | quote }}
{{- if .Values.cassandra.tls.enabled }}
CASSANDRA_SSL: "true"
{{- if .Values.cassandra.tls.caSecret }}
CASSANDRA_SSL_CA_FILE: {{ printf "/etc/dmp/cassandra-ca/%s" .Values.cassandra.tls.caKey | quote }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.extraEnv }}
{{ $k }}: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* Secret-backed environment (env list entries; REDIS_URL last so $(REDIS_PASSWORD) expands) */}}
{{- define "dmp.secretEnv" -}}
{{- if .Values.kafka.sasl.enabled }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ .Values.kafka.sasl.existingSecret | quote }}, key: {{ .Values.kafka.sasl.usernameKey | quote }} }
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ .Values.kafka.sasl.existingSecret | quote }}, key: {{ .Values.kafka.sasl.passwordKey | quote }} }
{{- end }}
{{- if .Values.cassandra.auth.existingSecret }}
- name: CASSANDRA_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ .Values.cassandra.auth.existingSecret | quote }}, key: {{ .Values.cassandra.auth.usernameKey | quote }} }
- name: CASSANDRA_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ .Values.cassandra.auth.existingSecret | quote }}, key: {{ .Values.cassandra.auth.passwordKey | quote }} }
{{- end }}
{{- end -}}

{{- define "dmp.redisEnv" -}}
{{- $r := .Values.redis -}}
{{- $scheme := ternary "rediss" "redis" $r.tls -}}
{{- if $r.auth.existingSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef: { name: {{ $r.auth.existingSecret | quote }}, key: {{ $r.auth.passwordKey | quote }} }
- name: REDIS_URL
  value: {{ printf "%s://:$(REDIS_PASSWORD)@%s:%d/%d" $scheme $r.host (int $r.port) (int $r.db) | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "%s://%s:%d/%d" $scheme $r.host (int $r.port) (int $r.db) | quote }}
{{- end }}
{{- end -}}

{{/* Volumes and mounts for the CA bundles of Kafka and Cassandra */}}
{{- define "dmp.tlsVolumes" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret | quote }}
{{- end }}
{{- if and .Values.cassandra.tls.enabled .Values.cassandra.tls.caSecret }}
- name: cassandra-ca
  secret:
    secretName: {{ .Values.cassandra.tls.caSecret | quote }}
{{- end }}
{{- end -}}

{{- define "dmp.tlsMounts" -}}
{{- if and .Values.kafka.tls.enabled .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/dmp/kafka-ca
  readOnly: true
{{- end }}
{{- if and .Values.cassandra.tls.enabled .Values.cassandra.tls.caSecret }}
- name: cassandra-ca
  mountPath: /etc/dmp/cassandra-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* /api/v1 route prefix → in-cluster URL of the enabled service owning it */}}
{{- define "dmp.upstreams" -}}
{{- $root := . -}}
{{- $up := dict -}}
{{- range $app := keys .Values.services | sortAlpha -}}
{{- $svc := index $root.Values.services $app -}}
{{- if and $svc.enabled (ne $app "api-gateway") -}}
{{- range $route := default list $svc.routes -}}
{{- $_ := set $up $route (printf "http://%s:%d" (include "dmp.appName" (dict "root" $root "app" $app)) (int $svc.httpPort)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $up -}}
{{- end -}}

{{/* Checks that values.schema.json cannot express */}}
{{- define "dmp.validate" -}}
{{- $gw := .Values.coapGateway -}}
{{- if le (int $gw.service.sessionAffinityTimeoutSeconds) (div (int $gw.maxLifetimeSeconds) 2) -}}
{{- fail (printf "coapGateway.service.sessionAffinityTimeoutSeconds (%d) must exceed coapGateway.maxLifetimeSeconds/2 (%d): a device must reach the same gateway for a whole lifetime/2 update interval" (int $gw.service.sessionAffinityTimeoutSeconds) (div (int $gw.maxLifetimeSeconds) 2)) -}}
{{- end -}}
{{- if and .Values.kafka.sasl.enabled (not .Values.kafka.sasl.existingSecret) -}}
{{- fail "kafka.sasl.enabled needs kafka.sasl.existingSecret" -}}
{{- end -}}
{{- if and $gw.dtls.enabled (not $gw.dtls.existingSecret) (index .Values.services "coap-gateway").enabled -}}
{{- fail "coapGateway.dtls.enabled needs coapGateway.dtls.existingSecret" -}}
{{- end -}}
{{- if and .Values.api.adminToken (lt (len .Values.api.adminToken) 32) -}}
{{- fail "api.adminToken must be at least 32 characters" -}}
{{- end -}}
{{- end -}}
