"""`tickettrak proxy`: serve the Data API proxy (what the proxy Deployment runs)."""

from __future__ import annotations

from typing import Annotated

import typer


def proxy(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 in a container).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.", min=1, max=65535)] = 8080,
) -> None:
    """Serve the Aviasales Data API proxy: token added, limits enforced, every exchange in RAW.

    One process per replica: the RAW writer batches and the rate limits are per process (scale
    with replicas and TICKETTRAK_PROXY_RATE_LIMIT_FRACTION, see the proxy README).
    """
    import uvicorn
    from pydantic import ValidationError

    from tickettrak.common.cli import fail, settings_or_exit
    from tickettrak.common.embedded.mongo import RawStoreConfigError
    from tickettrak.common.logs import configure_logging
    from tickettrak.common.raw_store import MixedUpstreams, RawStoreUnavailable
    from tickettrak.proxy.app import create_app, open_store
    from tickettrak.proxy.config import ProxySettings

    settings = settings_or_exit()
    configure_logging(
        settings.log_format, settings.log_level, [settings.upstream_token, *settings.secret_values()]
    )
    try:
        config = ProxySettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "TICKETTRAK_PROXY_" + ".".join(str(p) for p in first["loc"]).upper()
        raise fail(f"{name}: {first['msg']}", code=2) from None
    try:
        store = open_store(settings, config)  # before serving: a clear reason if it cannot open
    except (RawStoreUnavailable, RawStoreConfigError) as error:
        raise fail(str(error)) from None
    try:
        store.ensure_indexes()  # also: never record the sandbox's prices next to real ones
    except MixedUpstreams as error:
        store.close()
        raise fail(str(error)) from None
    except RawStoreUnavailable:
        pass  # the app starts anyway: not ready, 503s, and it heals (app.py's lifespan)
    app = create_app(settings, config, store)
    # No access log: the proxy writes its own line per request (with the request id, no token).
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, server_header=False)
