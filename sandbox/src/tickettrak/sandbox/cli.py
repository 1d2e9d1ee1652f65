"""`tickettrak sandbox`: serve the Aviasales Data API sandbox (see sandbox/README.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from tickettrak.common.cli import fail


def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free port).")] = 8090,
    seed: Annotated[int, typer.Option(help="Market seed: same seed, same prices.")] = 20251211,
    token: Annotated[
        list[str] | None,
        typer.Option(
            help="Accepted token (repeatable). Default: the public sandbox token tickettrak-sandbox."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Default observation day YYYY-MM-DD (the X-Sandbox-As-Of header wins). Default: today."
        ),
    ] = None,
    rate_limit: Annotated[
        list[str] | None,
        typer.Option(
            help="Per-minute limit of one endpoint, NAME=N (repeatable; 0 = unlimited),"
            " e.g. prices_for_dates=600."
        ),
    ] = None,
    rate_limit_scale: Annotated[
        float,
        typer.Option(min=0.0, help="Multiply the documented limits (600/300 per minute); 0 disables them."),
    ] = 1.0,
    faults: Annotated[
        str | None,
        typer.Option(
            envvar="TICKETTRAK_SANDBOX_FAULTS",
            help='Fault injection as JSON, e.g. \'{"error_5xx": 0.1, "latency": 0.5, "latency_ms": 300}\'.',
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the Aviasales Data API sandbox: the real API's paths, parameters and response shapes
    over a seeded, deterministic Russia <-> UAE market, with an as-of clock, rate limits and faults.

    Token: send `X-Access-Token: tickettrak-sandbox` (or ?token=). Admin: /__sandbox/stats,
    /__sandbox/faults, /__sandbox/reset, /__sandbox/truth, /__sandbox/docs.
    """
    import json
    import socket
    from datetime import date

    import uvicorn
    from pydantic import ValidationError

    from tickettrak.common.logs import get_logger
    from tickettrak.common.settings import SANDBOX_TOKEN
    from tickettrak.sandbox.app import SandboxConfig, create_app
    from tickettrak.sandbox.control import FaultConfig, documented_limits

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise fail(f"--as-of must be YYYY-MM-DD, got {as_of!r}", code=2) from None
    limits: dict[str, int] = {}
    for item in rate_limit or []:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().lstrip("-").isdigit():
            raise fail(f"--rate-limit must be NAME=N, got {item!r}", code=2)
        limits[name.strip()] = int(value)
    try:
        documented_limits(rate_limit_scale, limits)
    except ValueError as error:
        raise fail(f"--rate-limit: {error}", code=2) from None
    try:
        fault_config = FaultConfig.model_validate(json.loads(faults)) if faults else FaultConfig()
    except (ValueError, ValidationError) as error:
        first = str(error).splitlines()[0:3]
        raise fail(
            f"--faults / TICKETTRAK_SANDBOX_FAULTS is not a valid fault config: {' '.join(first)}", 2
        ) from None

    config = SandboxConfig(
        seed=seed,
        tokens=tuple(token) if token else (SANDBOX_TOKEN,),
        as_of=day,
        rate_limit_scale=rate_limit_scale,
        rate_limits=limits,
        faults=fault_config,
    )
    try:  # a clear reason now rather than uvicorn's traceback-free exit code 3 later
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind((host, port))
    except OSError as error:
        raise fail(f"cannot listen on {host}:{port}: {error.strerror or error}", code=2) from None
    _configure_logs()
    log = get_logger("tickettrak.sandbox")
    app = create_app(config)
    state = app.state.sandbox
    log.info(
        "sandbox.started",
        url=f"http://{host}:{port}",
        as_of=day.isoformat() if day else "today",
        seed=seed,
        rate_limits=state.limiter.limits,
        faults=fault_config.model_dump(exclude_defaults=True) or "off",
    )

    class SummarisingServer(uvicorn.Server):
        """Logs the calls served once stopped (uvicorn re-raises SIGTERM after its shutdown, so
        code after `run()` would never see a signal-driven stop)."""

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            await super().shutdown(sockets)
            stats = state.stats.snapshot()
            log.info(
                "sandbox.stopped",
                calls=stats["total"],
                by_endpoint=stats["by_endpoint"],
                faults=stats["faults"],
            )

    server = SummarisingServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
    )
    try:
        server.run()
    except SystemExit:  # uvicorn exits by itself when it cannot start
        if not server.started:
            raise fail(f"the sandbox could not start on {host}:{port} (see the log above)") from None
        raise


def _configure_logs() -> None:
    """Structured logs as every stage writes them; a broken unrelated setting must not stop the
    sandbox (it needs none), so it falls back to the defaults."""
    from tickettrak.common.logs import configure_logging
    from tickettrak.common.settings import SettingsError, load_settings

    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
    except SettingsError:
        configure_logging()
