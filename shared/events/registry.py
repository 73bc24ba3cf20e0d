"""baoxue.registry.v1: the org tree and the student record (学籍), produced by registry."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from shared.events.base import TOPIC_REGISTRY, EventModel, Placed, PlacedInChain, Uuid


class OrgRegistered(EventModel):
    """An administrative unit or school was registered (or renamed, or its system corrected)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.org.registered"

    code: str
    name: str
    kind: str
    parent_code: str | None
    path: list[str]
    system: str | None = None  # added after the first version
    line: str | None = None  # added after the first version


class StudentEnrolled(EventModel):
    """A child was enrolled (a new student record)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.student.enrolled"

    student_id: Uuid
    national_id_masked: str | None = None  # absent from early events: consumers read it with a fallback
    name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    school_code: str | None = None
    class_id: Uuid | None = None
    grade: int
    level: str | None = None
    org_path: list[str]
    org_chain: list[dict[str, Any]] | None = None
    enrolled_on: date | None = None
    flags: list[str] = []
    guardians: list[dict[str, Any]] = []
    status: str = "enrolled"


class StudentStatusChanged(EventModel):
    """A student record changed status (学籍异动)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.student.status_changed"

    student_id: Uuid
    status: str
    previous_status: str | None = None  # absent from early events: consumers read it with a fallback
    effective_on: date | None = None
    reason: str | None = None
    actor: str | None = None
    school_code: str | None = None
    class_id: Uuid | None = None
    grade: int | None = None
    org_path: list[str] | None = None
    org_chain: list[dict[str, Any]] | None = None


class StudentFlagsChanged(Placed):
    """A record's risk flags changed (关爱类别)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.student.flags_changed"

    student_id: Uuid
    flags: list[str] = []  # absent from early events: consumers read it with a fallback
    added: list[str]
    removed: list[str]
    category: str | None
    effective_on: date
    reason: str
    source: str
    source_ref: str | None
    actor: str


class StudentMerged(Placed):
    """Two records of one child were made one (学籍合并)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.student.merged"

    kept_id: Uuid
    merged_id: Uuid
    source: str
    reason: str
    merged_school_code: str
    merged_status: str
    status: str


class ClassPromoted(EventModel):
    """A class moved up a grade at year end"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.class.promoted"

    class_id: Uuid
    school_code: str
    name: str
    grade: int
    previous_grade: int
    school_year: int


class TransferOverdue(EventModel):
    """A transfer out has waited too long for the receiving school's receipt (回执)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.transfer.overdue"

    transfer_id: Uuid
    student_id: Uuid
    from_school_code: str
    to_school_code: str | None
    requested_on: date | None = None  # absent from early events: consumers read it with a fallback
    days_pending: int
    overdue_after_days: int
    started_by: str | None = None  # added after the first version
    # PlacedInChain's fields, but grade has a default here (events without it still read).
    school_code: str
    class_id: Uuid
    grade: int | None = None
    org_path: list[str]
    org_chain: list[dict[str, Any]]


class BoardingOverdue(PlacedInChain):
    """A child boarding elsewhere (寄读) has no host's receipt (回执), or is past the expected end"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.boarding.overdue"

    period_id: Uuid
    student_id: Uuid
    missing: str
    started_on: date
    expected_end: date | None
    host_school_code: str | None
    host_school_name: str | None
    host_region: str | None
    days_off: int
    overdue_after_days: int


class SuspensionOverdue(PlacedInChain):
    """A suspension (休学) is past its end date and the child is not back"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.suspension.overdue"

    period_id: Uuid
    student_id: Uuid
    started_on: date
    expected_end: date | None
    reason: str | None
    days_off: int
    overdue_after_days: int


class SuspectedOutOfSchool(EventModel):
    """A school-age child on a household list has no record accounting for them (疑似失学辍学)"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.population.suspected_out_of_school"

    check_id: Uuid
    person_id: Uuid
    national_id_masked: str
    name: str
    gender: str
    birth_date: date
    address: str | None
    reason: str | None = None  # added after the first version
    region_code: str
    org_path: list[str]
    org_chain: list[dict[str, Any]]


class OutsideCompulsoryAge(EventModel):
    """An attending record in a checked region belongs to a child outside the compulsory age"""

    TOPIC: ClassVar[str] = TOPIC_REGISTRY
    TYPE: ClassVar[str] = "baoxue.registry.population.outside_compulsory_age"

    check_id: Uuid
    student_id: Uuid
    birth_date: date
    age: int
    school_code: str
    org_path: list[str]
