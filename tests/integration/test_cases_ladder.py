"""The legal ladder as served documents, over HTTP on SQLite and PostgreSQL. Seeds 001 and 003:
实行法律手段…罚款、起诉; 由司法部门向家长下发“劝返复学司法文书”; seed 002: 《家长通知书》制度.

Each document is read back the way a person would get it: the DOCX's text with python-docx, the
PDF's text extracted and its first page rendered to an image (pypdfium2) that must not be blank."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime

import docx
import pypdfium2 as pdfium
from sqlalchemy import func, select

from cases.adapters.tables import legal_documents, legal_steps
from cases.usecases.ladder import escalate_overdue_steps
from shared.clock import FixedClock
from tests.conftest import bearer, running
from tests.factories import (
    COUNTY,
    NO_BROKER,
    SCHOOL,
    TOWNSHIP,
    confirm_case,
    open_case,
    outbox_payloads,
    start_persuading,
)

SCHOOL_STAFF = bearer("school_staff", SCHOOL)
TOWNSHIP_OFFICIAL = bearer("township_official", TOWNSHIP)
COUNTY_OFFICIAL = bearer("county_official", COUNTY)
NOTICE = {"step": "parent_notice", "issuing_org_name": "城关镇第一初级中学", "served_on": "2026-11-18",
          "served_how": "in_person", "deadline": "2026-11-25", "document_number": "城中〔2026〕1号",
          "evidence": {"description": "班主任当面送达，家长签收", "witnesses": ["李老师"]}}
ORDER = {"step": "order_to_send", "issuing_org_name": "城关镇人民政府", "served_on": "2026-11-26",
         "served_how": "in_person", "deadline": "2026-12-03"}


def pdf_text_and_ink(content: bytes) -> tuple[str, int]:
    """The first page's text, and how many of its pixels are dark once rendered."""
    page = pdfium.PdfDocument(content)[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=1).to_pil().convert("L")
    return text, sum(image.histogram()[:128])


async def _count(client, table) -> int:
    async with client.app.state.runtime.sessionmaker() as s:
        return (await s.execute(select(func.count()).select_from(table))).scalar_one()


