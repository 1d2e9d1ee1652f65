"""`tickettrak transform`: build the ODS/DWH layers and the marts with dbt.

Kept light on purpose (the CLI imports every stage's command): dbt is imported inside the command.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tickettrak.common.cli import fail, settings_or_exit


def _known_vars() -> set[str]:
    """The vars dbt_project.yml declares: the only knobs `--var` may turn."""
    import yaml

    from tickettrak.dbt_runner.project import project_dir

    declared = yaml.safe_load((project_dir() / "dbt_project.yml").read_text()).get("vars") or {}
    return set(declared)


def _parse_vars(pairs: list[str]) -> dict[str, Any]:
    import yaml

    parsed: dict[str, Any] = {}
    known = _known_vars() if pairs else set()
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise fail(f"--var takes NAME=VALUE, got {pair!r}", code=2)
        # dbt silently ignores a var no model reads: a typo would change nothing without a word.
        if key not in known:
            raise fail(f"--var: unknown dbt var {key!r} (known: {', '.join(sorted(known))})", code=2)
        parsed[key] = yaml.safe_load(value)  # "5" -> 5, "0.3" -> 0.3, "rub" -> "rub"
    return parsed


def transform(
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild the incremental models from scratch.")
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", "-s", help="dbt node selection (repeatable), e.g. -s mart_price_dynamics+"),
    ] = None,
    freshness: Annotated[
        bool,
        typer.Option("--freshness", help="Only check source freshness (dbt source freshness) and exit."),
    ] = False,
    docs: Annotated[bool, typer.Option("--docs", help="Also generate the dbt docs site (target/).")] = False,
    var: Annotated[
        list[str] | None,
        typer.Option("--var", help="Override a dbt var (repeatable), e.g. --var min_observation_days=7"),
    ] = None,
) -> None:
    """Build ods.* and dwh.* (dims, fact, marts) with dbt, tests included, and report dbt's result."""
    from tickettrak.common.embedded.postgres import EmbeddedPostgresError, open_postgres
    from tickettrak.common.logs import configure_logging, get_logger, register_secrets
    from tickettrak.dbt_runner.profile import ProfileError, profile_from_dsn
    from tickettrak.dbt_runner.rebuild_requests import mark_rebuilt, pending_requests
    from tickettrak.dbt_runner.runner import DbtWorkspace, missing_sources, run_dbt

    settings = settings_or_exit()
    configure_logging(settings.log_format, settings.log_level, settings.secret_values())
    log = get_logger("tickettrak.transform")
    dbt_vars = _parse_vars(var or [])
    workspace = DbtWorkspace(settings.home_dir / "dbt")

    if freshness:
        command = ["source", "freshness"]
    else:
        command = ["build"]
        if full_refresh:
            command.append("--full-refresh")
    for selector in select or []:
        command += ["--select", selector]

    try:
        with open_postgres(settings) as dsn:
            profile = profile_from_dsn(dsn)
            register_secrets([profile.password])
            missing = missing_sources(dsn)
            if missing:
                raise fail(
                    f"{', '.join(missing)} not found in the database: run `tickettrak load` first "
                    "(it creates the tables from its migrations)"
                )
            # Changes upstream that the incremental models may not see: rebuild in full.
            requests = None if freshness else pending_requests(dsn)
            if requests is not None and select:
                typer.echo(
                    f"warning: aviasales.tickets changed in a way incremental runs may not see "
                    f"({requests.describe()}); a selective run does not rebuild in full: "
                    "run `tickettrak transform` without --select",
                    err=True,
                )
            elif requests is not None and not full_refresh:
                command.append("--full-refresh")
                log.warning("full rebuild requested by changes upstream", changes=requests.describe())
                typer.echo(f"aviasales.tickets changed ({requests.describe()}): rebuilding in full")
            log.info("dbt starting", command=" ".join(command), workspace=str(workspace.root))
            outcome = run_dbt(command, profile, workspace, dbt_vars)
            if outcome.success and requests is not None and not select:
                mark_rebuilt(dsn, requests)
            if outcome.success and docs:
                docs_outcome = run_dbt(["docs", "generate"], profile, workspace, dbt_vars)
                if not docs_outcome.success:
                    raise fail(docs_outcome.reason())
    except (EmbeddedPostgresError, ProfileError) as error:
        raise fail(str(error)) from None

    log.info(
        "dbt finished",
        command=outcome.command,
        success=outcome.success,
        elapsed_seconds=round(outcome.elapsed_seconds, 2),
        warnings=len(outcome.warnings),
        **{f"nodes_{status.replace(' ', '_')}": count for status, count in sorted(outcome.counts.items())},
    )
    counts = ", ".join(f"{count} {status}" for status, count in sorted(outcome.counts.items())) or "nothing"
    typer.echo(f"dbt {outcome.command}: {counts} in {outcome.elapsed_seconds:.1f}s")
    for warning in outcome.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if not outcome.success:
        raise fail(outcome.reason())
    if select and not outcome.counts:
        # dbt treats a selection that matches no node as "nothing to do" and succeeds.
        raise fail(f"--select {' '.join(select)!r} matched no dbt node: nothing was built", code=2)
