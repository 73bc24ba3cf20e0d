"""What personal data each role sees in full. Children's records: the PIPL treats the data of
under-14s as sensitive, so everything is masked unless the role's work needs the full value."""

from __future__ import annotations

from typing import Any

from shared.auth import Principal, Role

# Who needs the whole ID number: the school office (it keeps the record) and the county bureau
# (it reconciles with household registration). Everyone else identifies a child by name and id.
FULL_NATIONAL_ID = frozenset({Role.school_staff, Role.county_official})
# Who phones families: the head teacher, the school, and the officials who persuade (劝返).
FULL_PHONE = frozenset({Role.head_teacher, Role.school_staff, Role.township_official, Role.county_official})


def mask_national_id(number: str) -> str:
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "*" * len(number)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def guardians_for(guardians: list[dict[str, Any]], caller: Principal | None) -> list[dict[str, Any]]:
    """Guardians with their phones masked unless the caller phones families (None: an event)."""
    if caller is not None and caller.role in FULL_PHONE:
        return guardians
    return [{**g, "phone": mask_phone(g.get("phone"))} for g in guardians]
