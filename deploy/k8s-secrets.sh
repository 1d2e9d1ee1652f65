#!/usr/bin/env bash
# Creates (or updates) every Secret the cluster path needs, from credentials generated once on this
# machine under $DIR (mode 700, gitignored: .tickettrak/). Values go to kubectl through files,
# never on a command line; nothing here is ever committed or printed.
# Used by `make deploy`; env: PYTHON, KUBECTL, NS, DIR; optional TICKETTRAK_AVIASALES_TOKEN, CLEAR_TOKEN.
# The Aviasales token is kept like every other credential: a non-empty TICKETTRAK_AVIASALES_TOKEN
# replaces it; unset (or empty) keeps the one already stored, so a re-deploy from a shell without the
# token never turns a real-API cluster into a sandbox one (simulated prices in the real DWH).
# CLEAR_TOKEN=1 empties it on purpose (the cluster then runs against the in-cluster sandbox).
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
token_file = d / "aviasales-token"  # empty: the cluster runs against the sandbox
given = os.environ.get("TICKETTRAK_AVIASALES_TOKEN", "").strip()
if os.environ.get("CLEAR_TOKEN") == "1":
    if given:
        sys.exit("error: CLEAR_TOKEN=1 empties the Aviasales token, but TICKETTRAK_AVIASALES_TOKEN "
                 "is set too: unset one of them")
    token_file.write_text("")
elif given:
    token_file.write_text(given)
elif not token_file.exists():
    token_file.write_text("")
elif token_file.read_text():
    print(f"TICKETTRAK_AVIASALES_TOKEN is not set: keeping the token in {token_file} "
          "(CLEAR_TOKEN=1 empties it and switches the cluster to the sandbox)", file=sys.stderr)

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

# Refuse to turn a release that calls the real API into a sandbox one unless asked (CLEAR_TOKEN=1):
# a checkout without the token file (another machine, a fresh clone) would do it silently.
# Names from helm/tickettrak/names.yaml: configMap, sandboxService.
if [ ! -s "$DIR/aviasales-token" ] && [ "${CLEAR_TOKEN:-}" != 1 ]; then
  upstream=$("$KUBECTL" -n "$NS" get configmap tickettrak-config --ignore-not-found \
    -o jsonpath='{.data.TICKETTRAK_AVIASALES_BASE_URL}')
  case "$upstream" in
    "" | http://tickettrak-sandbox.*) ;;  # no release yet, or already the sandbox
    *)
      echo "error: the cluster's proxy calls the real Aviasales API ($upstream), and no token is" \
        "given (TICKETTRAK_AVIASALES_TOKEN) or stored ($DIR/aviasales-token)." >&2
      echo "Deploying now would switch it to the sandbox and put simulated prices into the same DWH." >&2
      echo "Export TICKETTRAK_AVIASALES_TOKEN and run make deploy again, or switch on purpose with:" \
        "make deploy CLEAR_TOKEN=1" >&2
      exit 1
      ;;
  esac
fi

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
  webserver-secret-key=airflow-webserver-secret-key admin-password=airflow-admin-password
