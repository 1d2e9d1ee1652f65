#!/usr/bin/env bash
# Runs a command on this machine against the cluster's PostgreSQL as the read-only `analytics` role,
# through `kubectl port-forward` to a free local port (127.0.0.1 only).
# The password never appears on a command line, neither kubectl's nor the command's (`ps` shows
# argv to every local user, and a `kubectl exec` command line lands in the API server's audit log):
# it is read from the role's Secret into this shell and handed to the command in its environment
# as PGPASSWORD, which libpq reads (psql, psycopg).
# The command also gets PGHOST, PGPORT, PGUSER, PGDATABASE and TICKETTRAK_POSTGRES_DSN (without
# the password), so both `psql` and `tickettrak report` connect with no arguments.
# Usage: deploy/k8s-pg-forward.sh <command> [args...]   (make psql, make report-k8s)
# env: KUBECTL, NS; PG_SERVICE (CloudNativePG's read-write Service: with one instance the `-ro` one
# has no endpoints; the role is read-only anyway), PG_SECRET, PG_DATABASE.
set -euo pipefail
: "${KUBECTL:=kubectl}" "${NS:=tickettrak}" "${PG_SERVICE:=tickettrak-pg-rw}"
: "${PG_SECRET:=tickettrak-pg-analytics}" "${PG_DATABASE:=tickettrak}"
if [ $# -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

secret_field() { "$KUBECTL" -n "$NS" get secret "$PG_SECRET" -o "jsonpath={.data.$1}" | base64 -d; }
user=$(secret_field username)
password=$(secret_field password)
if [ -z "$user" ] || [ -z "$password" ]; then
  echo "error: secret/$PG_SECRET in namespace $NS has no username/password: run make deploy first" >&2
  exit 1
fi

log=$(mktemp)
"$KUBECTL" -n "$NS" port-forward "service/$PG_SERVICE" :5432 --address 127.0.0.1 >"$log" 2>&1 &
forward=$!
trap 'kill "$forward" 2>/dev/null || true; wait "$forward" 2>/dev/null || true; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 100); do # kubectl prints the port it got; up to 20 s
  port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$log" | head -1)
  [ -n "$port" ] && break
  if ! kill -0 "$forward" 2>/dev/null; then
    cat "$log" >&2
    echo "error: kubectl port-forward to service/$PG_SERVICE in namespace $NS failed" >&2
    exit 1
  fi
  sleep 0.2
done
if [ -z "$port" ]; then
  cat "$log" >&2
  echo "error: kubectl port-forward to service/$PG_SERVICE did not start within 20 s" >&2
  exit 1
fi

export PGHOST=127.0.0.1 PGPORT="$port" PGUSER="$user" PGDATABASE="$PG_DATABASE" PGPASSWORD="$password"
export TICKETTRAK_POSTGRES_DSN="host=127.0.0.1 port=$port dbname=$PG_DATABASE user=$user"
"$@"
