"""The legal ladder (seeds 001 and 003: 实行法律手段…罚款、起诉; 由司法部门向家长下发“劝返复学司法文书”),
as records beside the case status. Pure.

    parent_notice → order_to_send → [judicial_notice] → fine → lawsuit

Each step is a document served on the guardian on a date, with a deadline to comply and a
response. The next step opens only once the previous one's deadline has passed without
compliance; the judicial office's document is used only where the county has one, so a fine may
follow the order directly. The parent notice comes after the case is verified (a confirmed
dropout), never on an unchecked alarm.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.auth import Role


class Step(str, enum.Enum):
    parent_notice = "parent_notice"        # 家长通知书, from the school
    order_to_send = "order_to_send"        # 责令限期送学通知书, township government or education bureau
    judicial_notice = "judicial_notice"    # 劝返复学司法文书, via the judicial office
    fine = "fine"                          # 行政处罚 (罚款)
    lawsuit = "lawsuit"                    # 起诉


class Response(str, enum.Enum):
    complied = "complied"    # the child was sent back to school
    refused = "refused"
    no_response = "no_response"


ORDER: tuple[Step, ...] = tuple(Step)
OPTIONAL: frozenset[Step] = frozenset({Step.judicial_notice})
TITLES: dict[Step, str] = {
    Step.parent_notice: "家长通知书", Step.order_to_send: "责令限期送学通知书",
    Step.judicial_notice: "劝返复学司法文书", Step.fine: "行政处罚决定书", Step.lawsuit: "起诉状",
}
# Who records a step follows who issues it: the school its notice; the township government or the
# county education bureau the order; the county (its judicial office, bureau or government) the rest.
RECORDERS: dict[Step, frozenset[Role]] = {
    Step.parent_notice: frozenset({Role.school_staff}),
    Step.order_to_send: frozenset({Role.township_official, Role.county_official}),
    Step.judicial_notice: frozenset({Role.county_official}),
    Step.fine: frozenset({Role.county_official}),
    Step.lawsuit: frozenset({Role.county_official}),
}
# What the family did is recorded by whoever learns it on the ladder: the school hears that the
# child is back before the township does.
RESPONDERS: frozenset[Role] = frozenset({Role.school_staff, Role.township_official, Role.county_official})
# Case states in which the ladder may be climbed: a verified dropout whose case is still open.
VERIFIED_STATES = frozenset({"confirmed", "persuading", "judicial_notice"})
# From these steps on the case is in legal escalation: a persuading case moves to judicial_notice.
LEGAL_STEPS = frozenset({Step.order_to_send, Step.judicial_notice, Step.fine, Step.lawsuit})


@dataclass(frozen=True)
class StepRecord:
    step: Step
    deadline: date
    response: Response | None


@dataclass(frozen=True)
class Service:
    """A step as the issuer served it on the guardian: what the documents print and the record keeps."""

    step: Step
    issuing_org_code: str | None  # None: the recording caller's org
    issuing_org_name: str
    guardian: str | None  # None: the child's first guardian
    served_on: date
    served_how: str
    deadline: date
    document_number: str | None = None
    evidence: Mapping[str, object] | None = None  # stored as given (JSON)


@dataclass(frozen=True)
class GuardianResponse:
    response: Response
    responded_on: date
    note: str | None = None


class LadderRefused(Exception):
    """The step may not be recorded now; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_next(step: Step, *, case_status: str, previous: Sequence[StepRecord], today: date) -> None:
    """Raise LadderRefused unless ``step`` is the next one the case may take today."""
    if case_status not in VERIFIED_STATES:
        raise LadderRefused("step", f"a {case_status} case is not a verified dropout: the ladder starts only "
                                    "after the case is confirmed")
    if not previous:
        if step is not Step.parent_notice:
            raise LadderRefused("step", "the ladder starts with the school's parent notice (家长通知书)")
        return
    last = previous[-1]
    if ORDER.index(step) <= ORDER.index(last.step):
        raise LadderRefused("step", f"{step.value} was already served or passed; the last step is {last.step.value}")
    skipped = [s for s in ORDER[ORDER.index(last.step) + 1:ORDER.index(step)] if s not in OPTIONAL]
    if skipped:
        raise LadderRefused("step", f"{skipped[0].value} comes before {step.value}")
    if last.response is Response.complied:
        raise LadderRefused("step", f"the guardian complied with the {last.step.value}: no further step")
    if today <= last.deadline:
        raise LadderRefused("step", f"the {last.step.value}'s deadline ({last.deadline.isoformat()}) has not "
                                    "passed yet")


def overdue(deadline: date, response: Response | None, today: date) -> bool:
    """Past its deadline with nothing recorded: the ledger shows it, and it escalates once."""
    return response is None and today > deadline
