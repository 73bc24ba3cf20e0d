"""Cases and dual reports: the rules, with no I/O.

The seeds' rule (000): 对48小时未到校又未履行请假手续的学生，迅速查明原因，一经确定是辍学情况，立即向当地政府和
教育部门报告. Check first; once it is a dropout, report at once to two different offices: the local
government (乡镇人民政府 / 县人民政府 / 市人民政府) and the education department of the same area (the
township's education office or 中心校 / 县教育局 / 市教育局), each with its own line upwards (双线).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cases.domain.lifecycle import UNCHECKED, CaseStatus
from shared.orgs import county_level, township_level


class Recipient(str, enum.Enum):
    """The two lines of the dual report (辍学双报告); each report goes to its line's office."""

    government = "government"  # the area's people's government (乡镇/县/市人民政府)
    education = "education"    # the area's education office (乡镇教育办或中心校 / 县教育局 / 市教育局)


LINES = tuple(Recipient)
DERIVED_SUFFIX = {Recipient.government: "GOV", Recipient.education: "EDU"}
AREA_KINDS = ("province", "city", "county", "township")


@dataclass(frozen=True)
class NamedOffice:
    """The office an area names for one line; without a name, the registry's or the code."""

    code: str
    name: str | None = None


@dataclass(frozen=True)
class RecipientOrg:
    recipient: Recipient
    org_code: str
    org_name: str
    area_code: str


def derived_office(area_code: str, line: Recipient) -> str:
    """The office of a line in an area that has not registered its offices: ``<area>-GOV`` and
    ``<area>-EDU``, two different offices by construction, usable as a token's org."""
    return f"{area_code}-{DERIVED_SUFFIX[line]}"


# --- the reporting area, by kind ----------------------------------------------------------------

def reporting_area(org_chain: Sequence[Mapping[str, str]], org_path: Sequence[str]) -> Mapping[str, str]:
    """The area whose two offices receive a case's reports, by the kinds of the orgs above the
    school, never their depth (``shared.orgs``): the nearest township (乡镇/街道), else the nearest
    county-level area (a county, a county-level unit under a province, a city without counties or
    running the school, a province running it). Without the chain the kinds are unknown: the org
    the school sits under, which always has authority over it, rather than a guess from the depth."""
    area = township_level(org_chain) or county_level(org_chain)
    if area is not None:
        return area
    if len(org_path) < 2:
        raise ValueError(f"path {list(org_path)} names nothing above the school")
    return {"code": org_path[-2], "name": org_path[-2]}


def dual_report_recipients(org_chain: Sequence[Mapping[str, str]], org_path: Sequence[str],
                           offices: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> list[RecipientOrg]:
    """The two offices that receive a case's reports: the reporting area's government office and
    its education office, as the area registered them (``offices``: (area, line) → (code, name)),
    else the derived ``<area>-GOV`` / ``<area>-EDU``. Always two different offices."""
    area = reporting_area(org_chain, org_path)
    return [office_for(area["code"], area.get("name") or area["code"], line, offices) for line in LINES]


def office_for(area_code: str, area_name: str, line: Recipient,
               offices: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> RecipientOrg:
    code, name = (offices or {}).get((area_code, line.value)) or (
        derived_office(area_code, line), f"{area_name}{'人民政府' if line is Recipient.government else '教育部门'}")
    return RecipientOrg(line, code, name, area_code)


def escalation_area(org_path: Sequence[str], area_code: str) -> str | None:
    """The area above a report's area on the case's path (a township's county, a county's city or
    province: the parent, whatever its kind); None at the top. The report escalates to that area's
    office of the same line: each line has its own way up (双线)."""
    path = list(org_path)
    if area_code not in path or path.index(area_code) == 0:
        return None
    return path[path.index(area_code) - 1]


def escalation_target(org_chain: Sequence[Mapping[str, str]], org_path: Sequence[str],
                      code: str) -> tuple[str, str] | None:
    """The org directly above ``code`` on the school's path, as (code, name), whatever its kind;
    None at the top (the legal ladder escalates an overdue step to it)."""
    above = escalation_area(org_path, code)
    if above is None:
        return None
    names = {o["code"]: o.get("name") or o["code"] for o in org_chain}
    return above, names.get(above, above)


# --- when the reports go out ------------------------------------------------------------------

def known_back(back_at: datetime | None, verify_due_at: datetime | None) -> bool:
    """The child is known to be back: a return recorded (or a late-detected episode that had
    already ended) before the verification deadline. Such a case is not reported at the deadline;
    it waits for the school's decision. The deadline sweep's SQL states the same condition."""
    return back_at is not None and (verify_due_at is None or back_at <= verify_due_at)


def deadline_reports_due(*, status: CaseStatus, reports_issued_at: datetime | None,
                         verify_due_at: datetime | None, back_at: datetime | None, now: datetime) -> bool:
    """Whether the case's two reports go out now, unverified, because nobody decided in time: not
    yet issued, still unchecked, the deadline passed, and the child not known to be back."""
    return (reports_issued_at is None and status in UNCHECKED and verify_due_at is not None
            and verify_due_at <= now and not known_back(back_at, verify_due_at))


def reports_on_decision(target: CaseStatus, *, reports_issued: bool) -> str | None:
    """What a decision does to the reports: ``issue`` them on a confirmation (unless the deadline
    already sent them), ``withdraw`` them on a false alarm after they went out unverified,
    ``none`` on a false alarm before (the timeline says no report was issued); None otherwise."""
    if target is CaseStatus.confirmed:
        return None if reports_issued else "issue"
    if target is CaseStatus.false_alarm:
        return "withdraw" if reports_issued else "none"
    return None
