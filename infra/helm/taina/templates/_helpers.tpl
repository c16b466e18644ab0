{{- define "taina.name" -}}{{ .Chart.Name }}{{- end -}}
{{- define "taina.fullname" -}}{{ printf "%s" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "taina.labels" -}}
app.kubernetes.io/name: {{ include "taina.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "taina.selector" -}}
app.kubernetes.io/name: {{ include "taina.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "taina.serviceAccount" -}}{{ default (include "taina.fullname" .) .Values.serviceAccount.name }}{{- end -}}
{{- define "taina.secretName" -}}{{ default (printf "%s-secrets" (include "taina.fullname" .)) .Values.secrets.existingSecret }}{{- end -}}
{{- define "taina.image" -}}
{{- if .Values.image.digest -}}{{ .Values.image.repository }}@{{ .Values.image.digest }}{{- else -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end -}}
{{- end -}}
{{/* The engine's environment: settings, secrets as NAME_FILE paths, extra entries. */}}
{{- define "taina.env" -}}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- range $name, $_ := .Values.secrets.externalSecret.keys }}
- name: {{ $name }}_FILE
  value: /run/secrets/taina/{{ $name }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
