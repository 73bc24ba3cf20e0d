"""Cases HTTP routes: thin, they parse, call a handler or a query, and shape the answer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile

from cases.adapters.files import ACCEPTED
from cases.domain.lifecycle import CaseStatus
from cases.domain.model import Recipient
from cases.domain.moves import MoveRequest
from cases.entrypoints import commands
from cases.entrypoints.deps import VisibleCase, VisibleLadderCase
from cases.entrypoints.schemas.case import CaseDetail, CaseOut, CaseReport, DualReportOut, LedgerRow, TransitionIn
from cases.entrypoints.schemas.ladder import LegalResponseIn, LegalStepIn, LegalStepOut
from cases.entrypoints.schemas.recipients import RecipientsIn, RecipientsOut
from cases.entrypoints.schemas.support import (
    AssistanceIn,
    AssistanceOut,
    HomeTeachingCounts,
    HomeTeachingOut,
    PovertyReport,
)
from cases.entrypoints.schemas.work import (
    HomeVisitIn,
    HomeVisitOut,
    HomeVisitRegister,
    HomeVisitSummary,
    PlanItemIn,
    PlanItemOut,
    PlanItemUpdate,
    ResponsibilityIn,
    StandingIn,
    StandingOut,
)
from cases.queries import case as case_queries
from cases.queries import ladder as ladder_queries
from cases.queries import recipients as recipient_queries
from cases.queries import registers
from cases.queries import standing as standing_queries
from cases.queries import support as support_queries
from cases.usecases import (
    dual_reports,
    home_visits,
    ladder,
    moves,
    opening,
    plans,
    recipients,
    responsibility,
    standing,
    support,
)
from shared.auth import OFFICIALS, PEOPLE, PrincipalDep, Role, access
from shared.errors import Invalid
from shared.export import EXPORT_RESPONSES, Sheet, sheets_response, tabular_response
from shared.pagination import Page, PageDep
from shared.service import RuntimeDep, UoWDep
from shared.text import problem_with
from shared.types import EARLIEST_SCHOOL_DAY, ORG_CODE_PATTERN, Day

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


OrgCode = Annotated[str | None, Query(pattern=ORG_CODE_PATTERN, description="any level: school, township, county...")]


@router.get("/cases", response_model=Page[CaseOut], **access(PEOPLE, scope="list"))
async def list_cases(
    uow: UoWDep,
    page: PageDep,
    caller: PrincipalDep,
    student_id: Annotated[str | None, Query(max_length=36)] = None,
    status: CaseStatus | None = None,
    org_code: OrgCode = None,
):
    items, total = await case_queries.list_cases(uow, page, caller, student_id=student_id,
                                            status=status.value if status else None, org_code=org_code)
    return Page.of(items, total, page)


@router.post("/cases", response_model=CaseDetail, status_code=201, **rule(
    PEOPLE, scope="create", responses={200: {"model": CaseDetail, "description": "The child already had an open "
                                                                                "case: the report joined its timeline"}}))
async def report_child(body: CaseReport, uow: UoWDep, caller: PrincipalDep, response: Response,
                       runtime: RuntimeDep):
    """A teacher or an official reports a child (manual opening). One open case per child: if
    the child has one, the report is added to its timeline and that case is returned with 200."""
    case, created = await opening.open_manually(uow, caller, body.student_id, body.note,
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
    school_code: Annotated[str | None, Query(pattern=ORG_CODE_PATTERN)] = None,
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
    rows, total = await case_queries.ledger(
        uow, page, caller, status=status.value if status else None, org_code=org_code, school_code=school_code,
        opened_from=opened_from, opened_to=opened_to, flag=flag, tz=runtime.settings.timezone,
        report_deadline=timedelta(hours=runtime.settings.escalation_deadline_hours))
    name = f"dropout-ledger-{org_code or caller.org}"
    response = tabular_response(format, case_queries.LEDGER_COLUMNS, rows, filename=name, sheet="劝返台账",
                                json_body=Page.of(rows, total, page))
    response.headers["X-Total-Count"] = str(total)
    return response


@router.get("/cases/{case_id}", response_model=CaseDetail, **access(PEOPLE, scope="object", audit=True))
async def get_case(case_id: str, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep):
    """The case with its dual reports, plan, home visits, legal steps and its timeline, oldest entry first."""
    return await case_queries.get_case(uow, case_id, caller, tz=runtime.settings.timezone)


@router.post("/cases/{case_id}/transitions", response_model=CaseDetail, **rule(
    WORKERS, scope="object", responses={409: {"description": "Not a legal move from the case's state"},
                                        422: {"description": "A legal move missing its data (reason, plan, evidence)"}}))
async def move_case(case: VisibleCase, body: TransitionIn, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep):
    """Move the case through its lifecycle (see the README's table). Moving to the state the case
    is already in changes nothing, so a retried request is harmless."""
    request = MoveRequest(
        body.to, actor=caller.subject, reason=body.reason.value if body.reason else None,
        evidence=body.evidence.model_dump(mode="json", exclude_none=True) if body.evidence else None,
        note=body.note, causes=tuple(c.value for c in body.causes or []), cause_note=body.cause_note)
    return await moves.transition(uow, case, caller, request,
                                  reopen_window=timedelta(days=runtime.settings.reopen_window_days),
                                  verify_deadline=_verify_deadline(runtime))


@router.put("/cases/{case_id}/responsibility", response_model=CaseDetail,
            **access(Role.school_staff, OFFICIALS, scope="object"))
async def assign_responsibility(case: VisibleCase, body: ResponsibilityIn, uow: UoWDep, caller: PrincipalDep):
    """Name the person responsible for bringing the child back (劝返责任人) and the chain above."""
    return await responsibility.assign_responsibility(uow, case, caller, commands.chain(body))


@router.post("/cases/{case_id}/plan-items", response_model=PlanItemOut, status_code=201,
             **access(WORKERS, scope="object"))
async def add_plan_item(case: VisibleCase, body: PlanItemIn, uow: UoWDep, caller: PrincipalDep):
    """An item of the plan of persuasion, care and assistance, with its owner and due date."""
    return await plans.add_plan_item(uow, case, caller, commands.plan_item(body))


@router.patch("/cases/{case_id}/plan-items/{item_id}", response_model=PlanItemOut, **access(WORKERS, scope="object"))
async def update_plan_item(case: VisibleCase, item_id: str, body: PlanItemUpdate, uow: UoWDep, caller: PrincipalDep):
    return await plans.set_plan_item_done(uow, case, item_id, caller, body.done)


@router.post("/cases/{case_id}/home-visits", response_model=HomeVisitOut, status_code=201,
             **access(WORKERS, scope="object"))
async def add_home_visit(case: VisibleCase, body: HomeVisitIn, uow: UoWDep, caller: PrincipalDep):
    """A home visit (家访登记): who went, whom they met, what came of it, the next step."""
    return await home_visits.add_home_visit(uow, case, caller, commands.home_visit(body))


@router.get("/home-visits/summary", response_model=HomeVisitSummary,
            **access(Role.head_teacher, Role.school_staff, OFFICIALS, scope="object"))
async def home_visit_summary(
    uow: UoWDep, caller: PrincipalDep,
    org_code: Annotated[str, Query(max_length=32)],
    since: Annotated[Day, Query(description="first day of the term")],
    until: Annotated[Day, Query(description="last day of the term")],
):
    """Home visits per visitor in a term under an org (the duty: e.g. 40 per head teacher)."""
    if since > until:
        raise Invalid("since is after until", errors=[
            {"field": "since", "pointer": "/since", "message": "must not be after until"}])
    visitors = await case_queries.home_visit_summary(uow, caller, org_code=org_code, since=since, until=until)
    return {"org_code": org_code, "since": since, "until": until, "visitors": visitors}


@router.post("/cases/{case_id}/reports/{recipient}/ack", response_model=DualReportOut,
             **access(Role.recipient, OFFICIALS, scope="own"))
async def acknowledge_report(case_id: str, recipient: Recipient, uow: UoWDep, caller: PrincipalDep):
    """The recipient office (a `recipient` token whose org is the office the report was sent to:
    registered, or the derived `<area>-GOV` / `<area>-EDU`) confirms it received the report, or an
    official of the office's area does so for it. Idempotent."""
    return await dual_reports.acknowledge(uow, case_id, recipient, caller)


@router.get("/recipients/{area_code}", response_model=RecipientsOut, **access(OFFICIALS, scope="object"))
async def get_recipients(area_code: str, uow: UoWDep, caller: PrincipalDep):
    """The area's two dual-report offices (government line, education line)."""
    return await recipient_queries.get_recipients(uow, area_code, caller)


@router.put("/recipients/{area_code}", response_model=RecipientsOut, **rule(
    OFFICIALS, scope="object", responses={422: {"description": "The two offices are not two distinct offices "
                                                               "of this area's lines"}}))
async def put_recipients(area_code: str, body: RecipientsIn, uow: UoWDep, caller: PrincipalDep):
    """Officials of the area or above name its two offices: the people's government (乡镇/县/市
    人民政府) and the education office (乡镇教育办或中心校 / 县教育局 / 市教育局). Until then reports go to
    `<area>-GOV` and `<area>-EDU`."""
    return await recipients.put_recipients(uow, area_code, caller, commands.named_offices(body))


PlaceCode = Annotated[str, Path(min_length=1, max_length=36, description="an org code (county, township, school) "
                                                                           "or a class id")]


@router.put("/responsibility/{org_code}", response_model=StandingOut,
            **access(Role.school_staff, OFFICIALS, scope="object"))
async def set_standing_responsibility(org_code: PlaceCode, body: StandingIn, uow: UoWDep, caller: PrincipalDep):
    """Set the standing 七长/五级 assignments of a county, township, school or class (a PUT
    replaces them). Every case opened afterwards under the place starts with these people in
    its chain; a case may override its own (`PUT /v1/cases/{id}/responsibility`). A role the
    place does not hold (a principal on a county) is a 422 naming it."""
    return await standing.set_standing(uow, org_code, caller, commands.assignments(body))


@router.get("/responsibility/{org_code}", response_model=StandingOut, **access(PEOPLE, scope="object"))
async def get_standing_responsibility(org_code: PlaceCode, uow: UoWDep, caller: PrincipalDep):
    return await standing_queries.get_standing(uow, org_code, caller)


@router.post("/students/{student_id}/home-visits", response_model=HomeVisitOut, status_code=201,
             **access(Role.head_teacher, Role.school_staff, OFFICIALS, scope="object"))
async def add_student_home_visit(student_id: Annotated[str, Path(max_length=36)], body: HomeVisitIn,
                                 uow: UoWDep, caller: PrincipalDep):
    """A home visit to any child, with or without a case: the register (家访登记表) counts the
    recorder (the token's subject). When the child has an open case the visit is on it as well."""
    return await home_visits.add_student_home_visit(uow, student_id, caller, commands.home_visit(body))


@router.get("/home-visits/register", response_model=HomeVisitRegister,
            **rule(PEOPLE, scope="object", audit=True, responses=EXPORT_RESPONSES))
async def home_visit_register(
    uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep,
    org_code: Annotated[str, Query(max_length=32)],
    since: Annotated[date, Query(description="first day of the term")],
    until: Annotated[date, Query(description="last day of the term")],
    format: Literal["json", "csv", "xlsx"] = "json",
):
    """The home-visit register (家访登记表) of a term under an org: visits per recorder against
    `BAOXUE_HOME_VISITS_PER_TERM` (seed 002: 每名班主任每学期入户家访要在40人次以上), fewest first,
    and every relapsed child (returned within a year, or a reopened case) with fewer than
    `BAOXUE_HOME_VISITS_RELAPSED_MIN` visits this term (有反复的学生家访次数要达到2次以上)."""
    if since > until:
        raise Invalid("since is after until", errors=[
            {"field": "since", "pointer": "/since", "message": "must not be after until"}])
    s = runtime.settings
    body = await registers.home_visit_register(uow, caller, org_code=org_code, since=since, until=until,
                                               per_term=s.home_visits_per_term,
                                               relapsed_min=s.home_visits_relapsed_min)
    return sheets_response(format, [Sheet("家访登记", registers.RECORDER_COLUMNS, body["recorders"]),
                                    Sheet("有反复学生家访不足", registers.RELAPSED_COLUMNS, body["relapsed"])],
                           filename=f"home-visit-register-{org_code}-{since}-{until}", body=body,
                           model=HomeVisitRegister)


CaseId = Annotated[str, Path(max_length=36)]
LADDER_RECORDERS = (Role.school_staff, Role.township_official, Role.county_official)


@router.post("/cases/{case_id}/legal-steps", response_model=LegalStepOut, status_code=201, **rule(
    *LADDER_RECORDERS, scope="object", responses={
        409: {"description": "Not the step the case may take now (not verified, previous deadline not passed...)"},
        503: {"description": "No CJK font to write the PDF with"}}))
async def serve_legal_step(case: VisibleLadderCase, body: LegalStepIn, uow: UoWDep, caller: PrincipalDep,
                           runtime: RuntimeDep):
    """Record a step of the legal ladder served on the guardian (家长通知书 → 责令限期送学通知书 →
    劝返复学司法文书 → 行政处罚 → 起诉). Its DOCX and PDF are written from the case and stored with
    their SHA-256. The school records the parent notice, the township or county the order, the
    county the rest (403 otherwise). The next step opens only once the previous deadline has
    passed without compliance (409)."""
    return await ladder.serve_step(uow, case, caller, commands.service(body),
                                   tz=runtime.settings.timezone, font=runtime.settings.cjk_font)


@router.patch("/cases/{case_id}/legal-steps/{step_id}", response_model=LegalStepOut,
              **access(*LADDER_RECORDERS, scope="object"))
async def record_legal_response(case: VisibleLadderCase, step_id: CaseId, body: LegalResponseIn, uow: UoWDep,
                                caller: PrincipalDep, runtime: RuntimeDep):
    """The guardian's response to a step: complied (the ladder stops), refused or no response."""
    return await ladder.record_response(uow, case, step_id, caller, commands.guardian_response(body),
                                        tz=runtime.settings.timezone)


@router.get("/cases/{case_id}/legal-steps/{step_id}/documents/{fmt}", **rule(
    PEOPLE, scope="object", audit=True, responses={200: {"content": {
        ladder_queries.DOCUMENT_TYPES["docx"]: {"schema": {"type": "string", "format": "binary"}},
        ladder_queries.DOCUMENT_TYPES["pdf"]: {"schema": {"type": "string", "format": "binary"}}},
        "description": "The document as generated; X-Content-SHA256 is the digest on the timeline"}}))
async def legal_document(case: VisibleLadderCase, step_id: CaseId, fmt: Literal["docx", "pdf"], uow: UoWDep):
    content, digest = await ladder_queries.legal_document(uow, case, step_id, fmt)
    return Response(content, media_type=ladder_queries.DOCUMENT_TYPES[fmt], headers={
        "X-Content-SHA256": digest, "Content-Disposition": f'attachment; filename="{step_id}.{fmt}"'})


StudentId = Annotated[str, Path(max_length=36)]


@router.post("/students/{student_id}/home-teaching", response_model=HomeTeachingOut, status_code=201, **rule(
    PEOPLE, scope="object", responses={413: {"description": "The lesson plan is over BAOXUE_LESSON_PLAN_MAX_BYTES"}}))
async def record_home_teaching(
    student_id: StudentId, uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep,
    taught_on: Annotated[date, Form()],
    hours: Annotated[float, Form(gt=0, le=24)],
    teachers: Annotated[list[str], Form(min_length=1, max_length=10, description="the teachers who went")],
    content: Annotated[str, Form(min_length=1, max_length=4000, description="what was taught")],
    lesson_plan: Annotated[UploadFile, File(description="the lesson plan (教案): PDF, DOCX, PNG or JPEG")],
):
    """A home-teaching session (送教上门; seed 003: 派老师送教上门，做到有教案，有记录). It belongs to the
    child: the case may close while teaching goes on. The lesson plan's type is read from its
    bytes; a wrong type (422) or an oversized file (413) stores nothing."""
    # Form fields bypass the JSON schemas' text types, so the same rules are applied here: what
    # is stored is printed on registers and documents, which cannot hold control characters.
    for pointer, value, message in (
            *((f"/teachers/{i}", t, problem_with(t, name=True) or (None if len(t) <= 100 else "over 100 characters"))
              for i, t in enumerate(teachers)),
            ("/content", content, problem_with(content, multiline=True))):
        if message:
            raise Invalid(f"{pointer[1:]}: {message}", errors=[
                {"field": pointer[1:].split("/")[0], "pointer": pointer, "message": message}])
    if not EARLIEST_SCHOOL_DAY <= taught_on <= (uow.clock.now() + timedelta(hours=14)).date():
        raise Invalid("taught_on is out of range: a lesson is recorded after it was given", errors=[
            {"field": "taught_on", "pointer": "/taught_on", "message": "before 2000 or after today"}])
    limit = runtime.settings.lesson_plan_max_bytes
    data = await lesson_plan.read(limit + 1)
    return await support.record_session(
        uow, student_id, caller, commands.home_teaching_session(taught_on, hours, teachers, content),
        filename=lesson_plan.filename or "", content=data, max_bytes=limit)


@router.get("/students/{student_id}/home-teaching", response_model=list[HomeTeachingOut],
            **access(PEOPLE, scope="object"))
async def list_home_teaching(student_id: StudentId, uow: UoWDep, caller: PrincipalDep):
    return await support_queries.list_sessions(uow, student_id, caller)


@router.get("/students/{student_id}/home-teaching/{session_id}/lesson-plan", **rule(
    PEOPLE, scope="object", audit=True, responses={200: {
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ACCEPTED},
        "description": "the file as uploaded (PDF, DOCX, PNG or JPEG)"}}))
