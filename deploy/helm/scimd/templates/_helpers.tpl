{{- define "scimd.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "scimd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "scimd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scimd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The server's pods, not the migration Job's. */}}
{{- define "scimd.serverSelector" -}}
{{ include "scimd.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "scimd.labels" -}}
{{ include "scimd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "scimd.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "scimd.secretName" -}}
{{ .Values.database.existingSecret | default (include "scimd.fullname" .) }}
{{- end -}}

{{/* The database environment of the server and the migration Job. */}}
{{- define "scimd.databaseEnv" -}}
- name: SCIMD_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "scimd.secretName" . }}
      key: {{ .Values.database.urlKey }}
{{- end -}}
