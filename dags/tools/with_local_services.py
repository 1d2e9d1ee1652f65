"""Run a command (Airflow, usually) next to TicketTrak's local services, then stop them.

    .venv/bin/python dags/tools/with_local_services.py [--airflow-home DIR --port N] -- CMD ...

Starts what `tickettrak run` starts — the embedded PostgreSQL (unless TICKETTRAK_POSTGRES_DSN),
the sandbox (unless a token is set) and the proxy, on free ports — and runs CMD with the
settings that reach them (TICKETTRAK_POSTGRES_DSN, TICKETTRAK_PROXY_URL, TICKETTRAK_HOME) in its
environment, so every stage process Airflow starts in local mode finds them. Runs with the
project's .venv (it imports tickettrak.local); the command may be another environment's
executable, e.g. `.venv-airflow/bin/airflow standalone`.

With --airflow-home, it also prepares Airflow's login for `airflow standalone` (user `admin`,
a random password kept in AIRFLOW_HOME) and prints the UI address and the login.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

# Where Airflow's simple auth manager keeps its generated passwords (a file name, not a secret).
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"  # noqa: S105


def admin_password(airflow_home: Path) -> str:
    """The `admin` password Airflow's simple auth manager will use (created once, then kept)."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    path = airflow_home / PASSWORD_FILE
    if path.exists():
        stored = json.loads(path.read_text() or "{}").get("admin")
        if isinstance(stored, str):
            return stored
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"admin": password}))
    path.chmod(0o600)
    return password


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--airflow-home", type=Path, help="prepare and print the Airflow UI login")
    parser.add_argument("--port", type=int, default=8280, help="the Airflow UI port (for the banner)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given (put it after --)")
    return args


def main(argv: list[str]) -> int:
    args = _parse(argv)
    from tickettrak.common.settings import SettingsError, load_settings
    from tickettrak.local.pipeline import RunOptions, local_services

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    log_dir = settings.home_dir / "logs" / "airflow-services"
    log_dir.mkdir(parents=True, exist_ok=True)
    options = RunOptions()
    with local_services(settings, log_dir, options) as service_env:
        # The sandbox and proxy run with scaled per-minute limits; the collector must pace
        # itself by the same factor (its own default is the real API's limits).
        if settings.uses_sandbox:
            service_env.setdefault("TICKETTRAK_COLLECT_RATE_LIMIT_SCALE", str(options.upstream_speedup))
        mode = "sandbox" if settings.uses_sandbox else "REAL Aviasales API (token set)"
        print(f"TicketTrak services up ({mode}): proxy {service_env['TICKETTRAK_PROXY_URL']}")
        print(f"  data under {settings.home_dir}; service logs in {log_dir}")
        if args.airflow_home:
            password = admin_password(args.airflow_home)
            print(f"Airflow UI: http://127.0.0.1:{args.port}  login: admin / {password}")
            print("  ready in about a minute; the DAGs start paused: unpause tickettrak_pipeline to run it")
            print("  (against the sandbox, catchup first fills the days since its start date).")
            print("  Ctrl-C stops Airflow, then the services.")
        sys.stdout.flush()
        child = subprocess.Popen(args.command, env={**os.environ, **service_env})
        # Ctrl-C reaches the child through the terminal's process group; a TERM sent to this
        # launcher alone is passed on, so Airflow always shuts down before the services do.
        signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
        while True:
            try:
                code = child.wait()
            except KeyboardInterrupt:
                continue  # the child got the same Ctrl-C; wait for it to finish shutting down
            return 128 - code if code < 0 else code  # killed by signal N: the shell's 128+N


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
