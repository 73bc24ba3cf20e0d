"""Registry tables. Created only by Alembic migrations."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table, UniqueConstraint, func

from shared.types import UtcDateTime

metadata = MetaData()

orgs = Table(
    "orgs",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("parent_code", String(32), ForeignKey("orgs.code"), nullable=True),
    # Codes from the province down to this org, e.g. ["410000", "410100", "410122", ...].
    Column("path", JSON, nullable=False),
    # The same as "/410000/410100/410122/.../": "everything under X" is one indexed LIKE.
    Column("path_key", String(400), nullable=False, index=True),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
)

classes = Table(
    "classes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("school_code", String(32), ForeignKey("orgs.code"), nullable=False, index=True),
    Column("grade", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, server_default=func.current_timestamp()),
    # Head teachers find their class by name; two "七年级(1)班" in one school would split its roll.
    UniqueConstraint("school_code", "name", name="uq_class_school_name"),
)

students = Table(
    "students",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("student_number", String(32), nullable=False),
    Column("national_id", String(18), nullable=False),
    Column("name", String(100), nullable=False),
    Column("gender", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("school_code", String(32), ForeignKey("orgs.code"), nullable=False),
    Column("class_id", String(36), ForeignKey("classes.id"), nullable=False),
    Column("status", String(32), nullable=False),
    Column("enrolled_on", Date, nullable=False),
    Column("guardians", JSON, nullable=False),
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
)
Index("ix_student_flags_flag", student_flags.c.flag)