async def get_lesson_plan(student_id: StudentId, session_id: StudentId, uow: UoWDep, caller: PrincipalDep):
    content, media_type, digest = await support_queries.lesson_plan(uow, student_id, session_id, caller)
    return Response(content, media_type=media_type, headers={"X-Content-SHA256": digest})


@router.get("/home-teaching/counts", response_model=HomeTeachingCounts, **access(PEOPLE, scope="object"))
async def home_teaching_counts(
    uow: UoWDep, caller: PrincipalDep,
    org_code: Annotated[str, Query(max_length=32)],
    since: Annotated[date, Query()], until: Annotated[date, Query()],
):
    """Per county: children taught at home, teachers and sessions in the period (seed 000:
    组织xx名教师为x名学生提供送教上门服务)."""
    if since > until:
        raise Invalid("since is after until", errors=[
            {"field": "since", "pointer": "/since", "message": "must not be after until"}])
    counties = await support_queries.home_teaching_counts(uow, caller, org_code=org_code, since=since, until=until)
    return {"org_code": org_code, "since": since, "until": until, "counties": counties}


@router.post("/students/{student_id}/assistance", response_model=AssistanceOut, status_code=201,
             **access(Role.school_staff, OFFICIALS, scope="object"))
async def record_assistance(student_id: StudentId, body: AssistanceIn, uow: UoWDep, caller: PrincipalDep):
    """Targeted aid a child received (精准资助): amount, period and source. 两免 is universal and is
    not recorded here: it proves nothing about a poor child."""
    return await support.record_assistance(uow, student_id, caller, commands.aid(body))


@router.get("/students/{student_id}/assistance", response_model=list[AssistanceOut], **access(PEOPLE, scope="object"))
async def list_assistance(student_id: StudentId, uow: UoWDep, caller: PrincipalDep):
    return await support_queries.list_assistance(uow, student_id, caller)


@router.get("/reports/no-poverty-dropout", response_model=PovertyReport,
            **access(Role.school_staff, OFFICIALS, scope="object", audit=True))
async def no_poverty_dropout(
    uow: UoWDep, caller: PrincipalDep, runtime: RuntimeDep,
    org_code: Annotated[str, Query(max_length=32)],
    on: Annotated[date | None, Query(description="the day aid must cover; default today (local)")] = None,
):
    """无因贫辍学 (seed 000: 无一例因贫辍学): the registered-poor children on the roll with and without
    targeted aid covering the day, and the confirmed dropouts from registered-poor households."""
    day = on or uow.clock.now().astimezone(ZoneInfo(runtime.settings.timezone)).date()
    return await support_queries.poverty_report(uow, caller, org_code=org_code, on=day)
