"""More of the fixture county, for the statutory figures of a school year (年辍学率, 在校生巩固率),
loaded on top of ``events()``. Every figure the tests expect is worked out by hand in README.md
("Statutory rates") and in tests/integration/test_reporting_statutory.py.

School years run from 1 September: 2025-2026 and 2026-2027 (census: the end of 1 September).
* jL, S3 grade 8 from 2025-09-01, dropped out 2026-03-10 (last school year) and is still out.
* w1, S3 grade 8 from 2025-09-01, did not come back: dropped out effective 2026-09-01.
* m1p, S2 grade 6 from 2025-09-01, graduated from primary 2026-07-01; the same child has a new
  record m1 at S1, grade 7, from 2026-09-01 (小升初).
* x1 joined S3 in grade 7 on 2026-10-15 (not on the start roll) and dropped out there on 11-02.
* y1, S3 grade 7 from 2026-09-01, moved to S1 (sent 10-08, received 10-10), dropped out at S1 on 11-03.
* z1, S3 grade 8 from 2026-09-01, dropped out 10-05, came back 10-12, dropped out again 11-04.
* S4 (韩寺镇第二初级中学, T2): a1-a3 in grade 9 from 2025-09-01 graduated 2026-07-01; b1-b3 in
  grade 8 from 2025-09-01; b3 dropped out 2026-10-10.
* A second county of 郑州, 新郑市 (K2), with one school S5 (township T3): q1-q3 in grade 8 from
  2026-09-01, nobody lost: the city's view has a county on target beside 中牟.
"""

from __future__ import annotations

from tests.reporting_fixture import (
    CITY,
    CLASS,
    COUNTY,
    NAMES,
    PATHS,
    PROVINCE,
    S1,
    S2,
    S3,
    T2,
    TOPIC_REGISTRY,
    _enrol,
    _org,
    _status,
)

S4 = "4101222002"
NAMES[S4] = ("韩寺镇第二初级中学", "school")
PATHS[S4] = [PROVINCE, CITY, COUNTY, T2, S4]
CLASS[S4] = "c-s4"
K2, T3, S5 = "410184", "410184100", "4101841001"
NAMES.update({K2: ("新郑市", "county"), T3: ("新建路街道", "township"), S5: ("新郑市第一初级中学", "school")})
PATHS[S5] = [PROVINCE, CITY, K2, T3, S5]
CLASS[S5] = "c-s5"


def _transfer_in(name: str, on: str, school: str, grade: int):
    return _status(name, "transferred_in", "transferred_out", on, on + "T02:00:00", school, grade)


def school_year_events():
    return [
        _org(S4), _org(K2), _org(T3), _org(S5), *(_enrol(n, S5, 8) for n in ("q1", "q2", "q3")),
        _enrol("jL", S3, 8, on="2025-09-01"),
        _status("jL", "dropped_out", "enrolled", "2026-03-10", "2026-03-10T02:00:00", S3, 8, "working away"),
        _enrol("w1", S3, 8, on="2025-09-01"),
        _status("w1", "dropped_out", "enrolled", "2026-09-01", "2026-09-01T03:00:00", S3, 8, "did not come back"),
        _enrol("m1p", S2, 6, on="2025-09-01"),
        _status("m1p", "graduated", "enrolled", "2026-07-01", "2026-07-01T02:00:00", S2, 6),
        _enrol("m1", S1, 7),
        _enrol("x1", S3, 7, on="2026-10-15"),
        _status("x1", "dropped_out", "enrolled", "2026-11-02", "2026-11-02T02:00:00", S3, 7, "working away"),
        _enrol("y1", S3, 7),
        _status("y1", "transferred_out", "enrolled", "2026-10-08", "2026-10-08T02:00:00", S3, 7, "family moved"),
        _transfer_in("y1", "2026-10-10", S1, 7),
        _status("y1", "dropped_out", "transferred_in", "2026-11-03", "2026-11-03T02:00:00", S1, 7, "working away"),
        _enrol("z1", S3, 8),
        _status("z1", "dropped_out", "enrolled", "2026-10-05", "2026-10-05T02:00:00", S3, 8, "working away"),
        _status("z1", "enrolled", "dropped_out", "2026-10-12", "2026-10-12T02:00:00", S3, 8),
        _status("z1", "dropped_out", "enrolled", "2026-11-04", "2026-11-04T02:00:00", S3, 8, "working away"),
        *(_enrol(n, S4, 9, on="2025-09-01") for n in ("a1", "a2", "a3")),
        *(_status(n, "graduated", "enrolled", "2026-07-01", "2026-07-01T02:00:00", S4, 9) for n in ("a1", "a2", "a3")),
        *(_enrol(n, S4, 8, on="2025-09-01") for n in ("b1", "b2", "b3")),
        _status("b3", "dropped_out", "enrolled", "2026-10-10", "2026-10-10T02:00:00", S4, 8, "working away"),
    ]


__all__ = ["K2", "S4", "S5", "TOPIC_REGISTRY", "school_year_events"]
