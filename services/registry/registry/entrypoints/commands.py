"""Request bodies made into the use cases' commands: the routes build these, so no use case or
query imports an HTTP schema. The bodies have done the parsing (types, lengths, normal forms);
the commands carry the values, and the use cases keep naming the body's fields in problems."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from registry.domain.flags import FlagChangeRequest
from registry.domain.lifecycle import StatusChangeRequest
from registry.domain.model import Enrollment, Guardian, NewClass, OrgChange, OrgRegistration
from registry.domain.off_roll import OffRollChange, Receipt, Terms
from registry.domain.problems import ProblemMerge
from registry.domain.promotion import Promotion
from registry.domain.transfers import TransferConfirmation, TransferInRequest, TransferRequest
from registry.entrypoints.schemas.orgs import ClassCreate, OrgCreate, OrgUpdate, PromotionIn
from registry.entrypoints.schemas.problems import ProblemMergeIn
from registry.entrypoints.schemas.students import FlagsPatch, StatusChangeIn, StudentCreate, StudentSearch
from registry.entrypoints.schemas.transfers import TransferConfirmIn, TransferIn, TransferRequestIn
from registry.entrypoints.schemas.watch import OffRollUpdate, ReceiptIn
from registry.queries.students import StudentQuery


def _sent(body: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body sent, null included; the command keeps the others UNCHANGED."""
    return {name: getattr(body, name) for name in body.model_fields_set}


def org_registration(body: OrgCreate) -> OrgRegistration:
    return OrgRegistration(code=body.code, name=body.name, kind=body.kind, parent_code=body.parent_code,
                           system=body.system, line=body.line)


def org_change(body: OrgUpdate) -> OrgChange:
    return OrgChange(**_sent(body))


def new_class(body: ClassCreate) -> NewClass:
    return NewClass(grade=body.grade, name=body.name, school_year=body.school_year)


def promotion(body: PromotionIn) -> Promotion:
    return Promotion(school_year=body.school_year, effective_on=body.effective_on,
                     graduating_grade=body.graduating_grade)


def enrollment(body: StudentCreate) -> Enrollment:
    return Enrollment(
        name=body.name, gender=body.gender, birth_date=body.birth_date, school_code=body.school_code,
        class_id=body.class_id, national_id=body.national_id, no_id_reason=body.no_id_reason,
        enrolled_on=body.enrolled_on, flags=tuple(body.flags),
        guardians=tuple(Guardian(name=g.name, relation=g.relation, phone=g.phone) for g in body.guardians),
        household_region=body.household_region)


def student_query(search: StudentSearch) -> StudentQuery:
    return StudentQuery(org_code=search.org_code, school_code=search.school_code, class_id=search.class_id,
                        grade=search.grade, status=search.status, flag=search.flag,
                        household_region=search.household_region, name=search.name)


def status_change(body: StatusChangeIn) -> StatusChangeRequest:
    return StatusChangeRequest(status=body.status, effective_on=body.effective_on, reason=body.reason,
                               terms=Terms(host_school_code=body.host_school_code,
                                           host_school_name=body.host_school_name, host_region=body.host_region,
                                           expected_end=body.expected_end))


def flag_change(body: FlagsPatch) -> FlagChangeRequest:
    return FlagChangeRequest(reason=body.reason, add=tuple(body.add), remove=tuple(body.remove),
                             effective_on=body.effective_on)


def transfer_request(body: TransferIn) -> TransferRequest:
    return TransferRequest(to_school_code=body.to_school_code, destination=body.destination,
                           effective_on=body.effective_on, reason=body.reason)


def transfer_in_request(body: TransferRequestIn) -> TransferInRequest:
    return TransferInRequest(national_id=body.national_id, name=body.name, class_id=body.class_id,
                             effective_on=body.effective_on, reason=body.reason)


def transfer_confirmation(body: TransferConfirmIn) -> TransferConfirmation:
    return TransferConfirmation(class_id=body.class_id, effective_on=body.effective_on)


def receipt(body: ReceiptIn) -> Receipt:
    return Receipt(received_on=body.received_on, evidence=body.evidence)


def off_roll_change(body: OffRollUpdate) -> OffRollChange:
    return OffRollChange(**_sent(body))


def problem_merge(body: ProblemMergeIn) -> ProblemMerge:
    return ProblemMerge(kept_id=body.kept_id, reason=body.reason)
