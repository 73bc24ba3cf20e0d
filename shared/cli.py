"""``python -m <service> [migrate|serve]``: the same two steps for every service."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from shared.migrations import upgrade
from shared.settings import ServiceSettings


def main(service_dir: Path, settings_cls: type[ServiceSettings], app_factory: Callable[..., FastAPI],
         commands: Mapping[str, tuple[str, Callable[[ServiceSettings], None]]] | None = None) -> None:
    """``commands`` adds a service's own commands: name -> (help, function of the settings)."""
    commands = dict(commands or {})
    # The program name comes from the folder, not from settings: --help must work even when the
    # environment is misconfigured (that is when an operator reads it).
    parser = argparse.ArgumentParser(prog=f"python -m {service_dir.name}")
    helps = ["migrate: alembic upgrade head", "serve: run the HTTP service (default)",
             *(f"{name}: {text}" for name, (text, _) in commands.items())]
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate", *commands],
                        help="; ".join(helps))
    args = parser.parse_args()
    settings = settings_cls()
    if args.command == "migrate":
        upgrade(service_dir, settings.database_url)
        return
    if args.command in commands:
        commands[args.command][1](settings)
        return
    # log_config None: our JSON logging is configured by the app.
    if settings.http_workers > 1:
        # Each worker process imports the factory by name and builds its app from the same
        # environment these settings were read from.
        uvicorn.run(f"{app_factory.__module__}:{app_factory.__qualname__}", factory=True,
                    workers=settings.http_workers, host=settings.http_host, port=settings.http_port,
                    log_config=None, timeout_graceful_shutdown=10)
    else:
        uvicorn.run(app_factory(settings), host=settings.http_host, port=settings.http_port,
                    log_config=None, timeout_graceful_shutdown=10)
