"""Cases HTTP routes: thin, they parse, call a handler or a query, and shape the answer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from shared.auth import OFFICIALS, PEOPLE, PrincipalDep, Role, access
from shared.errors import Invalid
from shared.export import EXPORT_RESPONSES, tabular_response
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep
from shared.types import Day

from cases import handlers, queries
from cases.domain.lifecycle import CaseStatus
from cases.domain.model import Recipient
from cases.entrypoints.schemas import (
    CaseDetail, CaseOut, CaseReport, DualReportOut, HomeVisitIn, HomeVisitOut, HomeVisitSummary, LedgerRow,
    PlanItemIn, PlanItemOut, PlanItemUpdate, RecipientsIn, RecipientsOut, ResponsibilityIn, TransitionIn,
)

router = APIRouter(prefix="/v1", tags=["cases"])
# Who runs the work on a case: the school and the officials (a head teacher for their classes).
WORKERS = PEOPLE


def rule(*roles, scope: str, audit: bool = False, responses: dict | None = None) -> dict:
    """``access(...)`` with more documented responses merged into its own."""
    kwargs = access(*roles, scope=scope, audit=audit)
    kwargs["responses"] = {**kwargs["responses"], **(responses or {})}
    return kwargs


def _verify_deadline(runtime) -> timedelta:
    return timedelta(hours=runtime.settings.verify_deadline_hours)


OrgCode = Annotated[str | None, Query(max_length=32, description="any level: school, township, county...")]


@router.get("/cases", response_model=Page[CaseOut], **access(PEOPLE, scope="list"))
async def list_cases(
    uow: UoWDep,
    page: PageDep,
    caller: PrincipalDep,
    student_id: Annotated[str | None, Query(max_length=36)] = None,
    status: CaseStatus | None = None,
    org_code: OrgCode = None,
):
    items, total = await queries.list_cases(uow, page, caller, student_id=student_id,
                                            status=status.value if status else None, org_code=org_code)
    return Page.of(items, total, page)


@router.post("/cases", response_model=CaseDetail, status_code=201, **rule(
    PEOPLE, scope="create", responses={200: {"model": CaseDetail, "description": "The child already had an open "
                                                                                "case: the report joined its timeline"}}))
async def report_child(body: CaseReport, uow: UoWDep, caller: PrincipalDep, response: Response,
                       runtime: RuntimeDep):
    """A teacher or an official reports a child (manual opening). One open case per child: if
    the child has one, the report is added to its timeline and that case is returned with 200."""
    case, created = await handlers.open_manually(uow, caller, body.student_id, body.note,
                                                 verify_deadline=_verify_deadline(runtime))
    response.status_code = 201 if created else 200
    return case


@router.get("/cases/ledger", response_model=Page[LedgerRow],
            **rule(PEOPLE, scope="list", audit=True, responses=EXPORT_RESPONSES))
async def dropout_ledger(
    uow: UoWDep, page: PageDep, caller: PrincipalDep, runtime: RuntimeDep,
    format: Literal["json", "csv", "xlsx"] = "json",
    status: CaseStatus | None = None,
    org_code: OrgCode = None,
    school_code: Annotated[str | None, Query(max_length=32)] = None,
    opened_from: Annotated[Day | None, Query(description="cases opened on or after this local date")] = None,
    opened_to: Annotated[Day | None, Query(description="cases opened on or before this local date")] = None,
    flag: Annotated[str | None, Query(max_length=32, description="e.g. left_behind, poor_household")] = None,
):
    """The dropout persuasion ledger (控辍保学劝返台账): overdue cases first (a plan item past its
    due date, or a dual report unacknowledged past the deadline), then newest first. `format=csv`
    or `xlsx` downloads the same page with Chinese headings."""
    if opened_from and opened_to and opened_from > opened_to:
        raise Invalid("opened_from is after opened_to", errors=[
            {"field": "opened_from", "pointer": "/opened_from", "message": "must not be after opened_to"}])
    rows, total = await queries.ledger(
        uow, page, caller, status=status.value if status else None, org_code=org_code, school_code=school_code,
        opened_from=opened_from, opened_to=opened_to, flag=flag, tz=runtime.settings.timezone,
        report_deadline=timedelta(hours=runtime.settings.escalation_deadline_hours))
    name = f"dropout-ledger-{org_code or caller.org}"
    response = tabular_response(format, queries.LEDGER_COLUMNS, rows, filename=name, sheet="劝返台账",
                                json_body=Page.of(rows, total, page))
    response.headers["X-Total-Count"] = str(total)
    return response


@router.get("/cases/{case_id}", response_model=CaseDetail, **access(PEOPLE, scope="object", audit=True))
async def get_case(case_id: str, uow: UoWDep, caller: PrincipalDep):
    """The case with its dual reports, plan, home visits and its timeline, oldest entry first."""
    return await queries.get_case(uow, case_id, caller)


@router.post("/cases/{case_id}/transitions", response_model=CaseDetail, **rule(
    WORKERS, scope="object", responses={409: {"description": "Not a legal move from the case's state"},
                                        422: {"description": "A legal move missing its data (reason, plan, evidence)"}}))
async def move_case(case_id: str, body: TransitionIn, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep):
    """Move the case through its lifecycle (see the README's table). Moving to the state the case
    is already in changes nothing, so a retried request is harmless."""
    evidence = body.evidence.model_dump(mode="json", exclude_none=True) if body.evidence else None
    return await handlers.transition(
        uow, case_id, caller, to=body.to, reason=body.reason.value if body.reason else None, evidence=evidence,
        note=body.note, reopen_window=timedelta(days=runtime.settings.reopen_window_days),
        verify_deadline=_verify_deadline(runtime), causes=[c.value for c in body.causes or []] or None,
        cause_note=body.cause_note)


@router.put("/cases/{case_id}/responsibility", response_model=CaseDetail,
            **access(Role.school_staff, OFFICIALS, scope="object"))
async def assign_responsibility(case_id: str, body: ResponsibilityIn, uow: UoWDep, caller: PrincipalDep):
    """Name the person responsible for bringing the child back (劝返责任人) and the chain above."""
    return await handlers.assign_responsibility(uow, case_id, caller, body.model_dump(mode="json"))


@router.post("/cases/{case_id}/plan-items", response_model=PlanItemOut, status_code=201,
             **access(WORKERS, scope="object"))
async def add_plan_item(case_id: str, body: PlanItemIn, uow: UoWDep, caller: PrincipalDep):
    """An item of the plan of persuasion, care and assistance, with its owner and due date."""
    return await handlers.add_plan_item(uow, case_id, caller, body.model_dump())


@router.patch("/cases/{case_id}/plan-items/{item_id}", response_model=PlanItemOut, **access(WORKERS, scope="object"))
async def update_plan_item(case_id: str, item_id: str, body: PlanItemUpdate, uow: UoWDep, caller: PrincipalDep):
    return await handlers.set_plan_item_done(uow, case_id, item_id, caller, body.done)


@router.post("/cases/{case_id}/home-visits", response_model=HomeVisitOut, status_code=201,
             **access(WORKERS, scope="object"))
async def add_home_visit(case_id: str, body: HomeVisitIn, uow: UoWDep, caller: PrincipalDep):
    """A home visit (家访登记): who went, whom they met, what came of it, the next step."""
    return await handlers.add_home_visit(uow, case_id, caller, body.model_dump())


@router.get("/home-visits/summary", response_model=HomeVisitSummary,
            **access(Role.head_teacher, Role.school_staff, OFFICIALS, scope="object"))
async def home_visit_summary(
    uow: UoWDep, caller: PrincipalDep,
    org_code: Annotated[str, Query(max_length=32)],
    since: Annotated[date, Query(description="first day of the term")],
    until: Annotated[date, Query(description="last day of the term")],
):
    """Home visits per visitor in a term under an org (the duty: e.g. 40 per head teacher)."""
    if since > until:
        raise Invalid("since is after until", errors=[
            {"field": "since", "pointer": "/since", "message": "must not be after until"}])
    visitors = await queries.home_visit_summary(uow, caller, org_code=org_code, since=since, until=until)
    return {"org_code": org_code, "since": since, "until": until, "visitors": visitors}


@router.post("/cases/{case_id}/reports/{recipient}/ack", response_model=DualReportOut,
             **access(Role.recipient, OFFICIALS, scope="own"))
async def acknowledge_report(case_id: str, recipient: Recipient, uow: UoWDep, caller: PrincipalDep):
    """The recipient office (a `recipient` token whose org is the office the report was sent to:
    registered, or the derived `<area>-GOV` / `<area>-EDU`) confirms it received the report, or an
    official of the office's area does so for it. Idempotent."""
    return await handlers.acknowledge(uow, case_id, recipient, caller)


@router.get("/recipients/{area_code}", response_model=RecipientsOut, **access(OFFICIALS, scope="object"))
async def get_recipients(area_code: str, uow: UoWDep, caller: PrincipalDep):
    """The area's two dual-report offices (government line, education line)."""
    return await handlers.get_recipients(uow, area_code, caller)


@router.put("/recipients/{area_code}", response_model=RecipientsOut, **rule(
    OFFICIALS, scope="object", responses={422: {"description": "The two offices are not two distinct offices "
                                                               "of this area's lines"}}))
async def put_recipients(area_code: str, body: RecipientsIn, uow: UoWDep, caller: PrincipalDep):
    """Officials of the area or above name its two offices: the people's government (乡镇/县/市
    人民政府) and the education office (乡镇教育办或中心校 / 县教育局 / 市教育局). Until then reports go to
    `<area>-GOV` and `<area>-EDU`."""
    return await handlers.put_recipients(uow, area_code, caller, body.model_dump())
