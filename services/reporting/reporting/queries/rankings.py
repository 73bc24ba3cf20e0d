"""Rankings and the circular (通报): schools or townships ranked by dropout rate or by how fast
cases are handled, the classes with no dropout (无辍学班级), and the laggards to be named."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from reporting.adapters.tables import cases
from reporting.domain.cases import mean_hours, ranked
from reporting.domain.rates import LEVELS, STATUS_ORDER, Targets, add, figures, target_status, worst
from reporting.domain.statutory import SchoolYear, YearFlows, YearRecord, flows_by_unit, total
from reporting.domain.weeks import end_of_day
from reporting.queries.read_model import Org, as_of, case_level, group, org_in_scope, orgs_under, unit_of
from reporting.queries.school_year import year_records
from reporting.queries.targets import book
from shared.auth import Principal
from shared.paths import within as at_or_under
from shared.uow import UnitOfWork

RankBy = Literal["dropout_rate", "time_to_first_visit", "time_to_return"]
# Units are orgs of that kind under the ranked org, wherever they sit: 济源 ranks among the
# counties of 河南 beside 郑州's, and a school counts only in the units on its own path.
Unit = Literal["township", "county", "city", "school"]


def _within(at: datetime | None, cutoff: datetime) -> datetime | None:
    """A time that had not happened yet by the cut-off does not count."""
    return at if at is not None and at < cutoff else None


async def _case_spans(uow: UnitOfWork, org: Org, cutoff: datetime) -> list[dict[str, Any]]:
    stmt = select(cases.c.path, case_level().label("level"), cases.c.opened_at, cases.c.first_visit_at,
                  cases.c.returned_at).where(
        at_or_under(cases.c.path, org.path), cases.c.opened_at < cutoff)
    return [dict(r) for r in (await uow.session.execute(stmt)).mappings().all()]


def _year_by(records: list[YearRecord], org: Org, unit: str, kinds: dict[str, dict[str, str]]
             ) -> dict[str, dict[str, YearFlows]]:
    """unit code -> level -> the school year's flows, for the units of one kind under the org."""
    cache: dict[str, frozenset[str]] = {}

    def units(path: str) -> frozenset[str]:
        if path not in cache:
            code = unit_of(path, unit, kinds) if org.under in path else None
            cache[path] = frozenset({code}) if code else frozenset()
        return cache[path]

    return flows_by_unit(records, units)


async def rankings(uow: UnitOfWork, org_code: str, caller: Principal, *, by: RankBy, unit: Unit,
                   level: str | None, day: date, tz: ZoneInfo, targets: Targets, year: SchoolYear) -> dict[str, Any]:
    """Lowest first: a lower statutory dropout rate (年辍学率 of the school year to ``day``), a
    quicker first visit (hours from opening), a quicker return (hours from opening to the child
    back in school). Units without a value come last."""
    org = await org_in_scope(uow, org_code, caller)
    kinds = await orgs_under(uow, org)
    codes = sorted(c for c, o in kinds.items() if o["kind"] == unit)
    rows: list[dict[str, Any]]
    if by == "dropout_rate":
        # One pass for the day's counts and the year's flows, as the summary's.
        (counted,) = await year_records(uow, org, year, [day])
        per_unit = group(counted.tallies, lambda r: unit_of(r["path"], unit, kinds))
        per_year = _year_by(counted.records, org, unit, kinds)
        tb = await book(uow, org, targets)
        rows = []
        for code in codes:
            tally, flows = per_unit.get(code, {}), per_year.get(code, {})
            held = tb.for_path(kinds[code]["path"])  # the unit's own targets (一县一策)
            fig = (figures(tally.get(level, Counter()), flows.get(level)) if level
                   else figures(add(tally), total(flows)))
            status = (target_status(level, fig, held) if level
                      else worst([target_status(lv, figures(tally.get(lv, Counter()), flows.get(lv)), held)
                                  for lv in LEVELS]))
            rows.append({"code": code, "name": kinds[code]["name"], "value": fig["dropout_rate"],
                         "enrolled": fig["enrolled"], "dropped_out": fig["dropped_out"],
                         "start_roll": fig["start_roll"], "year_dropouts": fig["year_dropouts"], "status": status})
    else:
        cutoff = end_of_day(day, tz)
        end = "first_visit_at" if by == "time_to_first_visit" else "returned_at"
        spans: dict[str, list] = defaultdict(list)
        for c in await _case_spans(uow, org, cutoff):
            if level is None or c["level"] == level:
                spans[unit_of(c["path"], unit, kinds)].append((c["opened_at"], _within(c[end], cutoff)))
        rows = [{"code": code, "name": kinds[code]["name"], "value": mean_hours(spans.get(code, [])),
                 "cases": len(spans.get(code, [])), "done": sum(1 for _, e in spans.get(code, []) if e)}
                for code in codes]
    return {"org_code": org.code, "org_name": org.name, "by": by, "unit": unit, "level": level, "date": day,
            "school_year": str(year), "rows": ranked(rows, "value"), "as_of": await as_of(uow)}


