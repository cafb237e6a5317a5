{{/* Common labels; the hub's app label is what learner pods' NetworkPolicy admits. */}}
{{- define "hub.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "hub.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}

{{- define "hub.tokenKeySecret" -}}
{{ .Values.hub.tokenKeySecret | default (printf "%s-token-key" .Release.Name) }}
{{- end -}}

{{- define "hub.databaseSecret" -}}
{{- if .Values.postgresql.enabled -}}{{ printf "%s-postgresql" .Release.Name }}{{- else -}}{{ required "externalDatabase.urlSecret is required when postgresql.enabled is false" .Values.externalDatabase.urlSecret }}{{- end -}}
{{- end -}}
