{{/* Chart name, shortened to fit label limits. */}}
{{- define "rampart.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release and chart, unless one contains the other. */}}
{{- define "rampart.fullname" -}}
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

{{- define "rampart.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rampart.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rampart.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "rampart.labels" -}}
helm.sh/chart: {{ include "rampart.chart" . }}
{{ include "rampart.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "rampart.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rampart.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret whose keys become the pod's environment. */}}
{{- define "rampart.secretName" -}}
{{- default (include "rampart.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
The admin token of the chart's Secret: the value given, else the one already
installed (so that upgrades keep it), else a new random one. `helm template`
cannot see the cluster and renders a new random token every time.
*/}}
{{- define "rampart.adminToken" -}}
{{- if .Values.secrets.adminToken }}
{{- .Values.secrets.adminToken }}
{{- else }}
{{- $old := lookup "v1" "Secret" .Release.Namespace (include "rampart.fullname" .) }}
{{- if and $old $old.data (hasKey $old.data "RAMPART_ADMIN_TOKEN") }}
{{- index $old.data "RAMPART_ADMIN_TOKEN" | b64dec }}
{{- else }}
{{- randAlphaNum 48 }}
{{- end }}
{{- end }}
{{- end }}

{{/* True when the configuration keeps API keys in the per-pod SQLite
store: store keys on, and no shared PostgreSQL store (store.postgres). */}}
{{- define "rampart.storeKeys" -}}
{{- $auth := .Values.config.auth | default dict }}
{{- $store := .Values.config.store | default dict }}
{{- if not $store.postgres }}
{{- if hasKey $auth "api_keys" }}
{{- if $auth.api_keys }}true{{ end }}
{{- else }}true{{ end }}
{{- end }}
{{- end }}

{{/*
rampart.yaml: the values' config with the keys the chart owns set. The
admin listener is reachable from outside the pod only with a token, which
the configuration validation also enforces.
*/}}
{{- define "rampart.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $listen := deepCopy (get $cfg "listen" | default dict) }}
{{- $_ := set $listen "addr" (printf "0.0.0.0:%d" (int .Values.ports.client)) }}
{{- $_ = set $cfg "listen" $listen }}
{{- $admin := deepCopy (get $cfg "admin" | default dict) }}
{{- $_ = set $admin "addr" (printf "0.0.0.0:%d" (int .Values.ports.admin)) }}
{{- $_ = set $admin "token" "${RAMPART_ADMIN_TOKEN}" }}
{{- $_ = set $cfg "admin" $admin }}
{{- $_ = set $cfg "data_dir" "/var/lib/rampart" }}
{{- toYaml $cfg }}
{{- end }}

{{/* HTTP or HTTPS, for probes of the admin listener. */}}
{{- define "rampart.adminScheme" -}}
{{- if (get (.Values.config | default dict) "admin" | default dict).tls }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Refuse settings that cannot work. */}}
{{- define "rampart.validate" -}}
{{- $many := or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled }}
{{- if and $many (include "rampart.storeKeys" .) }}
{{- fail "config.auth.api_keys is on (the default when unset) and more than one replica may run: each pod would have its own SQLite key store, and a key created through the admin Service would work on one pod only. Use static keys from the Secret with api_keys: false, run one replica (replicaCount: 1, autoscaling.enabled: false), or share one PostgreSQL store between the pods (config.store.postgres: ${RAMPART_STORE_DSN}, with the DSN in the Secret)." }}
{{- end }}
{{- if and $many .Values.persistence.enabled }}
{{- fail "persistence.enabled needs exactly one replica: the volume is ReadWriteOnce and SQLite is per pod." }}
{{- end }}
{{- if ge (add (int .Values.preStopSleepSeconds) 30) (int .Values.terminationGracePeriodSeconds) }}
{{- fail "terminationGracePeriodSeconds must exceed preStopSleepSeconds plus the gateway's 30 s of graceful shutdown." }}
{{- end }}
{{- end }}
