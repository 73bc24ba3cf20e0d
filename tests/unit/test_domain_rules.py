import pytest

from cases.domain.model import Recipient, dual_report_recipients
from registry.domain.model import OrgKind, check_parent
from shared.errors import Invalid

CHAIN = [{"code": "410000", "kind": "province", "name": "河南省"}, {"code": "410100", "kind": "city", "name": "郑州市"},
         {"code": "410122", "kind": "county", "name": "中牟县"}, {"code": "410122100", "kind": "township", "name": "城关镇"},
         {"code": "S1", "kind": "school", "name": "一中"}]


def test_dual_report_goes_to_the_township_government_and_the_township_education_office():
    got = dual_report_recipients(CHAIN, [c["code"] for c in CHAIN])
    assert [(r.recipient, r.org_code) for r in got] == [(Recipient.government, "410122100-GOV"),
                                                        (Recipient.education, "410122100-EDU")]


def test_a_county_run_school_reports_to_the_two_county_offices():
    chain = CHAIN[:3] + CHAIN[4:]
    got = dual_report_recipients(chain, [c["code"] for c in chain])
    assert [(r.recipient, r.org_code) for r in got] == [(Recipient.government, "410122-GOV"),
                                                        (Recipient.education, "410122-EDU")]


def test_without_the_chain_the_area_is_the_org_the_school_sits_under():
    got = dual_report_recipients([], ["410000", "410100", "410122", "410122100", "S1"])
    assert {r.area_code for r in got} == {"410122100"} and len({r.org_code for r in got}) == 2


@pytest.mark.parametrize("kind, parent, ok", [
    (OrgKind.province, None, True), (OrgKind.city, OrgKind.province, True), (OrgKind.county, OrgKind.city, True),
    (OrgKind.township, OrgKind.county, True), (OrgKind.school, OrgKind.township, True),
    (OrgKind.school, OrgKind.county, True), (OrgKind.school, OrgKind.city, False),
    (OrgKind.township, OrgKind.city, False), (OrgKind.city, None, False), (OrgKind.province, OrgKind.city, False),
    (OrgKind.school, OrgKind.school, False),
])
def test_org_tree_shape(kind, parent, ok):
    if ok:
        check_parent(kind, parent)
    else:
        with pytest.raises(Invalid):
            check_parent(kind, parent)
