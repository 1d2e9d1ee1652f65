#!/usr/bin/env bash
# Restarts the proxy when the Aviasales token changed since the proxy last (re)started through
# `make deploy`. The proxy reads the token from its Secret (secretKeyRef) only when its pod starts,
# and replacing one real token with another changes nothing the chart renders (the ConfigMap
# checksum stays the same), so without this the proxy would keep sending the old token.
# The stamp is a SHA-256 of the token in an owner-only file next to the token itself; nothing about
# the token goes into a manifest or an annotation. Written only after a successful restart, so a
# failed one is retried by the next deploy.
# Used by `make deploy` after the tickettrak release; env: PYTHON, KUBECTL, NS, DIR, PROXY_DEPLOYMENT.
set -euo pipefail
: "${PYTHON:=python3}" "${KUBECTL:=kubectl}" "${NS:=tickettrak}" "${DIR:=.tickettrak/k8s}"
: "${PROXY_DEPLOYMENT:=tickettrak-proxy}"  # helm/tickettrak/names.yaml: proxyService

umask 077
stamp="$DIR/aviasales-token.deployed.sha256"
current=$("$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
  "$DIR/aviasales-token")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$current" ]; then
  exit 0
fi
# No stamp yet: the proxy may run with a token from before this script existed; one restart is harmless.
echo "the Aviasales token changed: restarting deployment/$PROXY_DEPLOYMENT so the proxy uses it"
"$KUBECTL" -n "$NS" rollout restart "deployment/$PROXY_DEPLOYMENT"
"$KUBECTL" -n "$NS" rollout status "deployment/$PROXY_DEPLOYMENT" --timeout=5m
printf '%s\n' "$current" >"$stamp"
