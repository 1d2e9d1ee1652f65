#!/usr/bin/env bash
# Creates (or updates) every Secret the cluster path needs, from credentials generated once on this
# machine under $DIR (mode 700, gitignored: .tickettrak/). Values go to kubectl through files,
# never on a command line; nothing here is ever committed or printed.
# Used by `make deploy`; env: PYTHON, KUBECTL, NS, DIR; optional TICKETTRAK_AVIASALES_TOKEN.
set -euo pipefail
: "${PYTHON:=python3}" "${KUBECTL:=kubectl}" "${NS:=tickettrak}" "${DIR:=.tickettrak/k8s}"

umask 077
mkdir -p "$DIR"
# Generate what is missing; keep what exists (re-running must not rotate live passwords).
"$PYTHON" - "$DIR" <<'PY'
import base64, os, secrets, sys
from pathlib import Path

d = Path(sys.argv[1])
def keep(name: str, make) -> str:
    path = d / name
    if not path.exists():
        path.write_text(make())
    return path.read_text()

url_safe = lambda: secrets.token_urlsafe(24)  # no characters that need escaping in a DSN
pg_owner = keep("pg-owner-password", url_safe)
keep("pg-analytics-password", url_safe)
pg_airflow = keep("pg-airflow-password", url_safe)
keep("mongo-root-password", url_safe)
mongo = keep("mongo-password", url_safe)
keep("mongo-replica-set-key", lambda: secrets.token_hex(32))
keep("airflow-fernet-key", lambda: base64.urlsafe_b64encode(os.urandom(32)).decode())
for name in ("airflow-api-secret-key", "airflow-jwt-secret", "airflow-webserver-secret-key",
             "airflow-admin-password"):
    keep(name, url_safe)
token = os.environ.get("TICKETTRAK_AVIASALES_TOKEN", "").strip()
(d / "aviasales-token").write_text(token)  # empty: the cluster runs against the sandbox

ns = os.environ.get("NS", "tickettrak")
(d / "postgres-dsn").write_text(
    f"postgresql://tickettrak:{pg_owner}@tickettrak-pg-rw.{ns}.svc.cluster.local:5432/tickettrak")
(d / "mongo-uri").write_text(
    f"mongodb://tickettrak:{mongo}@mongodb-0.mongodb-headless.{ns}.svc.cluster.local:27017/"
    "tickettrak?replicaSet=rs0&authSource=tickettrak")
(d / "airflow-metadata-connection").write_text(
    f"postgresql://airflow:{pg_airflow}@tickettrak-pg-rw.{ns}.svc.cluster.local:5432/airflow")
(d / "user-tickettrak").write_text("tickettrak")
(d / "user-analytics").write_text("analytics")
(d / "user-airflow").write_text("airflow")
PY

apply() {  # apply <name> <type> key=file...
  local name=$1 type=$2; shift 2
  local args=()
  for pair in "$@"; do args+=("--from-file=${pair%%=*}=$DIR/${pair#*=}"); done
  "$KUBECTL" -n "$NS" create secret generic "$name" --type="$type" "${args[@]}" \
    --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
  echo "secret/$name ready"
}
basic=kubernetes.io/basic-auth
apply tickettrak-pg-owner     "$basic" username=user-tickettrak password=pg-owner-password
apply tickettrak-pg-analytics "$basic" username=user-analytics  password=pg-analytics-password
apply tickettrak-pg-airflow   "$basic" username=user-airflow    password=pg-airflow-password
apply tickettrak-mongodb Opaque mongodb-root-password=mongo-root-password \
  mongodb-passwords=mongo-password mongodb-replica-set-key=mongo-replica-set-key
# The names.yaml Secret the proxy and the stage pods read (keys: names.yaml secret.keys).
apply tickettrak-secrets Opaque aviasales-token=aviasales-token postgres-dsn=postgres-dsn mongo-uri=mongo-uri
apply tickettrak-airflow-keys Opaque connection=airflow-metadata-connection fernet-key=airflow-fernet-key \
  api-secret-key=airflow-api-secret-key jwt-secret=airflow-jwt-secret \
  webserver-secret-key=airflow-webserver-secret-key
