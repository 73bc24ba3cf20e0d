"""The summary for any org level and any day."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from shared.auth import Principal
from shared.uow import UnitOfWork

from reporting.domain.rates import LEVELS, Targets, add, figures, target_status, worst
from reporting.domain.weeks import end_of_day
from reporting.read_model import as_of, group, open_cases, org_in_scope, tallies


def level_block(by_level: dict[str, Counter], open_by_level: Counter, targets: Targets) -> dict[str, Any]:
    """Figures, open cases and target status for both levels apart and together."""
    levels = {}
    for lv in LEVELS:
        fig = figures(by_level.get(lv, Counter()))
        levels[lv] = {**fig, "open_cases": open_by_level.get(lv, 0), "status": target_status(lv, fig, targets)}
    return {**figures(add(by_level)), "open_cases": sum(open_by_level.values()),
            "status": worst([levels[lv]["status"] for lv in LEVELS]), "levels": levels}


async def summary(uow: UnitOfWork, org_code: str, caller: Principal, *, day: date, tz: ZoneInfo,
                  targets: Targets) -> dict[str, Any]:
    org = await org_in_scope(uow, org_code, caller)
    rows = await tallies(uow, org, day)
    opened = await open_cases(uow, org, end_of_day(day, tz))
    by_level = group(rows, lambda r: "all").get("all", {})
    open_by_level = Counter(c["level"] for c in opened)
    # The same figures per school system (6+3, 5+4, nine_year, twelve_year): a five-four school's
    # grade 6 is junior middle, so its levels are not a six-three school's.
    by_system = group(rows, lambda r: r["system"])
    open_by_system: dict[str, Counter] = defaultdict(Counter)
    for c in opened:
        if c["level"]:  # a case about a region (a suspected out-of-school child) has no school
            open_by_system[c["system"]][c["level"]] += 1
    systems = {system: level_block(by_system.get(system, {}), open_by_system.get(system, Counter()), targets)
               for system in sorted(set(by_system) | set(open_by_system))}
    return {"org_code": org.code, "org_name": org.name, "org_kind": org.kind, "date": day,
            **level_block(by_level, open_by_level, targets), "systems": systems, "targets": vars(targets),
            "as_of": await as_of(uow)}
