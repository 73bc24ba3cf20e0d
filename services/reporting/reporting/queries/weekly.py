"""The Friday weekly report (周报) for a county (or any org): totals, one row per township and
per school, this week against the previous one. Each figure is one set-based query over the
org's rows, grouped in memory by the units on each school's path."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select

from reporting.adapters.tables import (
    absence_episodes,
    cases,
    dual_reports,
    home_visits,
    overdue_transfers,
    student_statuses,
)
from reporting.domain.cases import ages, open_at
from reporting.domain.indicators import Indicator, case_standing, chain_set, monitoring, responsibility
from reporting.domain.rates import STATUS_ORDER, Targets
from reporting.domain.statutory import SchoolYear, flows_by_unit
from reporting.domain.weeks import Week
from reporting.queries.completeness import LAGGING_BELOW, week_by_school
from reporting.queries.read_model import (
    Org,
    add_row,
    as_of,
    open_cases,
    org_in_scope,
    orgs_under,
    standing_at,
    statuses_as_of,
    unit_of,
)
from reporting.queries.school_year import Day, year_records
from reporting.queries.summary import level_block, year_info
from reporting.queries.targets import TargetBook, book
from shared.auth import Principal
from shared.paths import within as at_or_under
from shared.uow import UnitOfWork

# Counts of the week's activity and of what stands open at the cut-off, in report order.
ACTIVITY = ("new_absence_episodes", "cases_opened", "cases_returned", "cases_closed", "home_visits",
            "open_cases", "unacknowledged_dual_reports", "overdue_transfers")
ALL = "all"
# Standing at the cut-off, for 责任落实 (reporting/domain/indicators.py says what is counted).
RESPONSIBILITY = ("confirmed_open_cases", "cases_with_responsible_and_plan")


YearOf = Callable[[date], SchoolYear]


async def weekly(uow: UnitOfWork, org_code: str, caller: Principal, *, week: Week, tz: ZoneInfo,
                 targets: Targets, year_of: YearOf) -> dict[str, Any]:
    org = await org_in_scope(uow, org_code, caller)
    kinds = await orgs_under(uow, org)
    tb = await book(uow, org, targets)
    before = week.previous()
    if year_of(before.friday) == year_of(week.friday):
        # Both Fridays in one school year: one pass over the history gives both.
        # (The day's counts come from the same pass.)
        this, last = await year_records(uow, org, year_of(week.friday), [week.friday, before.friday])
    else:
        (this,) = await year_records(uow, org, year_of(week.friday), [week.friday])
        (last,) = await year_records(uow, org, year_of(before.friday), [before.friday])
    current = await _figures(uow, org, kinds, week, tz, tb, this)
    previous = await _figures(uow, org, kinds, before, tz, tb, last)
    start, cutoff = week.window(tz)
    schools = await _schools_with_chain(uow, kinds, cutoff)

    def rows(kind: str) -> list[dict[str, Any]]:
        # The org itself is the totals, not a row of its own (a county's report has no county row).
        codes = sorted(c for c, o in kinds.items() if o["kind"] == kind and c != org.code)
        return [{"code": c, "name": kinds[c]["name"],
                 "township_code": unit_of(kinds[c]["path"], "township", kinds) if kind == "school" else None,
                 "current": current.get(c) or _empty(tb.for_path(kinds[c]["path"])),
                 "previous": previous.get(c) or _empty(tb.for_path(kinds[c]["path"]))}
                for c in codes]

    return {
        "org_code": org.code, "org_name": org.name, "org_kind": org.kind, "week": str(week),
        "friday": week.friday, "period": {"start": start, "cutoff": cutoff},
        "school_year": year_info(year_of(week.friday), week.friday),
        "totals": {"current": current[ALL], "previous": previous[ALL],
                   "change": _change(current[ALL], previous[ALL])},
        "counties": (counties := rows("county")), "townships": rows("township"), "schools": rows("school"),
        # Seed 000: 市教体局对实施情况进行通报，对措施不力工作滞后的县(区)进行重点督促 — the counties a city
        # (or province) presses: at risk or off target on Friday against their own targets, worst first.
        "lagging_counties": lagging(counties),
        "indicators": {"monitoring": _indicator(monitoring(await week_by_school(uow, org.path, week.friday),
                                                           LAGGING_BELOW), kinds),
                       "responsibility": _indicator(responsibility(*(current[ALL][k] for k in RESPONSIBILITY),
                                                                   *schools))},
        "as_of": await as_of(uow),
    }


def lagging(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    named = []
    for u in units:
        now = u["current"]
        if now["status"] in ("at_risk", "off_target"):
            levels = [lv for lv, f in now["levels"].items() if f["status"] in ("at_risk", "off_target")]
            named.append({"code": u["code"], "name": u["name"], "status": now["status"], "levels": levels,
                          "dropout_rate": now["dropout_rate"], "retention_rate": now["retention_rate"],
                          "year_dropouts": now["year_dropouts"], "start_roll": now["start_roll"]})
    return sorted(named, key=lambda r: (-STATUS_ORDER.index(r["status"]), -(r["dropout_rate"] or 0), r["code"]))


async def _schools_with_chain(uow: UnitOfWork, kinds: dict[str, dict[str, str]], cutoff: datetime) -> tuple[int, int]:
    """(schools under the org, those whose standing 七长/五级 chain was set by the cut-off)."""
    paths = [o["path"].strip("/").split("/") for o in kinds.values() if o["kind"] == "school"]
    standing = await standing_at(uow, {code for path in paths for code in path}, cutoff)
    return len(paths), sum(chain_set(path, standing) for path in paths)


def _indicator(indicator: Indicator, kinds: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    return {"name": indicator.name, "standing": indicator.standing,
            "parts": {name: {**vars(p), "awaiting": list(p.awaiting)} for name, p in indicator.parts.items()},
            "lagging": [{**vars(s), "name": (kinds or {}).get(s.code, {}).get("name")} for s in indicator.lagging]}


def _change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    keys = ("enrolled", "dropped_out", "returned", "dropout_rate", "retention_rate", *ACTIVITY)
    return {k: None if now[k] is None or before[k] is None else round(now[k] - before[k], 6) for k in keys}


def _empty(targets: Targets) -> dict[str, Any]:
    return {**level_block({}, Counter(), targets), **{k: 0 for k in ACTIVITY if k != "open_cases"},
            **dict.fromkeys(RESPONSIBILITY, 0), "open_cases_by_age": ages([], datetime.min)}


async def _figures(uow: UnitOfWork, org: Org, kinds: dict[str, dict[str, str]], week: Week, tz: ZoneInfo,
                   tb: TargetBook, counted: Day) -> dict[str, dict[str, Any]]:
    """unit code (or "all") -> the week's figures, for every township and school with any."""
    start, cutoff = week.window(tz)

    known: dict[str, frozenset[str]] = {}

    def units(path: str) -> Iterable[str]:
        # The township, if the school has one above it (a school of a county, a city or a
        # province has none), and the school. Worked out once per path (a few hundred).
        if path not in known:
            known[path] = frozenset({ALL, path.strip("/").split("/")[-1]} | {
                u for kind in ("township", "county") if (u := unit_of(path, kind, kinds)) and u != org.code})
        return known[path]

    under = org.under
    unit_sets: dict[str, frozenset[str]] = {}

    def units_in_org(path: str) -> frozenset[str]:
        # A child who moved out of the org still has their old school's rows: only units under it.
        if path not in unit_sets:
            unit_sets[path] = frozenset(units(path)) if under in path else frozenset()
        return unit_sets[path]

    year = flows_by_unit(counted.records, units_in_org)

    by_level: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for r in counted.tallies:
        for u in units(r["path"]):
            add_row(by_level[u][r["level"]], r)
    counts: dict[str, Counter] = defaultdict(Counter)
    opened_at: dict[str, list[datetime]] = defaultdict(list)
    open_by_level: dict[str, Counter] = defaultdict(Counter)
    responsible: dict[str, Counter] = defaultdict(Counter)
    for c in await open_cases(uow, org, cutoff):
        confirmed, persuading = case_standing(c["confirmed_at"], c["persuading_at"], cutoff,
                                              c["responsible_at"], c["planned_at"])
        for u in units(c["path"]):
            open_by_level[u][c["level"]] += 1
            opened_at[u].append(c["opened_at"])
            responsible[u].update({"confirmed_open_cases": int(confirmed),
                                   "cases_with_responsible_and_plan": int(persuading)})
    for name, paths in (await _activity(uow, org, start, cutoff, week)).items():
        for path in paths:
            for u in units(path):
                counts[u][name] += 1
    out = {}
    for u in {ALL} | set(by_level) | set(counts) | set(open_by_level) | set(year):
        # Each unit against its own targets (一县一策): the report's org for the totals.
        targets = tb.for_path(org.path if u == ALL else kinds.get(u, {}).get("path", org.path))
        block = level_block(by_level.get(u, {}), open_by_level.get(u, Counter()), targets, year.get(u))
        out[u] = {**block, **{k: counts[u][k] for k in ACTIVITY if k != "open_cases"},
                  **{k: responsible[u][k] for k in RESPONSIBILITY},
                  "open_cases_by_age": ages(opened_at.get(u, []), cutoff)}
    return out


