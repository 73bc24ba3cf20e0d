"""Cases and dual reports: the rules, with no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.orgs import county_level, township_level

from cases.domain.lifecycle import CaseStatus  # noqa: F401 - re-exported


class Recipient(str, enum.Enum):
    """The two recipients of the dual report (辍学双报告)."""

    government = "government"  # the local government: the township's, else the county-level area's
    education = "education"    # the education department of the county-level area


@dataclass(frozen=True)
class RecipientOrg:
    recipient: Recipient
    org_code: str
    org_name: str


def dual_report_recipients(org_chain: list[dict[str, str]], org_path: list[str]) -> list[RecipientOrg]:
    """Who receives the two reports for a child at the school at the end of ``org_chain``, by the
    kinds of the orgs above it, never by their depth:

    * education: the nearest county-level area: the county (or district, or a county-level unit
      under a province, 济源), else the city that has no counties (东莞) or runs the school (市直),
      else the province (省直);
    * government: the nearest township (乡镇/街道), else that same county-level area (a school run
      by a county, a city or a province has no township above it).

    So a school directly under a city without counties sends both to the city. Without the chain
    (no registry event has said what the orgs are) the kinds are unknown: both go to the org the
    school sits under, which always has authority over it, rather than a guess from the depth."""
    county = county_level(org_chain)
    if county is None:
        if len(org_path) < 2:
            raise ValueError(f"school path {org_path} names nothing above the school")
        county = {"code": org_path[-2], "name": org_path[-2]}
    township = township_level(org_chain) or county
    return [
        RecipientOrg(Recipient.government, township["code"], township.get("name") or township["code"]),
        RecipientOrg(Recipient.education, county["code"], county.get("name") or county["code"]),
    ]


def escalation_target(org_chain: list[dict[str, str]], org_path: list[str], recipient_org_code: str) -> tuple[str, str] | None:
    """The org directly above a report's recipient on the school's path (a township's county or
    city, a county's city or province), as (code, name); None when the recipient is the top of the
    path (nothing to escalate to). The parent, whatever its kind: 济源 escalates to 河南省."""
    if recipient_org_code not in org_path or org_path.index(recipient_org_code) == 0:
        return None
    code = org_path[org_path.index(recipient_org_code) - 1]
    names = {o["code"]: o.get("name") or o["code"] for o in org_chain}
    return code, names.get(code, code)
