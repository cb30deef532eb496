{{/* The name of the operator's objects: "<release>-operator", so "lacquer-operator" for the release "lacquer". */}}
{{- define "lacquer.operatorName" -}}
{{ .Release.Name }}-operator
{{- end -}}

{{/* Labels every object of the chart carries. */}}
{{- define "lacquer.labels" -}}
app.kubernetes.io/part-of: lacquer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels of the operator's Deployment, Service and pods. */}}
{{- define "lacquer.operatorLabels" -}}
{{ include "lacquer.labels" . }}
app.kubernetes.io/name: lacquer-operator
{{- end -}}

{{/* The operator pods' selector. */}}
{{- define "lacquer.operatorSelector" -}}
app.kubernetes.io/name: lacquer-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* An image reference from repository and tag, the tag defaulting to the chart's appVersion. */}}
{{- define "lacquer.image" -}}
{{- printf "%s:%s" .image.repository (default .chart.AppVersion .image.tag) -}}
{{- end -}}