async def _activity(uow: UnitOfWork, org: Org, start: datetime, cutoff: datetime, week: Week) -> dict[str, list[str]]:
    """The school path of every fact counted this week: one query per kind of fact."""

    def within(col):
        return and_(col >= start, col < cutoff)

    s = statuses_as_of(week.friday, only=student_statuses.c.student_id.in_(select(overdue_transfers.c.student_id)))
    queries = {
        "new_absence_episodes": select(absence_episodes.c.path).where(
            at_or_under(absence_episodes.c.path, org.path), within(absence_episodes.c.reached_at),
            absence_episodes.c.withdrawn_at.is_(None)),
        "cases_opened": select(cases.c.path).where(at_or_under(cases.c.path, org.path),
                                                   within(cases.c.opened_at)),
        "cases_returned": select(cases.c.path).where(at_or_under(cases.c.path, org.path),
                                                     within(cases.c.returned_at)),
        "cases_closed": select(cases.c.path).where(at_or_under(cases.c.path, org.path),
                                                   within(cases.c.closed_at)),
        "home_visits": select(cases.c.path).join(home_visits, home_visits.c.case_id == cases.c.case_id).where(
            at_or_under(cases.c.path, org.path), within(home_visits.c.visited_at)),
        # Issued by the cut-off and neither acknowledged nor withdrawn by then.
        "unacknowledged_dual_reports": select(cases.c.path).join(
            dual_reports, dual_reports.c.case_id == cases.c.case_id).where(
            at_or_under(cases.c.path, org.path), dual_reports.c.issued_at < cutoff,
            dual_reports.c.acknowledged_at.is_(None) | (dual_reports.c.acknowledged_at >= cutoff),
            dual_reports.c.withdrawn_at.is_(None) | (dual_reports.c.withdrawn_at >= cutoff)),
        # Flagged by the cut-off, and the child still transferred out (no receipt yet) on Friday.
        "overdue_transfers": select(overdue_transfers.c.path).join(
            s, s.c.student_id == overdue_transfers.c.student_id).where(
            at_or_under(overdue_transfers.c.path, org.path), overdue_transfers.c.flagged_at < cutoff,
            s.c.status == "transferred_out"),
    }
    return {name: list((await uow.session.execute(q)).scalars().all()) for name, q in queries.items()}



async def open_cases_trend(uow: UnitOfWork, org_code: str, caller: Principal, *, week: Week, tz: ZoneInfo,
                           weeks: int = 8) -> list[tuple[str, int]]:
    """Open cases at each of the last ``weeks`` Friday cut-offs, oldest first: one query."""
    org = await org_in_scope(uow, org_code, caller)
    series = [week]
    while len(series) < weeks:
        series.insert(0, series[0].previous())
    rows = (await uow.session.execute(select(cases.c.opened_at, cases.c.closed_at, cases.c.status).where(
        at_or_under(cases.c.path, org.path)))).all()
    # A case closed before close times were recorded counts as closed from its opening.
    spans = [(o, c if c is not None or s != "closed" else o) for o, c, s in rows]
    return list(zip((str(w) for w in series), open_at(spans, [w.window(tz)[1] for w in series])))
