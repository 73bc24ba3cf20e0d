"""A legal step's document as DOCX (python-docx) and PDF (fpdf2), written from the case.

The PDF embeds a subset of a CJK font: a PDF that only names a font (reportlab's STSong-Light)
shows boxes on a machine without it. The font is ``BAOXUE_CJK_FONT`` when set, else the first
of the usual Noto CJK paths (Debian's fonts-noto-cjk, which .ci/run installs); none found is a
clear error, never a PDF of boxes.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from cases.domain.ladder import TITLES, Step

# fontTools reports every table it subsets at INFO: noise in the service's JSON logs.
logging.getLogger("fontTools").setLevel(logging.WARNING)

# Sans first: it subsets in about two thirds of Serif's time (0.6 s against 1 s a document here).
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
# The duty the documents cite: 义务教育法 第五条 (the guardian's duty), 第五十八条 (the order to comply).
LAW = ("根据《中华人民共和国义务教育法》第五条，适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学"
       "接受并完成义务教育；第五十八条规定，无正当理由未送适龄儿童、少年入学接受义务教育的，由当地乡镇人民政府"
       "或者县级人民政府教育行政部门给予批评教育，责令限期改正。")
DEMANDS = {
    Step.parent_notice: "请你务必于{deadline}前送孩子返校就读，并与学校保持联系。",
    Step.order_to_send: "现责令你于{deadline}前送孩子返校就读。逾期不改正的，将依法采取进一步措施。",
    Step.judicial_notice: "经司法所依法告知，你应于{deadline}前送孩子返校复学。拒不履行的，将依法承担法律责任。",
    Step.fine: "你经责令限期改正后仍未送孩子入学，依法给予行政处罚。请于{deadline}前送孩子返校并履行处罚决定。",
    Step.lawsuit: "你经多次劝返、责令改正和处罚后仍未送孩子入学，现依法向人民法院提起诉讼。请于{deadline}前送孩子返校。",
}


class NoCjkFont(RuntimeError):
    pass


@dataclass(frozen=True)
class DocumentFacts:
    step: Step
    document_number: str | None
    child_name: str
    child_gender: str | None
    child_birth_date: str | None
    national_id_masked: str | None
    grade: int | None
    school_name: str
    guardian: str
    absent_since: date
    issuer: str
    served_on: date
    deadline: date


def find_font(configured: str | None) -> Path:
    candidates = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise NoCjkFont("no CJK font to write the document's PDF with: install Debian's fonts-noto-cjk "
                    f"or set BAOXUE_CJK_FONT to a TTF/OTF/TTC file (looked at: {', '.join(candidates)})")


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def paragraphs(f: DocumentFacts) -> tuple[str, list[str], list[str]]:
    """(title, body, signature) — the same words in both formats."""
    who = "，".join(p for p in (
        {"male": "男", "female": "女"}.get(f.child_gender or "", f.child_gender or ""),
        f"{f.child_birth_date}出生" if f.child_birth_date else "",
        f"身份证号{f.national_id_masked}" if f.national_id_masked else "") if p)
    grade = f"{f.grade}年级" if f.grade else ""
    body = [
        f"{f.guardian}：",
        f"你的孩子{f.child_name}（{who}）系{f.school_name}{grade}学生，自{_cn(f.absent_since)}起未到校就读。",
        LAW,
        DEMANDS[f.step].format(deadline=_cn(f.deadline)),
    ]
    signature = [f.issuer, _cn(f.served_on)]
    title = TITLES[f.step] + (f"（{f.document_number}）" if f.document_number else "")
    return title, body, signature


def to_docx(f: DocumentFacts) -> bytes:
    # Imported here: the libraries (and fontTools, Pillow, lxml under them) cost the service's
    # start-up most of a second, for a request few make.
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    title, body, signature = paragraphs(f)
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "SimSun", Pt(12)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # Word picks the East Asian font here
    doc.add_heading(title, level=1)
    for text in body:
        doc.add_paragraph(text)
    for text in signature:
        doc.add_paragraph(text).alignment = 2  # right
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def to_pdf(f: DocumentFacts, font: Path) -> bytes:
    from fpdf import FPDF

    title, body, signature = paragraphs(f)
    pdf = FPDF(format="A4")
    # Dated the day it was served, not the moment it was written: the same step gives the same bytes.
    pdf.set_creation_date(datetime.combine(f.served_on, time(), tzinfo=UTC))
    pdf.add_page()
    pdf.add_font("cjk", fname=str(font))
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 14, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=12)
    for text in body:
        pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.ln(8)
    for text in signature:
        pdf.cell(0, 8, text, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
