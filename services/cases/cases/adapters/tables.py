"""Cases tables. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, func,
)

from shared.messaging import BigId
from shared.types import UtcDateTime

metadata = MetaData()

# What cases needs to know about a child, learned from registry events.
students = Table(
    "students",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("national_id_masked", String(18), nullable=False),
    Column("gender", String(8), nullable=False),
    Column("birth_date", String(10), nullable=False),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("org_path", JSON, nullable=False),
    Column("org_chain", JSON, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("guardians", JSON, nullable=False),
    Column("status", String(32), nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False),
    Column("status", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("episode_id", String(36), nullable=True),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=True),  # a head teacher sees the cases of their classes
    # "/410000/410100/410122/.../school/": filters by any org level are one LIKE.
    Column("org_path", String(400), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime(), nullable=True),
)
# One open case per child: the database refuses a second, whatever is redelivered or raced.
Index(
    "ux_cases_one_open_per_student",
    cases.c.student_id,
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
    UniqueConstraint("case_id", "recipient", name="uq_dual_report_case_recipient"),
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
