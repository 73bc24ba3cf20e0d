"""Registry HTTP routes: each area's router parses, calls a use case or a query, maps the result.

The order matters: the fixed paths under ``/students/`` (transfers, watch, off-roll) come before
``/students/{student_id}``.
"""

from __future__ import annotations

from fastapi import APIRouter

from registry.entrypoints.routers import checks, orgs, problems, students, transfers, watch

# Each area router carries the /v1 prefix itself, so a route's own path (the audit log's "route")
# is the full template, as before the split.
router = APIRouter()
for area in (orgs, transfers, watch, students, checks, problems):
    router.include_router(area.router)
