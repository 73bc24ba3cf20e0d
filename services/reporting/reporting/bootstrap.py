"""The one place the reporting service is wired."""

from __future__ import annotations

from fastapi import FastAPI

from reporting.adapters.tables import orgs
from reporting.entrypoints.api import router
from reporting.settings import ReportingSettings
from reporting.usecases.projections import HANDLERS
from shared.clock import Clock
from shared.places import by_code
from shared.service import create_app as create_service_app


def create_app(settings: ReportingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(
        settings or ReportingSettings(),
        title="Baoxue reporting",
        description="Rates, weekly reports and ledgers, from a read model built only from events.",
        routers=[router],
        handlers=HANDLERS,
        clock=clock,
        places=[by_code(orgs.c.code, orgs.c.path)],
    )
