"""The read model, built only from events. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table

from shared.types import UtcDateTime

metadata = MetaData()

orgs = Table(
    "orgs",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("path", String(400), nullable=False),
)

students = Table(
    "students",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("path", String(400), nullable=False),  # "/province/.../school/"
    Column("grade", Integer, nullable=False),
    Column("level", String(8), nullable=False),   # primary | junior
    Column("status", String(32), nullable=False),
)
Index("ix_reporting_students_path", students.c.path)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False),
    Column("path", String(400), nullable=False),
    Column("level", String(8), nullable=True),
    Column("status", String(32), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
)
Index("ix_reporting_cases_path", cases.c.path)

# How far the read model has got: the newest event time applied, per topic.
watermarks = Table(
    "watermarks",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("event_time", UtcDateTime(), nullable=False),
)
