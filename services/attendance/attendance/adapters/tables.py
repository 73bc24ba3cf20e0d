"""Attendance tables. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON, Boolean, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table, Text,
    UniqueConstraint, func,
)

from shared.messaging import BigId
from shared.types import UtcDateTime

metadata = MetaData()

# Who is in which class, learned from registry events (this service never reads the registry's DB).
roster = Table(
    "roster",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=False),
    Column("grade", Integer, nullable=False),
    Column("org_path", JSON, nullable=False),
    # The school's ancestors with kinds and names: threshold events carry it, so cases can address
    # the dual reports without waiting for the registry topic (Kafka orders nothing across topics).
    Column("org_chain", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("status", String(32), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)
Index("ix_roster_class", roster.c.class_id)

calendars = Table(
    "calendars",
    metadata,
    Column("school_code", String(32), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)

roll_calls = Table(
    "roll_calls",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=False),
    Column("date", Date, nullable=False),
    Column("session", String(2), nullable=False),
    Column("session_at", UtcDateTime(), nullable=False),
    # Device time is recorded, never trusted; received_at is the server's.
    Column("device_recorded_at", UtcDateTime(), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("class_id", "date", "session", name="uq_roll_call_session"),
)

marks = Table(
    "marks",
    metadata,
    Column("roll_call_id", BigId, ForeignKey("roll_calls.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", String(36), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("status", String(8), nullable=False),
)
Index("ix_marks_student_at", marks.c.student_id, marks.c.at)

leaves = Table(
    "leaves",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False, index=True),
    Column("start", UtcDateTime(), nullable=False),
    Column("end", UtcDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)

# One row per unexcused-absence episode. (student_id, started_at) is the episode's identity;
# threshold_fired_at is set by exactly one detector pass (an UPDATE ... WHERE ... IS NULL).
episodes = Table(
    "absence_episodes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("last_absent_at", UtcDateTime(), nullable=False),
    Column("absent_sessions", Integer, nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("threshold_fired_at", UtcDateTime(), nullable=True),
    UniqueConstraint("student_id", "started_at", name="uq_episode_student_start"),
)
Index(
    "ix_episodes_open_unfired",
    episodes.c.started_at,
    postgresql_where=episodes.c.ended_at.is_(None) & episodes.c.threshold_fired_at.is_(None),
    sqlite_where=episodes.c.ended_at.is_(None) & episodes.c.threshold_fired_at.is_(None),
)