async def test_each_step_is_served_as_a_docx_and_a_pdf_and_the_next_opens_only_after_its_deadline(databases):
    clock = FixedClock(datetime(2026, 11, 18, 2, 0, tzinfo=UTC))
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock) as cases:
        _, case_id = await open_case(cases)
        steps = f"/v1/cases/{case_id}/legal-steps"

        # Never on an unchecked alarm: the case must be a confirmed dropout first.
        early = await cases.post(steps, json=NOTICE, headers=SCHOOL_STAFF)
        assert early.status_code == 409 and "confirmed" in early.json()["detail"]
        await confirm_case(cases, case_id)
        # The school serves its notice; a county official does not record it for them.
        assert (await cases.post(steps, json=NOTICE, headers=COUNTY_OFFICIAL)).status_code == 403
        bad = await cases.post(steps, json={**NOTICE, "deadline": "2026-11-18"}, headers=SCHOOL_STAFF)
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert await _count(cases, legal_steps) == 0 and await _count(cases, legal_documents) == 0
        served = await cases.post(steps, json=NOTICE, headers=SCHOOL_STAFF)
        assert served.status_code == 201, served.text
        notice = served.json()
        assert (notice["guardian"], notice["issuing_org_code"], notice["overdue"]) == ("王大山", SCHOOL, False)
        digests = {d["format"]: d["sha256"] for d in notice["documents"]}
        assert set(digests) == {"docx", "pdf"}

        as_docx = await cases.get(f"{steps}/{notice['id']}/documents/docx")
        assert as_docx.status_code == 200 and hashlib.sha256(as_docx.content).hexdigest() == digests["docx"]
        assert as_docx.headers["x-content-sha256"] == digests["docx"]
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(as_docx.content)).paragraphs)
        for expected in ("家长通知书（城中〔2026〕1号）", "王大山：", "王小明", "城关镇第一初级中学7年级",
                         "2026年11月16日起未到校", "《中华人民共和国义务教育法》第五条", "2026年11月25日前", "2026年11月18日"):
            assert expected in text, expected
        as_pdf = await cases.get(f"{steps}/{notice['id']}/documents/pdf")
        assert as_pdf.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(as_pdf.content).hexdigest() == digests["pdf"]
        assert b"/FontFile" in as_pdf.content  # the font travels with the file
        pdf_text, ink = pdf_text_and_ink(as_pdf.content)
        compact = pdf_text.replace("\r", "").replace("\n", "")
        for expected in ("家长通知书", "王大山", "王小明", "义务教育法", "2026年11月25日前"):
            assert expected in compact, expected
        assert ink > 2000, "the first page renders blank: the CJK glyphs are missing"
        timeline = (await cases.get(f"/v1/cases/{case_id}")).json()["timeline"]
        entry = next(e for e in timeline if e["kind"] == "legal_step_served")
        assert {d["format"]: d["sha256"] for d in entry["detail"]["documents"]} == digests

        # Persuasion goes on; the order may not be served before the notice's deadline has passed.
        await start_persuading(cases, case_id)
        clock.set(datetime(2026, 11, 25, 15, 59, tzinfo=UTC))  # 11-25 23:59 in China: the last day
        assert (await cases.post(steps, json={**ORDER, "served_on": "2026-11-25"},
                                 headers=TOWNSHIP_OFFICIAL)).status_code == 409
        ledger = {r["id"]: r for r in (await cases.get("/v1/cases/ledger")).json()["items"]}
        assert ledger[case_id]["legal_overdue"] is False
        clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
        ledger = {r["id"]: r for r in (await cases.get("/v1/cases/ledger")).json()["items"]}
        assert ledger[case_id]["legal_overdue"] is True and ledger[case_id]["overdue"] is True

        # Overdue with nothing recorded: escalated once, however many passes run.
        runtime = cases.app.state.runtime
        for expected in (1, 0):
            async with runtime.uow(clock=clock) as uow:
                assert await escalate_overdue_steps(uow, tz="Asia/Shanghai") == expected
        escalated = await outbox_payloads(cases, "baoxue.cases.legal_step.escalated")
        assert [(e["step"], e["issuing_org_code"], e["escalated_to_org_code"]) for e in escalated] == [
            ("parent_notice", SCHOOL, TOWNSHIP)]

        # No skipping: a fine comes after the order. The order moves the case to judicial_notice.
        assert (await cases.post(steps, json={**ORDER, "step": "fine", "issuing_org_name": "中牟县教育局"},
                                 headers=COUNTY_OFFICIAL)).status_code == 409
        assert (await cases.post(steps, json=ORDER, headers=SCHOOL_STAFF)).status_code == 403
        order = await cases.post(steps, json=ORDER, headers=TOWNSHIP_OFFICIAL)
        assert order.status_code == 201, order.text
        case = (await cases.get(f"/v1/cases/{case_id}")).json()
        assert case["status"] == "judicial_notice"
        assert [(s["step"], s["overdue"]) for s in case["legal_steps"]] == [
            ("parent_notice", True), ("order_to_send", False)]
        order_pdf = await cases.get(f"{steps}/{order.json()['id']}/documents/pdf")
        assert "责令限期送学通知书" in pdf_text_and_ink(order_pdf.content)[0]

        # The guardian complied: the ladder stops there.
        r = await cases.patch(f"{steps}/{order.json()['id']}", headers=TOWNSHIP_OFFICIAL, json={
            "response": "complied", "responded_on": "2026-11-30", "note": "已送孩子返校"})
        assert r.status_code == 200 and r.json()["response"] == "complied"
        clock.set(datetime(2026, 12, 10, 1, 0, tzinfo=UTC))
        stopped = await cases.post(steps, headers=COUNTY_OFFICIAL, json={
            **ORDER, "step": "judicial_notice", "issuing_org_name": "中牟县司法局", "served_on": "2026-12-10",
            "deadline": "2026-12-17"})
        assert stopped.status_code == 409 and "complied" in stopped.json()["detail"]
        assert (await cases.get(f"{steps}/{uuid.uuid4()}/documents/pdf")).status_code == 404
        assert (await cases.get(f"{steps}/{notice['id']}/documents/pdf",
                                headers=bearer("county_official", "420102"))).status_code == 404


async def test_without_a_cjk_font_no_step_is_recorded_and_the_problem_says_why(databases):
    clock = FixedClock(datetime(2026, 11, 18, 2, 0, tzinfo=UTC))
    async with running("cases", databases.url("cases"), NO_BROKER, clock=clock,
                       cjk_font="/nonexistent/NotoSansCJK.ttc") as cases:
        _, case_id = await open_case(cases, confirm=True)
        r = await cases.post(f"/v1/cases/{case_id}/legal-steps", json=NOTICE, headers=SCHOOL_STAFF)
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        assert "fonts-noto-cjk" in r.json()["detail"]
        assert await _count(cases, legal_steps) == 0 and await _count(cases, legal_documents) == 0
