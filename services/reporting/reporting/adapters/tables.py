"""The read model, built only from events. Created only by Alembic migrations.

Paths are "/province/city/county/township/school/" strings (shared/paths.py), so "everything under
an org" is one prefix range on an index and a school's township is a path segment. Facts that figures "as of any date"
need are kept dated (status history, case timestamps); current-state columns serve the ledgers.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Float, Index, Integer, MetaData, String, Table, Text, false

from shared.paths import Flags, OrgPathKey
from shared.types import UtcDateTime

metadata = MetaData()

orgs = Table(
    "orgs",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("path", OrgPathKey(), nullable=False),
    # Schools: 6+3 | 5+4 | nine_year | twelve_year. A child's level (primary or junior) is read
    # from the grade and this, joined on the school's path, so a corrected system applies to every day.
    Column("system", String(16), nullable=True),
)
Index("ix_reporting_orgs_path", orgs.c.path)

# The student's record as it is now (the ledgers list these columns).
students = Table(
    "students",
    metadata,
    Column("student_id", String(36), primary_key=True),
    Column("path", OrgPathKey(), nullable=False),  # "/province/.../school/"
    Column("grade", Integer, nullable=False),
    Column("level", String(8), nullable=False),   # primary | junior
    Column("status", String(32), nullable=False),
    Column("class_id", String(36), nullable=True),
    Column("school_code", String(32), nullable=True),
    Column("name", String(100), nullable=True),
    Column("national_id_masked", String(32), nullable=True),
    Column("gender", String(8), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("flags", Flags(), nullable=True),  # "/poor_household/left_behind/": one LIKE per flag
    Column("status_reason", String(500), nullable=True),
    Column("status_since", Date, nullable=True),
    Column("enrolled_on", Date, nullable=True),
    # Event time of the last placement (enrolment or status change): a promotion applies to the
    # children placed in the class before it, whatever order the two topics' partitions arrive in.
    Column("placed_at", UtcDateTime(), nullable=True),
)
Index("ix_reporting_students_path", students.c.path)
Index("ix_reporting_students_class", students.c.class_id)

# Every status and placement a student had, from the date it took effect: the status as of a day
# D is the newest row with effective_on <= D (ties broken by event time, then arrival).
student_statuses = Table(
    "student_statuses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student_id", String(36), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("status", String(32), nullable=False),
    Column("path", OrgPathKey(), nullable=False),
    Column("class_id", String(36), nullable=True),
    Column("grade", Integer, nullable=False),
    Column("level", String(8), nullable=False),
    Column("reason", String(500), nullable=True),
    # Links to the child's neighbouring rows in that order, kept by the projection in the same
    # transaction as the row (usecases/projections.link_history) so the school year's figures need no window
    # over every child: the next row's effective_on (NULL for the newest; the row is in force on
    # D when effective_on <= D < next_on), the previous row's status (NULL for the first), and
    # whether this row or an earlier one is a dropout.
    Column("next_on", Date, nullable=True),
    Column("prev_status", String(32), nullable=True),
    Column("was_out", Boolean, nullable=False, default=False, server_default=false()),
)
Index("ix_reporting_student_statuses_student", student_statuses.c.student_id, student_statuses.c.effective_on)
Index("ix_reporting_student_statuses_path", student_statuses.c.path)
# The rows that take effect in a school year (its census day only for a child's second row on):
# the few children whose figures need the window pass.
Index("ix_reporting_student_statuses_changes", student_statuses.c.effective_on, student_statuses.c.prev_status)
# A class's newest rows, recounted into roll_counts whenever one of them or a promotion moves.
Index("ix_reporting_student_statuses_class", student_statuses.c.class_id, student_statuses.c.next_on)
# The rows still in force on a day whose successor came later (a report of a past week).
Index("ix_reporting_student_statuses_next_on", student_statuses.c.next_on)

# The children's newest status rows (next_on NULL), counted per class and per kind of row: what
# the school year's figures read for the children with no change in the year instead of a
# city's million rows (queries/school_year.py). Kept by the projection in the same transaction
# as the rows and promotions it counts (usecases/rolls.py: a class is recounted from its rows
# whenever one of its children's history or its promotions change), so it is always a recount
# of student_statuses and class_grades, and rebuilt with them. ``epoch`` is how many of the
# class's promotions have an event time at or before the row's: the grade on a day follows the
# class's newest promotion by then only if that came after the row (see ``_promoted_by``), so
# children's rows differing in event time but not in epoch count alike. The level is not kept:
# it is read from the school's system at read time, so a corrected system needs no recount.
roll_counts = Table(
    "roll_counts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("class_id", String(36), nullable=True),
    Column("path", OrgPathKey(), nullable=False),
    Column("status", String(32), nullable=False),
    Column("prev_status", String(32), nullable=True),
    Column("was_out", Boolean, nullable=False),
    Column("grade", Integer, nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("epoch", Integer, nullable=False),
    Column("n", Integer, nullable=False),
)
Index("ix_reporting_roll_counts_class", roll_counts.c.class_id, roll_counts.c.path)

# Every promotion of a class (the grade from a day on). Kept apart from the status history, so
# that a promotion and a child's placement, keyed differently and so on different partitions,
# give the same model in either order: a child's grade on D is the newest promotion of their
# class effective by D that came after their newest status row, or else that row's grade.
class_grades = Table(
    "class_grades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("class_id", String(36), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("grade", Integer, nullable=False),
)
Index("ix_reporting_class_grades_class", class_grades.c.class_id, class_grades.c.effective_on)

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False),
    Column("path", OrgPathKey(), nullable=False),
    Column("level", String(8), nullable=True),  # as first projected; reads derive it from grade and system
    Column("grade", Integer, nullable=True),
    Column("status", String(32), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("class_id", String(36), nullable=True),
    Column("first_visit_at", UtcDateTime(), nullable=True),
    Column("returned_at", UtcDateTime(), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("outcome", String(32), nullable=True),
    # When the case first became a confirmed dropout, and first moved to persuading: cases allows
    # that move only with a responsible person and a plan (the weekly report's 责任落实).
    Column("confirmed_at", UtcDateTime(), nullable=True),
    Column("persuading_at", UtcDateTime(), nullable=True),
)
Index("ix_reporting_cases_path", cases.c.path)
Index("ix_reporting_cases_student", cases.c.student_id)

# When a case first had a 劝返责任人 and a first plan item (cases' responsibility.assigned and
# plan_item.added). Apart from ``cases`` because those events are keyed by the place, not the
# student, and may arrive before the case's own case.opened.
case_work = Table(
    "case_work",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("responsible_at", UtcDateTime(), nullable=True),
    Column("planned_at", UtcDateTime(), nullable=True),
)

# Every standing responsibility assignment (七长/五级) as it was put: the chain a place had at a
# cut-off is its latest row before it.
standing_assignments = Table(
    "standing_assignments",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("org_code", String(36), nullable=False),
    Column("level", String(16), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("assigned_at", UtcDateTime(), nullable=False),
)
Index("ix_reporting_standing_org", standing_assignments.c.org_code, standing_assignments.c.assigned_at)

home_visits = Table(
    "home_visits",
    metadata,
    Column("visit_id", String(64), primary_key=True),
    Column("case_id", String(36), nullable=False),
    Column("visited_at", UtcDateTime(), nullable=False),
)
Index("ix_reporting_home_visits_case", home_visits.c.case_id)

# One row per 48-hour episode (attendance's threshold_reached).
absence_episodes = Table(
    "absence_episodes",
    metadata,
    Column("episode_id", String(64), primary_key=True),
    Column("student_id", String(36), nullable=False),
    Column("path", OrgPathKey(), nullable=False),
    Column("level", String(8), nullable=True),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("reached_at", UtcDateTime(), nullable=False),
    # Attendance withdrew the alarm (`student.returned`, reason withdrawn: a correction showed
    # the threshold was not reached): it counts in no figure, whenever it was withdrawn.
    Column("withdrawn_at", UtcDateTime(), nullable=True),
)
Index("ix_reporting_absence_episodes_path", absence_episodes.c.path)

# Transfers the registry flagged as waiting too long for the receiving school's receipt.
overdue_transfers = Table(
    "overdue_transfers",
    metadata,
    Column("transfer_id", String(36), primary_key=True),
    Column("student_id", String(36), nullable=False),
    Column("path", OrgPathKey(), nullable=False),  # the school the child left
    Column("level", String(8), nullable=True),
    Column("requested_on", Date, nullable=False),
    Column("flagged_at", UtcDateTime(), nullable=False),
)
Index("ix_reporting_overdue_transfers_path", overdue_transfers.c.path)

# Dual reports (one per recipient); their place in the org tree is their case's.
dual_reports = Table(
    "dual_reports",
    metadata,
    Column("report_id", String(64), primary_key=True),
    Column("case_id", String(36), nullable=False),
    Column("recipient", String(16), nullable=True),
    Column("issued_at", UtcDateTime(), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    # An unverified report withdrawn (the case was a false alarm): nothing left to acknowledge.
    Column("withdrawn_at", UtcDateTime(), nullable=True),
)
Index("ix_reporting_dual_reports_case", dual_reports.c.case_id)

# How far the read model has got: the newest event time applied, per topic.
watermarks = Table(
    "watermarks",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("event_time", UtcDateTime(), nullable=False),
)

# What a county submitted (a weekly or monthly report frozen as canonical JSON with its SHA-256,
# who and when). Not a projection: nothing in the topics can rebuild it, so a rebuild keeps it.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),        # weekly | monthly
    Column("org_code", String(32), nullable=False),
    Column("org_path", OrgPathKey(), nullable=False),  # "/province/city/county/": the city's view reads it
    Column("period", String(8), nullable=False),      # 2026-W47 | 2026-11
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("submitted_by", String(200), nullable=False),
    Column("submitted_role", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),             # the canonical JSON itself, byte for byte
)
Index("ix_reporting_submissions_period", submissions.c.kind, submissions.c.period, submissions.c.org_code)

# An org's own targets (一县一策), set with PUT /v1/targets/{org_code}; a field left NULL is
# inherited from the nearest org above that sets it, else the settings' default. Not a
# projection: a rebuild keeps them.
targets = Table(
    "targets",
    metadata,
    Column("org_code", String(32), primary_key=True),
    Column("org_path", OrgPathKey(), nullable=False),  # "/province/.../org/"
    Column("junior_dropout_max", Float, nullable=True),
    Column("primary_dropout_max", Float, nullable=True),
    Column("retention_min", Float, nullable=True),
    Column("set_at", UtcDateTime(), nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_role", String(32), nullable=False),
)

# Every table the events build, emptied by a rebuild (watermarks included).
PROJECTIONS = (orgs, students, student_statuses, class_grades, roll_counts, cases, home_visits, absence_episodes, overdue_transfers,
               dual_reports, watermarks)

# One row per class-session attendance expected or took a roll call for (动态监测): from
# `roll_call.recorded` (taken; on time if any recording of it was) and `roll_call.missing`
# (expected, not taken by its due time). Expected = taken on an expected day, or missing.
roll_call_sessions = Table(
    "roll_call_sessions",
    metadata,
    Column("class_id", String(36), primary_key=True),
    Column("date", Date, primary_key=True),
    Column("session", String(2), primary_key=True),
    Column("path", OrgPathKey(), nullable=False),
    Column("expected", Boolean, nullable=False),
    Column("taken", Boolean, nullable=False),
    Column("on_time", Boolean, nullable=False),
    # The last recording's marks: seen (present or late) out of marked, for the attendance rate.
    Column("seen", Integer, nullable=False, default=0),
    Column("marked", Integer, nullable=False, default=0),
)
Index("ix_reporting_roll_call_sessions_path_date", roll_call_sessions.c.path, roll_call_sessions.c.date)
