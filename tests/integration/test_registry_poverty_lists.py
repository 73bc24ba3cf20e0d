"""A poverty-relief office's lists (脱贫户, 防返贫监测对象, 低保) over HTTP on a real database: checked
like the student import, flags set and cleared as of each list's date, the category kept, and
a listed school-age child without a record a suspected out-of-school child."""

from __future__ import annotations

from datetime import date

from registry.domain.national_id import compose
from tests.conftest import bearer, running
from tests.factories import school_with_class, student_body

NO_BROKER = "127.0.0.1:1"
COUNTY = bearer("county_official", "410122")


def sheet(*ids: str, heading: str = "身份证号,姓名,家庭住址") -> bytes:
    return "\n".join([heading, *(f"{n},某某,城关镇一村" for n in ids)]).encode("utf-8-sig")


async def post_list(client, content: bytes, category: str, list_date: str, **params):
    return await client.post("/v1/poverty-lists", headers=COUNTY, params=params,
                             data={"region_code": "410122", "category": category, "list_date": list_date},
                             files={"file": ("扶贫名单.csv", content)})


async def test_lists_set_and_clear_the_flag_as_of_their_date_and_find_children_without_a_record(databases):
    async with running("registry", databases.url("registry"), NO_BROKER, writes_per_minute=100_000) as registry:
        klass = await school_with_class(registry, grade=7)
        bodies = {k: student_body(klass, born=date(2013, 4, 1), seq=seq) for k, seq in
                  (("a", 121), ("b", 123), ("c", 125))}
        sid = {k: (await registry.post("/v1/students", json=b)).json()["id"] for k, b in bodies.items()}
        nid = {k: b["national_id"] for k, b in bodies.items()}
        r = await registry.patch(f"/v1/students/{sid['c']}/flags", json={"add": ["poor_household"],
                                                                         "reason": "家访: 父亲重病"})
        assert r.status_code == 200
        no_record = compose("410122", date(2014, 6, 1), 127)   # 12, on the list, in no school
        adult = compose("410122", date(1990, 1, 1), 129)       # a parent on the list: not school age

        async def student(k):
            return (await registry.get(f"/v1/students/{sid[k]}")).json()

        r = await post_list(registry, sheet(nid["a"], nid["b"]), "脱贫户", "2026-09-01")
        assert r.status_code == 201, r.text
        assert (r.json()["matched"], r.json()["flagged"], r.json()["cleared"]) == (2, 2, 0)
        assert (await student("a"))["poverty_category"] == "脱贫户"

        second = sheet(nid["a"], no_record, adult)
        r = await post_list(registry, second, "脱贫户", "2026-10-15")
        assert r.status_code == 201, r.text
        report = r.json()
        assert (report["matched"], report["not_found"], report["flagged"], report["cleared"], report["suspected"]) == (
            1, 2, 0, 1, 1)
        assert "poor_household" not in (await student("b"))["flags"]     # off its list
        assert "poor_household" in (await student("c"))["flags"]         # set by hand: not the list's to clear
        findings = (await registry.get(f"/v1/population-checks/{report['check_id']}/findings", headers=COUNTY)).json()
        assert [(f["national_id"], f["reason"]) for f in findings["items"]] == [(no_record, "no_record")]

        again = await post_list(registry, second, "脱贫户", "2026-10-15")
        assert again.status_code == 200 and again.json()["id"] == report["id"]

        # An older list is old news for a child whose flag changed since: b is not flagged again,
        # and a (flagged by the September list, not on this August one) is not cleared.
        r = await post_list(registry, sheet(nid["b"]), "脱贫户", "2026-08-01")
        assert r.status_code == 201 and (r.json()["flagged"], r.json()["cleared"], r.json()["older"]) == (0, 0, 2), r.text
        assert "poor_household" not in (await student("b"))["flags"]
        assert "poor_household" in (await student("a"))["flags"]

        # Another category: the child stays flagged, under the new category.
        r = await post_list(registry, sheet(nid["a"]), "低保", "2026-10-20")
        assert r.status_code == 201 and r.json()["flagged"] == 1, r.text
        assert (await student("a"))["poverty_category"] == "低保"

        history = (await registry.get(f"/v1/students/{sid['b']}/flag-changes")).json()
        assert [(h["action"], h["source"], h["category"], h["effective_on"]) for h in history] == [
            ("added", "poverty_list", "脱贫户", "2026-09-01"), ("removed", "poverty_list", None, "2026-10-15")]
        assert [h["action"] for h in (await registry.get(f"/v1/students/{sid['a']}/flag-changes")).json()] == [
            "added", "category"]


async def test_bad_rows_get_the_import_report_and_nothing_is_applied(databases):
    async with running("registry", databases.url("registry"), NO_BROKER) as registry:
        klass = await school_with_class(registry, grade=7)
        body = student_body(klass, born=date(2013, 4, 1), seq=131)
        sid = (await registry.post("/v1/students", json=body)).json()["id"]
        content = sheet(body["national_id"], body["national_id"][:-1] + "0", body["national_id"])
        r = await post_list(registry, content, "防返贫监测对象", "2026-10-01")
        assert r.status_code == 422, r.text
        assert sorted(e["pointer"] for e in r.json()["errors"]) == ["/rows/3/national_id", "/rows/4/national_id"]
        assert (await registry.get(f"/v1/students/{sid}")).json()["flags"] == []
        dry = await post_list(registry, content, "防返贫监测对象", "2026-10-01", dry_run="true")
        assert dry.status_code == 200 and (dry.json()["invalid"], dry.json()["flagged"], dry.json()["id"]) == (2, 1, None)
        assert (await registry.get(f"/v1/students/{sid}")).json()["flags"] == []
        r = await post_list(registry, sheet(body["national_id"], heading="姓名,住址"), "低保", "2026-10-01")
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file.columns.national_id", r.text
        r = await post_list(registry, sheet(body["national_id"]), "低保", "2999-01-01")
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/list_date", r.text
        school = bearer("school_staff", klass["school_code"])
        assert (await registry.post("/v1/poverty-lists", headers=school, data={
            "region_code": "410122", "category": "低保"}, files={"file": ("l.csv", sheet(body["national_id"]))})
                ).status_code == 403
