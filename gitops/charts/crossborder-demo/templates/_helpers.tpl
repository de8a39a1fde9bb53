{{/* The registry the chart falls back to, inside a template: values cannot show it. */}}
{{- define "demo.registry" -}}
{{- .Values.image.registry | default "ghcr.io" -}}
{{- end -}}

{{- define "demo.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
