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
{{- if ne $name $.Values.livekit.redis.passwordKey }}{{/* LiveKit's alone */}}
- name: {{ $name }}_FILE
  value: /run/secrets/taina/{{ $name }}
{{- end }}
{{- end }}
{{- if .Values.livekit.enabled }}
# The engine as LiveKit's agent: it joins the rooms it is dispatched to (the caller-token endpoint, the API,
# LiveKit's webhooks); the API secret comes from the Secret as LIVEKIT_API_SECRET_FILE (secrets keys).
- name: LIVEKIT_URL
  value: {{ include "taina.livekit.url" . | quote }}
- name: LIVEKIT_API_KEY
  value: {{ .Values.livekit.apiKey | quote }}
- name: TAINA_LIVEKIT_AGENT_NAME
  value: {{ .Values.livekit.agentName | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
{{/* LiveKit server (templates/livekit-*.yaml): its own name label, so the engine's selector never matches it. */}}
{{- define "taina.livekit.fullname" -}}{{ printf "%s-livekit" (include "taina.fullname" .) | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "taina.livekit.selector" -}}
app.kubernetes.io/name: livekit
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "taina.livekit.labels" -}}
{{ include "taina.livekit.selector" . }}
app.kubernetes.io/component: media-server
app.kubernetes.io/part-of: {{ include "taina.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "taina.livekit.image" -}}
{{- with .Values.livekit.image -}}
{{- if .digest -}}{{ .repository }}@{{ .digest }}{{- else -}}{{ .repository }}:{{ .tag }}{{- end -}}
{{- end -}}
{{- end -}}
{{/* The URL the engine and the callers' browsers use: livekit.url, else the in-cluster service (a trial). */}}
{{- define "taina.livekit.url" -}}
{{- default (printf "ws://%s.%s.svc:%d" (include "taina.livekit.fullname" .) .Release.Namespace (int .Values.livekit.port)) .Values.livekit.url -}}
{{- end -}}
{{/* LiveKit's configuration (LIVEKIT_CONFIG): no secret in it; the key pair comes from LIVEKIT_KEYS and the
     Redis password from $(LIVEKIT_REDIS_PASSWORD), both expanded by the kubelet from the Secret. */}}
{{- define "taina.livekit.config" -}}
{{- $lk := .Values.livekit -}}
port: {{ $lk.port }}
log_level: {{ $lk.logLevel }}
logging:
  json: true
rtc:
  tcp_port: {{ $lk.rtc.tcpPort }}
  port_range_start: {{ $lk.rtc.portRangeStart }}
  port_range_end: {{ $lk.rtc.portRangeEnd }}
  use_external_ip: {{ $lk.rtc.useExternalIp }}
{{- if $lk.redis.address }}
redis:
  address: {{ $lk.redis.address }}
  use_tls: {{ $lk.redis.useTls }}
  {{- if $lk.redis.passwordKey }}
  password: $(LIVEKIT_REDIS_PASSWORD)
  {{- end }}
{{- end }}
{{- if $lk.turn.enabled }}
turn:
  enabled: true
  domain: {{ required "livekit.turn.domain is required with TURN" $lk.turn.domain }}
  tls_port: {{ $lk.turn.tlsPort }}
  udp_port: {{ $lk.turn.udpPort }}
  external_tls: {{ $lk.turn.externalTls }}
{{- end }}
room:
  empty_timeout: {{ $lk.room.emptyTimeoutSeconds }}
  departure_timeout: 20
webhook:
  api_key: {{ $lk.apiKey }}
  urls:
    - http://{{ include "taina.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.service.port }}/api/livekit/webhook
prometheus_port: {{ $lk.prometheusPort }}
{{- end -}}
