"""The summary for any org level and any day."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from reporting.domain.rates import LEVELS, Targets, add, figures, target_status, worst
from reporting.domain.statutory import SchoolYear, YearFlows, flows, nine_year, total
from reporting.domain.weeks import end_of_day
from reporting.queries.read_model import Org, as_of, group, open_cases, org_in_scope
from reporting.queries.school_year import nine_year_counts, records_from, year_records
from reporting.queries.targets import book
from shared.auth import Principal
from shared.uow import UnitOfWork


def level_block(by_level: dict[str, Counter], open_by_level: Counter, targets: Targets,
                year: Mapping[str, YearFlows] | None = None) -> dict[str, Any]:
    """Day counts, the school year's statutory figures, open cases and the status against the
    targets, for both levels apart and together."""
    year = year or {}
    levels = {}
    for lv in LEVELS:
        fig = figures(by_level.get(lv, Counter()), year.get(lv))
        levels[lv] = {**fig, "open_cases": open_by_level.get(lv, 0), "status": target_status(lv, fig, targets)}
    return {**figures(add(by_level), total(dict(year))), "open_cases": sum(open_by_level.values()),
            "status": worst([levels[lv]["status"] for lv in LEVELS]), "levels": levels}


def year_info(year: SchoolYear, through: date) -> dict[str, Any]:
    return {"name": str(year), "first_day": year.first, "last_day": year.last, "through": min(through, year.last)}


async def nine_year_block(uow: UnitOfWork, org: Org, year: SchoolYear, through: date) -> dict[str, Any]:
    """九年义务教育巩固率 for the org: counted only when the history reaches back to the cohort's entry."""
    since = await records_from(uow, org)
    graduates = entrants = 0
    if since is not None and since <= year.back(8).first:
        for r in await nine_year_counts(uow, org, year, through):
            entrants += int(r["n"])
            graduates += int(r["n"]) if r["graduated"] else 0
    return vars(nine_year(year, since, graduates, entrants))


async def summary(uow: UnitOfWork, org_code: str, caller: Principal, *, day: date, tz: ZoneInfo,
                  targets: Targets, year: SchoolYear) -> dict[str, Any]:
    org = await org_in_scope(uow, org_code, caller)
    tb = await book(uow, org, targets)
    # Judged against the org's own targets (一县一策), inherited from above where it set none.
    targets = tb.for_path(org.path)
    # One pass over the history: the day's counts and the school year's flows.
    (counted,) = await year_records(uow, org, year, [day])
    rows, records = counted.tallies, counted.records
    opened = await open_cases(uow, org, end_of_day(day, tz))
    by_level = group(rows, lambda r: "all").get("all", {})
    open_by_level = Counter(c["level"] for c in opened)
    under = org.under
    year_flows = flows(records, lambda path: under in path)
    # The same figures per school system (6+3, 5+4, nine_year, twelve_year): a five-four school's
    # grade 6 is junior middle, so its levels are not a six-three school's.
    by_system = group(rows, lambda r: r["system"])
    system_of = {r["path"]: r["system"] for r in rows}
    open_by_system: dict[str, Counter] = defaultdict(Counter)
    for c in opened:
        if c["level"]:  # a case about a region (a suspected out-of-school child) has no school
            open_by_system[c["system"]][c["level"]] += 1
    systems = {system: level_block(by_system.get(system, {}), open_by_system.get(system, Counter()), targets,
                                   flows(records, lambda path, s=system: under in path and system_of.get(path) == s))
               for system in sorted(set(by_system) | set(open_by_system))}
    return {"org_code": org.code, "org_name": org.name, "org_kind": org.kind, "date": day,
            "school_year": year_info(year, day),
            **level_block(by_level, open_by_level, targets, year_flows), "systems": systems,
            "nine_year_retention": await nine_year_block(uow, org, year, day), "targets": vars(targets),
            "target_sources": tb.sources(org.path),
            "as_of": await as_of(uow)}
