"""Attendance tables. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from shared.messaging import BigId
from shared.paths import OrgPath
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
    Column("org_path", OrgPath(), nullable=False),
    # The school's ancestors with kinds and names: threshold events carry it, so cases can address
    # the dual reports without waiting for the registry topic (Kafka orders nothing across topics).
    Column("org_chain", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("status", String(32), nullable=False),
    # Marks before this instant belong to an earlier stay (before a suspension or a transfer) and
    # never start an episode; null: attending since the first record.
    Column("attending_since", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)
Index("ix_roster_class", roster.c.class_id)
# "/410000/.../school/" (shared/paths.py): a scoped list is a prefix range on this index.
Index("ix_roster_org_path", roster.c.org_path)

# Where each child was, and whether on the roll, from each date on: one row per registry change
# (its `effective_on`), so data typed in late is checked against the child's class and status on
# its own date, and an episode ends on the day the child left the roll, not when the event came.
# Before a child's first row, that row applies (a record is often created after the child
# started school; the roll calls typed in for those weeks are still the child's).
placements = Table(
    "placements",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("effective_on", Date, primary_key=True),
    Column("school_code", String(32), nullable=False),
    Column("class_id", String(36), nullable=False),
    Column("org_path", OrgPath(), nullable=False),  # the school's, for scope checks on that date
    Column("status", String(32), nullable=False),
    Column("active", Boolean, nullable=False),
)

# One document per org code: a county's default or a school's own entries (only the fields it set).
calendars = Table(
    "calendars",
    metadata,
    Column("org_code", String(32), primary_key=True),  # a school, or any region above it
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
    # Who sent it (the token's subject), and for a batch item the device's id for the send and a
    # digest of it, to tell a resend (unchanged) from a new send.
    Column("sender", String(200), nullable=True),
    Column("client_id", String(36), nullable=True, unique=True),
    Column("fingerprint", String(64), nullable=True),
    UniqueConstraint("class_id", "date", "session", name="uq_roll_call_session"),
)

# The sends a later send of the same class-session replaced (the last received wins; the
# current one is the roll_calls row), with who sent them, the device's clock and the receipt
# time. Written only on a replacement, so a first send costs no extra statement.
roll_call_revisions = Table(
    "roll_call_revisions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client_id", String(36), nullable=True, index=True),
    Column("class_id", String(36), nullable=False),
    Column("date", Date, nullable=False),
    Column("session", String(2), nullable=False),
    Column("sender", String(200), nullable=True),  # NULL: sent before senders were recorded
    Column("device_recorded_at", UtcDateTime(), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("fingerprint", String(64), nullable=True),
    Column("marks", Text, nullable=False),  # JSON [{"student_id", "status"}, ...] as sent
    Column("replaced_at", UtcDateTime(), nullable=False),
    Index("ix_roll_call_revisions_session", "class_id", "date", "session"),
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
    Column("status", String(16), nullable=False),  # requested | approved | rejected
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
    Column("requested_by", String(128), nullable=True),
    Column("requested_via", String(16), nullable=True),  # guardian_phone | in_person | note
    Column("decided_by", String(128), nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decision_note", Text, nullable=True),
)

# One row per unexcused-absence episode; the row id is the episode's identity (event ids derive from it);
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
    # When the counted hours reach the threshold (the pure clock, from the calendar and leave);
    # recomputed whenever marks, leave or the calendar change. Null: not within a year.
    Column("due_at", UtcDateTime(), nullable=True),
    # Why an episode ended: returned (seen again), withdrawn (corrected marks or leave granted
    # late), not_attending (the registry took the child off the roll). Withdrawn rows are history.
    Column("end_reason", String(16), nullable=True),
    # The first session at or after due_at whose stored mark shows the child still away: what
    # the alarm rests on. Null until such a roll call is stored (silence is no observation).
    Column("observed_at", UtcDateTime(), nullable=True),
    # Whether the detector claimed the episode after it had already ended (data typed in late).
    Column("detected_late", Boolean, nullable=True),
)
Index("ix_episodes_student", episodes.c.student_id)
# One live episode per (student, start): two recomputations racing for one student cannot both
# insert it (and so fire it twice). Withdrawn rows are history and may share a start with the
# episode recomputed after them. An episode ended by leaving the roll stays live: late data from
# before that day still changes it, and it may still fire.
LIVE_REASONS = ("returned", "not_attending")
LIVE = episodes.c.end_reason.is_(None) | episodes.c.end_reason.in_(LIVE_REASONS)
Index("uq_episodes_live_start", episodes.c.student_id, episodes.c.started_at, unique=True,
      postgresql_where=LIVE, sqlite_where=LIVE)
# The detector's sweep: observed and not yet fired, open or ended.
CLAIMABLE = episodes.c.observed_at.is_not(None) & episodes.c.threshold_fired_at.is_(None)
Index("ix_episodes_observed", episodes.c.observed_at, postgresql_where=CLAIMABLE, sqlite_where=CLAIMABLE)

# Chronic absence flagged once per student per term: the primary key makes the event exactly once.
chronic_flags = Table(
    "chronic_flags",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("term", String(64), primary_key=True),
    Column("sessions", Integer, nullable=False),
    Column("missed", Integer, nullable=False),
    Column("flagged_at", UtcDateTime(), nullable=False),
)
Index("ix_roll_calls_school_date", roll_calls.c.school_code, roll_calls.c.date)

# --- roll-call completeness (动态监测) ---------------------------------------------------------
# Each school attendance has heard of, and the day its first pupil came onto the roster: roll
# calls are expected from then (unless its calendar says `roll_calls_from`), not from the term's
# start, so a county adopting the system is not buried in missing history.
school_rosters = Table(
    "school_rosters",
    metadata,
    Column("school_code", String(32), primary_key=True),
    Column("org_path", OrgPath(), nullable=False),
    Column("org_chain", JSON, nullable=False),
    Column("first_roster_day", Date, nullable=False),
)

# A class-session whose roll call was missing when the sweep looked: the primary key makes
# `roll_call.missing` once per class-session whatever the replicas, and `filled_at` (set by one
# conditional UPDATE when the roll call arrives) makes `roll_call.filled_late` once.
roll_call_gaps = Table(
    "roll_call_gaps",
    metadata,
    Column("class_id", String(36), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", String(2), primary_key=True),
    Column("school_code", String(32), nullable=False),
    Column("org_path", OrgPath(), nullable=False),
    Column("session_at", UtcDateTime(), nullable=False),
    Column("missing_since", UtcDateTime(), nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("filled_at", UtcDateTime(), nullable=True),
)
Index("ix_roll_call_gaps_school_date", roll_call_gaps.c.school_code, roll_call_gaps.c.date)
Index("ix_roll_call_gaps_org_path", roll_call_gaps.c.org_path)

# A run of consecutive school days a class missed entirely, escalated once to the school's
# township (named by the run's first day).
roll_call_escalations = Table(
    "roll_call_escalations",
    metadata,
    Column("class_id", String(36), primary_key=True),
    Column("run_start", Date, primary_key=True),
    Column("school_code", String(32), nullable=False),
    Column("township_code", String(32), nullable=True),
    Column("escalated_at", UtcDateTime(), nullable=False),
)
