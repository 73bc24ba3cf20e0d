from shared import limits
from shared.limits import LimitsMiddleware


def test_a_burst_then_a_wait_and_idle_buckets_are_pruned_but_active_ones_kept(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(limits, "MAX_BUCKETS", 3)
    mw = LimitsMiddleware(None, max_body_bytes=1024, writes_per_minute=60, timeout_s=1)  # burst 10, 1/s
    assert [mw._take("a") for _ in range(10)] == [0.0] * 10
    assert mw._take("a") == 1.0  # spent: one token a second
    for key in ("b", "c", "d"):
        mw._take(key)
    clock[0] += 11  # b, c, d and a have refilled; only a new writer is active
    mw._take("e")
    assert set(mw._buckets) == {"e"}
    assert mw._take("a") == 0.0  # a pruned bucket comes back full, as it would have been
