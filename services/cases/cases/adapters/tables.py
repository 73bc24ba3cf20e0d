"""Cases tables. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)

from shared.messaging import BigId
from shared.paths import Flags, OrgPath
from shared.types import UtcDateTime

metadata = MetaData()

# What cases needs to know about a child, learned from registry events.
students = Table(
    "students",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("national_id_masked", String(18), nullable=True),  # null: enrolled without an ID
    Column("gender", String(8), nullable=False),
    Column("birth_date", String(10), nullable=False),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("org_path", OrgPath(), nullable=False),
    Column("org_chain", JSON, nullable=False),
    Column("flags", Flags(), nullable=False),
    Column("guardians", JSON, nullable=False),
    Column("status", String(32), nullable=False),
)
Index("ix_cases_students_org_path", students.c.org_path)

cases = Table(
    "cases",
    metadata,
    Column("id", String(36), primary_key=True),
    # The child: a student id, or the registry's person id of a suspected out-of-school child (no
    # student record). HTTP and events call it student_id.
    Column("child_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("episode_id", String(36), nullable=True),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=True),  # a head teacher sees the cases of their classes
    # "/410000/410100/410122/.../school/" (shared/paths.py): a scope is a prefix range on the index.
    Column("org_path", OrgPath(), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
    # Who the child is, copied when the case opens: a suspected out-of-school child has no
    # student record, and the ledger must not depend on the registry topic having been read.
    Column("child", JSON, nullable=True),
    Column("flags", Flags(), nullable=False, server_default=text("'/'")),  # "/left_behind/poor_household/"
    Column("org_chain", JSON, nullable=True),
    Column("source_ref", String(64), nullable=True),  # transfer_id, check_id: what opened it
    # The responsibility chain (劝返责任人 and head teacher, principal, township, county officials).
    Column("responsibility", JSON, nullable=True),
    Column("false_alarm_reason", String(32), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("evidence", JSON, nullable=True),
    Column("reopen_count", Integer, nullable=False, server_default=text("0")),
    # When a 劝返责任人 was first named: the ledger flags a confirmed case still without one after
    # 24 hours with a plain comparison, not a JSON lookup that SQLite and PostgreSQL spell apart.
    Column("responsible_assigned_at", UtcDateTime(), nullable=True),
    # When the case last entered each state (reported is opened_at, closed is closed_at).
    *[Column(f"{s}_at", UtcDateTime(), nullable=True) for s in (
        "verifying", "confirmed", "false_alarm", "persuading", "returned", "home_teaching", "transferred",
        "judicial_notice", "reopened")],
    # Check first: the school decides by verify_due_at; the two reports leave on confirmation or,
    # unverified, at that deadline (claimed once: UPDATE ... WHERE reports_issued_at IS NULL).
    Column("verify_due_at", UtcDateTime(), nullable=True),
    Column("reports_issued_at", UtcDateTime(), nullable=True),
    # When the child was first known to be back during this case (a return, a late-detected end).
    Column("back_at", UtcDateTime(), nullable=True),
    # Why a confirmed dropout left (DropoutCause values) and the school's words.
    Column("causes", JSON, nullable=True),
    Column("cause_note", Text, nullable=True),
    Column("unable_to_study_at", UtcDateTime(), nullable=True),
)
Index("ix_cases_verify_due_at", cases.c.verify_due_at)
# One open case per child: the database refuses a second, whatever is redelivered or raced.
Index(
    "ux_cases_one_open_per_child",
    cases.c.child_id,
    unique=True,
    postgresql_where=cases.c.status != "closed",
    sqlite_where=cases.c.status != "closed",
)
Index("ix_cases_org_path", cases.c.org_path)

dual_reports = Table(
    "dual_reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False),
    Column("recipient", String(16), nullable=False),
    Column("recipient_org_code", String(32), nullable=False),
    Column("recipient_org_name", String(200), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    # Claimed once by the escalation sweep (UPDATE ... WHERE escalated_at IS NULL).
    Column("escalated_at", UtcDateTime(), nullable=True),
    Column("escalated_to_org_code", String(32), nullable=True),
    Column("escalated_to_org_name", String(200), nullable=True),
    # The area whose office received it: its officials may acknowledge for the office.
    Column("area_code", String(32), nullable=True),
    # Sent at the verification deadline before anyone had checked.
    Column("unverified", Boolean, nullable=False, server_default=text("false")),
    # A false alarm decided after an unverified report went out: the correction was sent.
    Column("withdrawn_at", UtcDateTime(), nullable=True),
    UniqueConstraint("case_id", "recipient", name="uq_dual_report_case_recipient"),
)

# The org tree as the registry announces it (org.registered): areas to name offices for, and the
# offices themselves (kind ``office``, with a ``line``).
orgs = Table(
    "orgs",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent_code", String(32), nullable=True),
    Column("path", OrgPath(), nullable=False),
    Column("line", String(16), nullable=True),
)

# Each area's two recipient offices (government line, education line): named over HTTP
# (PUT /v1/recipients/{area}) or learned from the registry's offices (org kind ``office``).
# An area with no row for a line reports to the derived ``<area>-GOV`` / ``<area>-EDU``.
recipient_offices = Table(
    "recipient_offices",
    metadata,
    Column("area_code", String(32), nullable=False),
    Column("line", String(16), nullable=False),
    Column("office_code", String(32), nullable=False),
    Column("office_name", String(200), nullable=False),
    Column("named_by", String(200), nullable=False),
    Column("named_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("area_code", "line"),
)

timeline = Table(
    "case_timeline",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("note", Text, nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)

# The plan of persuasion, care and assistance (劝返、关爱和帮扶计划): items with owner and due date.
plan_items = Table(
    "plan_items",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # persuasion | care | assistance
    Column("description", Text, nullable=False),
    Column("owner", String(100), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("done_at", UtcDateTime(), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# The home-visit register (家访登记表).
home_visits = Table(
    "home_visits",
    metadata,
    Column("id", String(36), primary_key=True),
    # A visit belongs to the child; it is also on the child's case when one was open.
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=True, index=True),
    Column("student_id", String(36), nullable=True, index=True),
    Column("org_path", OrgPath(), nullable=True),
    Column("class_id", String(36), nullable=True),
    Column("visited_on", Date, nullable=False),
    Column("visitors", JSON, nullable=False),
    Column("met", JSON, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("notes", Text, nullable=True),
    Column("next_step", Text, nullable=True),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

# One row per visitor of a visit, with the case's place copied: visits per teacher per term is
# one GROUP BY, filtered to the caller's scope like any list.
home_visit_visitors = Table(
    "home_visit_visitors",
    metadata,
    Column("visit_id", String(36), ForeignKey("home_visits.id"), nullable=False),
    Column("visitor", String(100), nullable=False),
    Column("visited_on", Date, nullable=False),
    Column("org_path", OrgPath(), nullable=False),
    Column("class_id", String(36), nullable=True),
    PrimaryKeyConstraint("visit_id", "visitor"),
)
Index("ix_home_visit_visitors_path_on", home_visit_visitors.c.org_path, home_visit_visitors.c.visited_on)
Index("ix_home_visits_path_on", home_visits.c.org_path, home_visits.c.visited_on)

# Standing responsibility (七长/五级), set once per area, school or class and kept current. A new
# case's chain is filled from the assignments of every place above it. ``org_path`` is the
# place's own path key (a class: its school's path), so "the assignments above this case" is one
# query on the codes of the case's path plus its class.
standing_responsibility = Table(
    "standing_responsibility",
    metadata,
    Column("org_code", String(36), primary_key=True),  # an org code, or a class id
    Column("level", String(16), nullable=False),  # county | township | school | class
    Column("org_path", OrgPath(), nullable=False),
    Column("assignments", JSON, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

# The legal ladder (家长通知书 → 责令限期送学 → 劝返复学司法文书 → 罚款 → 起诉), beside the case status:
# one row per step served, at most one of each step per case.
legal_steps = Table(
    "legal_steps",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.id"), nullable=False, index=True),
    Column("step", String(24), nullable=False),
    Column("issuing_org_code", String(36), nullable=False),
    Column("issuing_org_name", String(200), nullable=False),
    Column("guardian", String(100), nullable=False),
    Column("served_on", Date, nullable=False),
    Column("served_how", String(16), nullable=False),
    Column("deadline", Date, nullable=False),
    Column("document_number", String(100), nullable=True),
    Column("evidence", JSON, nullable=True),
    Column("response", String(16), nullable=True),
    Column("responded_on", Date, nullable=True),
    Column("response_note", Text, nullable=True),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    # Claimed once by the escalation sweep (UPDATE ... WHERE escalated_at IS NULL).
    Column("escalated_at", UtcDateTime(), nullable=True),
    UniqueConstraint("case_id", "step", name="uq_legal_step_case_step"),
)

# Each step's document as generated, in the database, with its SHA-256.
legal_documents = Table(
    "legal_documents",
    metadata,
    Column("step_id", String(36), ForeignKey("legal_steps.id"), nullable=False),
    Column("format", String(8), nullable=False),  # docx | pdf
    Column("content", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("step_id", "format"),
)

# Uploaded files (DatabaseFileStore, the default storage of cases.adapters.files).
stored_files = Table(
    "stored_files",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("filename", String(200), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Home teaching (送教上门) belongs to the child, not the case: the case may close while it goes on.
# The county is copied in so per-county counts are one GROUP BY.
home_teaching_sessions = Table(
    "home_teaching_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False, index=True),
    Column("org_path", OrgPath(), nullable=False),
    Column("class_id", String(36), nullable=True),
    Column("county_code", String(32), nullable=True, index=True),
    Column("taught_on", Date, nullable=False),
    Column("hours", Numeric(4, 1), nullable=False),
    Column("teachers", JSON, nullable=False),
    Column("content", Text, nullable=False),
    Column("lesson_plan_id", String(36), ForeignKey("stored_files.id"), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

# Targeted assistance (精准资助) per child. 两免 is universal in compulsory education and proves
# nothing; these are what a poor family actually received.
assistance = Table(
    "assistance",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False, index=True),
    Column("org_path", OrgPath(), nullable=False),
    Column("class_id", String(36), nullable=True),
    Column("kind", String(24), nullable=False),  # boarding_subsidy | county_grant | charity_grant | other
    Column("amount", Numeric(12, 2), nullable=False),  # yuan
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("source", String(200), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)