# The units a circular names, the largest first: a province's circular names its cities and
# counties, a city's its counties (seed 000: 对措施不力工作滞后的县(区)进行重点督促), a county's its
# townships and schools.
CIRCULAR_UNITS = ("city", "county", "township", "school")


async def circular(uow: UnitOfWork, org_code: str, caller: Principal, *, day: date,
                   targets: Targets, year: SchoolYear) -> dict[str, Any]:
    """No-dropout classes (无辍学班级: children on the roll and none dropped out on ``day``) and the
    laggards: every city, county, township and school under the org whose statutory rates for the
    school year are at risk or off target, the worst first."""
    org = await org_in_scope(uow, org_code, caller)
    kinds = await orgs_under(uow, org)
    # One pass for the day's counts per class and the year's flows.
    (counted,) = await year_records(uow, org, year, [day], by_class=True)
    rows, records = counted.tallies, counted.records
    tb = await book(uow, org, targets)
    classes = group([r for r in rows if r["class_id"]], lambda r: f"{r['path']}|{r['class_id']}")
    grades = {f"{r['path']}|{r['class_id']}": r["grade"] for r in rows}
    no_dropout = []
    for key, by_level in sorted(classes.items()):
        fig = figures(add(by_level))
        if fig["on_roll"] and not fig["dropped_out"]:
            path, class_id = key.split("|")
            school = path.strip("/").split("/")[-1]
            no_dropout.append({"class_id": class_id, "school_code": school,
                               "school_name": kinds.get(school, {}).get("name"), "grade": grades[key],
                               "on_roll": fig["on_roll"]})
    laggards = []
    for unit in CIRCULAR_UNITS:
        per_unit = group(rows, lambda r: unit_of(r["path"], unit, kinds))
        per_year = _year_by(records, org, unit, kinds)
        for code in sorted(set(per_unit) | set(per_year)):
            if code is None or code == org.code or kinds.get(code, {}).get("kind") != unit:
                continue
            by_level, flows = per_unit.get(code, {}), per_year.get(code, {})
            for lv in LEVELS:
                fig = figures(by_level.get(lv, Counter()), flows.get(lv))
                status = target_status(lv, fig, tb.for_path(kinds[code]["path"]))
                if status in ("at_risk", "off_target"):
                    laggards.append({"code": code, "name": kinds[code]["name"], "kind": unit, "level": lv,
                                     "status": status, "dropout_rate": fig["dropout_rate"],
                                     "retention_rate": fig["retention_rate"], "dropped_out": fig["year_dropouts"],
                                     "start_roll": fig["start_roll"]})
    rank = {k: i for i, k in enumerate(CIRCULAR_UNITS)}
    laggards.sort(key=lambda r: (-STATUS_ORDER.index(r["status"]), -(r["dropout_rate"] or 0), rank[r["kind"]],
                                 r["code"]))
    return {"org_code": org.code, "org_name": org.name, "date": day, "school_year": str(year),
            "classes": len(classes), "no_dropout_classes": no_dropout, "laggards": laggards,
            "as_of": await as_of(uow)}
