"""Request bodies made into the use cases' commands: the routes build these, so no use case
imports an HTTP schema."""

from __future__ import annotations

from datetime import date

from cases.domain.ladder import GuardianResponse, Service
from cases.domain.model import NamedOffice, Recipient
from cases.domain.responsibility import Assignments, Person, VillageHead
from cases.domain.support import Aid, HomeTeachingSession
from cases.domain.work import HomeVisit, PlanItem
from cases.entrypoints.schemas.ladder import LegalResponseIn, LegalStepIn
from cases.entrypoints.schemas.recipients import RecipientsIn
from cases.entrypoints.schemas.support import AssistanceIn
from cases.entrypoints.schemas.work import HomeVisitIn, PlanItemIn, ResponsibilityIn, StandingIn
from cases.entrypoints.schemas.work import Person as PersonIn


def plan_item(body: PlanItemIn) -> PlanItem:
    return PlanItem(kind=body.kind, description=body.description, owner=body.owner, due_on=body.due_on)


def home_visit(body: HomeVisitIn) -> HomeVisit:
    return HomeVisit(visited_on=body.visited_on, visitors=tuple(body.visitors), met=tuple(body.met),
                     outcome=body.outcome, notes=body.notes, next_step=body.next_step)


def named_offices(body: RecipientsIn) -> dict[Recipient, NamedOffice]:
    return {Recipient.government: NamedOffice(body.government.code, body.government.name),
            Recipient.education: NamedOffice(body.education.code, body.education.name)}


def service(body: LegalStepIn) -> Service:
    return Service(step=body.step, issuing_org_code=body.issuing_org_code, issuing_org_name=body.issuing_org_name,
                   guardian=body.guardian, served_on=body.served_on, served_how=body.served_how,
                   deadline=body.deadline, document_number=body.document_number,
                   evidence=body.evidence.model_dump() if body.evidence else None)


def guardian_response(body: LegalResponseIn) -> GuardianResponse:
    return GuardianResponse(response=body.response, responded_on=body.responded_on, note=body.note)


def home_teaching_session(taught_on: date, hours: float, teachers: list[str], content: str) -> HomeTeachingSession:
    """From the form's fields (the lesson plan travels as a file beside them)."""
    return HomeTeachingSession(taught_on=taught_on, hours=hours, teachers=tuple(teachers), content=content)


def aid(body: AssistanceIn) -> Aid:
    return Aid(kind=body.kind, amount=body.amount, period_start=body.period_start, period_end=body.period_end,
               source=body.source)


def _person(body: PersonIn) -> Person:
    return Person(name=body.name, title=body.title, phone=body.phone, org_code=body.org_code)


def _people(body: ResponsibilityIn | StandingIn) -> dict[str, Person]:
    """The roles the body names, in its fields' order."""
    return {role: _person(given) for role in type(body).model_fields
            if isinstance(given := getattr(body, role), PersonIn)}


def chain(body: ResponsibilityIn) -> dict[str, Person]:
    """A case's chain: the roles named; a role left out keeps its person."""
    return _people(body)


def assignments(body: StandingIn) -> Assignments:
    return Assignments(people=_people(body),
                       village_heads=tuple(VillageHead(v.village, _person(v.person)) for v in body.village_heads))
