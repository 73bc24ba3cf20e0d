"""Registry tables. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
                        JSON,
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

orgs = Table(
    "orgs",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("parent_code", String(32), ForeignKey("orgs.code"), nullable=True),
    # Codes from the province down to this org, stored "/410000/410100/410122/.../" (shared/paths.py):
    # "everything under X" is one prefix range on the index. Python sees ["410000", "410100", ...].
    Column("path", OrgPath(), nullable=False, index=True),
    # Schools only: 6+3 | 5+4 | nine_year | twelve_year (shared.orgs.SchoolSystem); null for areas.
    Column("system", String(16), nullable=True),
    Column("line", String(16), nullable=True),  # an office's line: government | education
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)

classes = Table(
    "classes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_code", String(32), ForeignKey("orgs.code"), nullable=False, index=True),
    Column("grade", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    # The calendar year the school year starts in (2026 for 2026-2027); null for classes made
    # before school years were recorded. Promotion at year end moves it on with the grade.
    Column("school_year", Integer, nullable=True),
    # Set when the class graduates at a year-end promotion: its roll is history from then on.
    Column("graduated_on", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
    # Head teachers find their class by name; two "七年级(1)班" in one school would split its roll.
    UniqueConstraint("school_code", "name", name="uq_class_school_name"),
)

students = Table(
    "students",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_number", String(32), nullable=False),
    # Null for a child with no ID yet (unregistered 户口, a foreign national): the student number
    # is then a temporary one ("L..."), and ``no_id_reason`` says why. Added later, it may merge
    # the record with the child's other one.
    Column("national_id", String(18), nullable=True),
    Column("no_id_reason", String(200), nullable=True),
    Column("name", String(100), nullable=False),      # as typed
    Column("name_key", String(100), nullable=True),   # NFC of name: what searches and matches compare
    Column("gender", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("school_code", String(32), ForeignKey("orgs.code"), nullable=False),
    Column("class_id", String(36), ForeignKey("classes.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("enrolled_on", Date, nullable=False),
    Column("guardians", JSON, nullable=False),
    # Household registration (户籍) region, a 6-digit division code: where the child is counted
    # in the population cross-check, which may differ from where they go to school.
    Column("household_region", String(6), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
    Column("updated_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)
Index("ix_students_school_status", students.c.school_code, students.c.status)
Index("ix_students_class", students.c.class_id)
# One active record per child across the whole system; the database enforces it, so two
# concurrent enrolments of the same child cannot both succeed.
Index(
    "ux_students_active_national_id",
    students.c.national_id,
    unique=True,
    postgresql_where=students.c.status.notin_(["graduated", "deceased"]),
    sqlite_where=students.c.status.notin_(["graduated", "deceased"]),
)

# Risk flags in their own table so lists filter on them in SQL, with an index.
student_flags = Table(
    "student_flags",
    metadata,
    Column("student_id", String(36), ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
    Column("flag", String(32), primary_key=True),
    # poor_household: the poverty office's category (脱贫户, 防返贫监测对象, 低保, or one a county names).
    Column("category", String(32), nullable=True),
)
Index("ix_student_flags_flag", student_flags.c.flag)

# Every flag added or removed, why, from when, by whom, and from where (by hand, or a poverty
# office's list): the history officials audit, and the date an older list must not override.
flag_history = Table(
    "flag_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("student_id", String(36), ForeignKey("students.id"), nullable=False),
    Column("flag", String(32), nullable=False),
    Column("action", String(8), nullable=False),  # added | removed
    Column("category", String(32), nullable=True),
    Column("effective_on", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(16), nullable=False),  # manual | poverty_list
    Column("source_ref", String(36), nullable=True),  # the list's id
    Column("actor", String(200), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)
Index("ix_flag_history_student_flag", flag_history.c.student_id, flag_history.c.flag, flag_history.c.effective_on)
Index("ix_students_household_region", students.c.household_region)

# Every status change of a record (学籍异动), with its paperwork: the history officials audit.
status_history = Table(
    "status_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("student_id", String(36), ForeignKey("students.id"), nullable=False, index=True),
    Column("previous_status", String(32), nullable=True),
    Column("status", String(32), nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("reason", Text, nullable=True),
    Column("actor", String(200), nullable=False),
    Column("school_code", String(32), nullable=False),
    Column("transfer_id", String(36), nullable=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

# A transfer out waits for the receiving school's receipt (回执): pending until confirmed or
# cancelled. Pending too long, it is overdue: where children vanish between schools.
transfers = Table(
    "transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), ForeignKey("students.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # pending | confirmed | cancelled
    Column("from_school_code", String(32), nullable=False),
    Column("from_class_id", String(36), nullable=False),
    Column("to_school_code", String(32), nullable=True),  # null: a school outside this system
    Column("destination", String(200), nullable=True),
    Column("reason", Text, nullable=True),
    Column("requested_on", Date, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("confirmed_on", Date, nullable=True),
    Column("confirmed_by", String(200), nullable=True),
    Column("to_class_id", String(36), nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
    Column("overdue_at", UtcDateTime(), nullable=True),  # when the overdue event was emitted
    # sender: the sending school filed it, the receiving one confirms; receiver: the receiving
    # school asked (as the national system does) and the sending one confirms.
    Column("started_by", String(16), nullable=False, server_default="sender"),
)
Index("ix_transfers_pending", transfers.c.status, transfers.c.requested_on)
# One pending transfer per child: a second transfer out waits for the first to settle.
Index("ux_transfers_pending_student", transfers.c.student_id, unique=True,
      postgresql_where=transfers.c.status == "pending", sqlite_where=transfers.c.status == "pending")

# A stretch off the roll by boarding elsewhere (寄读) or suspension (休学), open while the record
# is in that status (or transferred out from it, pending). What it lacks (a host, an end date, the
# host's receipt, a return) is what the watchdog chases; each *_overdue_at says when it was
# announced, so every replica's sweep claims it once.
off_roll_periods = Table(
    "off_roll_periods",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_id", String(36), ForeignKey("students.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),  # boarding_elsewhere | suspended
    Column("school_code", String(32), nullable=False),  # the home school
    Column("started_on", Date, nullable=False),
    Column("reason", Text, nullable=True),
    Column("expected_end", Date, nullable=True),
    Column("host_school_code", String(32), nullable=True),  # a host in this system
    Column("host_school_name", String(200), nullable=True),  # a host outside it, with its region
    Column("host_region", String(6), nullable=True),
    Column("received_on", Date, nullable=True),  # the host's receipt (回执)
    Column("receipt_by", String(200), nullable=True),
    Column("receipt_evidence", String(500), nullable=True),
    Column("receipt_overdue_at", UtcDateTime(), nullable=True),
    Column("return_overdue_at", UtcDateTime(), nullable=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("closed_on", Date, nullable=True),
    Column("closed_at", UtcDateTime(), nullable=True),
)
Index("ix_off_roll_periods_open", off_roll_periods.c.closed_at, off_roll_periods.c.kind, off_roll_periods.c.started_on)
Index("ix_off_roll_periods_host", off_roll_periods.c.host_school_code)
# One open period per child: a record has one status at a time.
Index("ux_off_roll_periods_open_student", off_roll_periods.c.student_id, unique=True,
      postgresql_where=off_roll_periods.c.closed_at.is_(None), sqlite_where=off_roll_periods.c.closed_at.is_(None))

# Two records of one child made one (the kept one takes the other's history); the merged
# record's row is gone, so this is what says where it went.
student_merges = Table(
    "student_merges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kept_id", String(36), nullable=False, index=True),
    Column("merged_id", String(36), nullable=False, unique=True),
    Column("source", String(16), nullable=False),  # national_id (the ID arrived) | problem_record
    Column("reason", Text, nullable=False),
    Column("merged_record", JSON, nullable=False),  # school, class, status, dates of the merged record
    Column("actor", String(200), nullable=False),
    Column("merged_at", UtcDateTime(), nullable=False),
)

# A suspected duplicate (问题学籍) an official looked at and found to be two children: by the
# problem's id, so the same group stays dismissed and a new record joining it does not.
problem_dismissals = Table(
    "problem_dismissals",
    metadata,
    Column("problem_id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("student_ids", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("dismissed_at", UtcDateTime(), nullable=False),
)

# A poverty office's list as applied (its report, for a re-post of the same list to answer with).
poverty_lists = Table(
    "poverty_lists",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("region_code", String(32), ForeignKey("orgs.code"), nullable=False),
    Column("category", String(32), nullable=False),
    Column("list_date", Date, nullable=False),
    Column("report", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# A household list compared with the registry (排查比对). The digest of the list makes a re-run
# of the same list return the same check instead of a second one.
population_checks = Table(
    "population_checks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("region_code", String(32), ForeignKey("orgs.code"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("school_age", Integer, nullable=False),
    Column("suspected", Integer, nullable=False),
    Column("outside_age", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

population_findings = Table(
    "population_findings",
    metadata,
    Column("check_id", String(36), ForeignKey("population_checks.id"), primary_key=True),
    # suspected_out_of_school | outside_compulsory_age
    Column("kind", String(32), primary_key=True),
    Column("person_id", String(36), primary_key=True),
    Column("national_id", String(18), nullable=True),  # null: an attending record with no ID yet
    Column("name", String(100), nullable=False),
    Column("gender", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("age", Integer, nullable=False),
    Column("address", String(400), nullable=True),
    Column("student_id", String(36), nullable=True),
    Column("school_code", String(32), nullable=True),
    # Why the child is suspected: no_record | dropped_out | no_junior_middle_record (小升初).
    Column("reason", String(32), nullable=True),
)

# Dry-run imports per caller and day: a dry run answers which of the IDs it is given are enrolled
# elsewhere, so it is capped (BAOXUE_IMPORT_DRY_RUNS_PER_DAY) and counted here, once per caller.
import_dry_runs = Table(
    "import_dry_runs",
    metadata,
    Column("subject", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("runs", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
)
