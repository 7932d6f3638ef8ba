{{/* Names and labels shared by every template. */}}

{{- define "incidentflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "incidentflow.fullname" -}}
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

{{- define "incidentflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "incidentflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (api, worker, migrate): pass (list . "api"). */}}
{{- define "incidentflow.selector" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "incidentflow.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "incidentflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "incidentflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "incidentflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "incidentflow.databaseSecret" -}}
{{- default (printf "%s-database" (include "incidentflow.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{/* The api and workers sign and check links under one secret; migrate needs none. */}}
{{- define "incidentflow.linkSecretEnv" -}}
- name: INCIDENTFLOW_LINK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-link-secret" (include "incidentflow.fullname" .)) .Values.linkSecret.existingSecret }}
      key: {{ .Values.linkSecret.secretKey }}
{{- end -}}

{{- define "incidentflow.processesConfigMap" -}}
{{- if .Values.processes.existingConfigMap -}}
{{- .Values.processes.existingConfigMap -}}
{{- else if .Values.processes.files -}}
{{- printf "%s-processes" (include "incidentflow.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "incidentflow.apiURL" -}}
{{- if .Values.api.publicURL -}}
{{- .Values.api.publicURL -}}
{{- else if .Values.api.ingress.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.api.ingress.tls) 0)) .Values.api.ingress.host -}}
{{- else -}}
{{- printf "http://%s-api.%s.svc:%v" (include "incidentflow.fullname" .) .Release.Namespace .Values.api.service.port -}}
{{- end -}}
{{- end -}}

{{/*
The environment every incidentflow container shares, in the names
cmd/incidentflow reads: the database, Temporal, logging. Secrets come by
reference only.
*/}}
{{- define "incidentflow.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "incidentflow.databaseSecret" . }}
      key: {{ .Values.database.secretKey }}
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- if .Values.temporal.tls.enabled }}
{{- if .Values.temporal.tls.existingSecret }}
- name: TEMPORAL_TLS_CERT
  value: /etc/incidentflow/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY
  value: /etc/incidentflow/temporal-tls/tls.key
- name: TEMPORAL_TLS_CA
  value: /etc/incidentflow/temporal-tls/ca.crt
{{- end }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ required "temporal.tls.serverName is required when temporal.tls.enabled" .Values.temporal.tls.serverName | quote }}
{{- end }}
- name: INCIDENTFLOW_LOG_LEVEL
  value: {{ .Values.log.level | quote }}
- name: INCIDENTFLOW_LOG_FORMAT
  value: {{ .Values.log.format | quote }}
{{- with .Values.env }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "incidentflow.envFrom" -}}
{{- range .Values.secrets.existingSecrets }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- with .Values.envFrom }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes: a writable /tmp (the root filesystem is read-only), the processes, Temporal's TLS files. */}}
{{- define "incidentflow.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if and .processes (include "incidentflow.processesConfigMap" .root) }}
- name: processes
  configMap:
    name: {{ include "incidentflow.processesConfigMap" .root }}
{{- end }}
{{- if and .root.Values.temporal.tls.enabled .root.Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .root.Values.temporal.tls.existingSecret }}
{{- end }}
{{- end -}}

{{- define "incidentflow.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and .processes (include "incidentflow.processesConfigMap" .root) }}
- name: processes
  mountPath: /etc/incidentflow/processes
  readOnly: true
{{- end }}
{{- if and .root.Values.temporal.tls.enabled .root.Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/incidentflow/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/*
Pod annotations: a checksum of the chart-made processes ConfigMap, so pods
roll when the files change, and the component's own.
*/}}
{{- define "incidentflow.podAnnotations" -}}
{{- $v := .root.Values -}}
{{- if and $v.processes.files (not $v.processes.existingConfigMap) }}
checksum/processes: {{ toJson $v.processes.files | sha256sum }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}
