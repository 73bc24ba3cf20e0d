"""A transfer between schools as each side asks for it; the rules are ``registry.domain.lifecycle``
(``Side``, ``check_transfer_out``). No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class TransferRequest:
    """The sending school transfers a child out (转出): to a school in this system, or to a
    destination described in words."""

    to_school_code: str | None = None
    destination: str | None = None
    effective_on: date | None = None  # today when not given
    reason: str | None = None


@dataclass(frozen=True)
class TransferInRequest:
    """The receiving school asks for a child's record (转入申请), naming the child by ID number and
    name together, and the class the child joins."""

    national_id: str
    name: str
    class_id: str
    effective_on: date | None = None  # today when not given
    reason: str | None = None


@dataclass(frozen=True)
class TransferConfirmation:
    """The other side's receipt (回执)."""

    class_id: str | None = None  # the receiving school's class, when it confirms
    # The day the child arrived; when not given, today (the transfer's own day when the sending
    # school confirms a request, as the record has not moved yet).
    effective_on: date | None = None
