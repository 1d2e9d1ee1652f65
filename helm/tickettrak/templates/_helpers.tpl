{{/*
names.yaml is the one place for the names the DAG's stage pods reference; every template reads it
through "tt.names" so a rename there changes the chart and the DAG together.
*/}}
{{- define "tt.names" -}}
{{- .Files.Get "names.yaml" -}}
{{- end -}}

{{- define "tt.labels" -}}
app.kubernetes.io/name: tickettrak
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tickettrak
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "tt.proxySelector" -}}
app.kubernetes.io/name: tickettrak
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: proxy
{{- end -}}

{{- define "tt.sandboxSelector" -}}
app.kubernetes.io/name: tickettrak
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: sandbox
{{- end -}}

{{/* The Secret every pod reads: the one you manage, or the chart's (named in names.yaml). */}}
{{- define "tt.secretName" -}}
{{- $names := include "tt.names" . | fromYaml -}}
{{- .Values.existingSecret | default $names.secret.name -}}
{{- end -}}

{{/* registry/repository:tag for an image key of names.yaml (proxy, sandbox, ...). */}}
{{- define "tt.image" -}}
{{- $names := include "tt.names" .root | fromYaml -}}
{{- $repo := get $names.images .key -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) $repo .root.Values.image.tag -}}
{{- else -}}
{{- printf "%s:%s" $repo .root.Values.image.tag -}}
{{- end -}}
{{- end -}}

{{- define "tt.proxyUrl" -}}
{{- $names := include "tt.names" . | fromYaml -}}
{{- printf "http://%s.%s.svc.cluster.local:%v" $names.proxyService $names.namespace .Values.proxy.port -}}
{{- end -}}

{{- define "tt.upstreamUrl" -}}
{{- $names := include "tt.names" . | fromYaml -}}
{{- if .Values.sandbox.enabled -}}
{{- printf "http://%s.%s.svc.cluster.local:%v" $names.sandboxService $names.namespace .Values.sandbox.port -}}
{{- else -}}
{{- .Values.config.aviasalesBaseUrl -}}
{{- end -}}
{{- end -}}

{{/* Hardened container defaults: non-root, no privilege escalation, read-only root, no caps. */}}
{{- define "tt.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "tt.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
The release must live in names.yaml's namespace: the DAG launches stage pods there and they read
this chart's ConfigMap and Secret, which only resolve inside the same namespace.
*/}}
{{- define "tt.checkNamespace" -}}
{{- $names := include "tt.names" . | fromYaml -}}
{{- if ne .Release.Namespace $names.namespace -}}
{{- fail (printf "install tickettrak into namespace %q (names.yaml), not %q: the DAG's stage pods look for its ConfigMap and Secret there" $names.namespace .Release.Namespace) -}}
{{- end -}}
{{- end -}}
