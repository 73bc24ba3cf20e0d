"""Cases and dual reports: the rules, with no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cases.domain.lifecycle import CaseStatus  # noqa: F401 - re-exported


class Recipient(str, enum.Enum):
    """The two recipients of the dual report (辍学双报告)."""

    government = "government"  # the local government: the township's, or the county's for county-run schools
    education = "education"    # the county education department


@dataclass(frozen=True)
class RecipientOrg:
    recipient: Recipient
    org_code: str
    org_name: str


def dual_report_recipients(org_chain: list[dict[str, str]], org_path: list[str]) -> list[RecipientOrg]:
    """Who receives the two reports for a child at the school at the end of ``org_chain``.

    Without the chain (the registry event has not arrived yet) the path alone is used: by the
    administrative code layout, the third element of the path is the county."""
    by_kind = {o["kind"]: o for o in org_chain}
    county = by_kind.get("county") or ({"code": org_path[2], "name": org_path[2]} if len(org_path) > 2 else None)
    if county is None:
        raise ValueError(f"school path {org_path} names no county")
    township = by_kind.get("township") or county
    return [
        RecipientOrg(Recipient.government, township["code"], township["name"]),
        RecipientOrg(Recipient.education, county["code"], county["name"]),
    ]


def escalation_target(org_chain: list[dict[str, str]], org_path: list[str], recipient_org_code: str) -> tuple[str, str] | None:
    """The org one level above a report's recipient (township → county, county → city), as
    (code, name); None when the recipient is the top of the path (nothing to escalate to)."""
    if recipient_org_code not in org_path or org_path.index(recipient_org_code) == 0:
        return None
    code = org_path[org_path.index(recipient_org_code) - 1]
    names = {o["code"]: o.get("name") or o["code"] for o in org_chain}
    return code, names.get(code, code)
