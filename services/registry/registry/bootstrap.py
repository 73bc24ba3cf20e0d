"""The one place the registry service is wired."""

from __future__ import annotations

from fastapi import FastAPI

from shared.clock import Clock
from shared.service import create_app as create_service_app

from registry.entrypoints.api import router
from registry.entrypoints.jobs import overdue_off_roll, overdue_transfers
from registry.settings import RegistrySettings


def create_app(settings: RegistrySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    return create_service_app(
        settings or RegistrySettings(),
        title="Baoxue registry",
        description="Organisations, classes and the student record (学籍).",
        routers=[router],
        jobs=[overdue_transfers, overdue_off_roll],
        clock=clock,
    )
