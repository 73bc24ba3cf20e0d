"""The one place the registry service is wired."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from registry.adapters.tables import orgs
from registry.entrypoints.api import router
from registry.entrypoints.jobs import overdue_off_roll, overdue_transfers
from registry.settings import RegistrySettings
from registry.usecases.records import on_case_status_changed
from shared.clock import Clock
from shared.events.cases import CaseStatusChanged
from shared.places import by_code
from shared.service import create_app as create_service_app

# The registry follows a dropout the cases service confirmed.
HANDLERS = {CaseStatusChanged: on_case_status_changed}


def create_app(settings: RegistrySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    return create_service_app(
        settings,
        title="Baoxue registry",
        description="Organisations, classes and the student record (学籍).",
        routers=[router],
        jobs=[overdue_transfers, overdue_off_roll],
        handlers={t: partial(h, tz=settings.timezone) for t, h in HANDLERS.items()},
        clock=clock,
        places=[by_code(orgs.c.code, orgs.c.path)],
    )
