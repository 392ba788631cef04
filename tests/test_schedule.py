"""Scheduling decisions (pure, no clock) and the APScheduler wiring (short real runs)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from feedbridge.errors import ConfigError
from feedbridge.model import ListingSpec, Schedule, Source, SourceState
from feedbridge.schedule import (
    BACKOFF_CAP,
    RefreshScheduler,
    backoff_delay,
    cron_after,
    cron_error,
    first_runs,
    is_stale,
    next_run,
    stale_bound,
)

NOW = datetime(2026, 7, 20, 12, 0, 0, tzinfo=UTC)
HOURLY = Schedule(interval_minutes=60, jitter_seconds=0)


def src(sid: str, schedule: Schedule = HOURLY) -> Source:
    return Source(
        id=sid, title=sid, listing=ListingSpec(urls=("http://127.0.0.1/x",)), schedule=schedule
    )


def failing(n: int, **kw: object) -> SourceState:
    return SourceState(source_id="s", consecutive_failures=n, status="failing", **kw)  # type: ignore[arg-type]


OK = SourceState(source_id="s", last_success=NOW, status="ok")


def test_healthy_source_runs_after_its_interval() -> None:
    assert next_run(NOW, HOURLY, OK, random.Random(1)) == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, timedelta(hours=2)), (2, timedelta(hours=4)), (3, timedelta(hours=8))],
)
def test_failing_source_backs_off_exponentially(failures: int, expected: timedelta) -> None:
    assert next_run(NOW, HOURLY, failing(failures), random.Random(1)) == NOW + expected


def test_backoff_is_capped() -> None:
    assert next_run(NOW, HOURLY, failing(5), random.Random(1)) == NOW + BACKOFF_CAP
    assert next_run(NOW, HOURLY, failing(500), random.Random(1)) == NOW + BACKOFF_CAP


def test_backoff_cap_never_shortens_a_long_interval() -> None:
    weekly = Schedule(interval_minutes=7 * 24 * 60, jitter_seconds=0)
    assert next_run(NOW, weekly, failing(3), random.Random(1)) == NOW + timedelta(days=7)
    assert backoff_delay(timedelta(days=7), 3) == timedelta(days=7)
    assert backoff_delay(timedelta(minutes=5), 0) == timedelta(0)


def test_success_resets_the_backoff() -> None:
    after_failures = next_run(NOW, HOURLY, failing(4), random.Random(1))
    after_success = next_run(NOW, HOURLY, SourceState(source_id="s"), random.Random(1))
    assert after_failures == NOW + timedelta(hours=16)
    assert after_success == NOW + timedelta(hours=1)


def test_retry_after_is_a_floor() -> None:
    later = NOW + timedelta(hours=5)
    assert next_run(NOW, HOURLY, failing(1, retry_after=later), random.Random(1)) == later
    # a Retry-After sooner than the backoff does not make the source run earlier
    sooner = NOW + timedelta(minutes=10)
    assert next_run(NOW, HOURLY, failing(2, retry_after=sooner), random.Random(1)) == (
        NOW + timedelta(hours=4)
    )


def test_jitter_stays_within_bounds_and_varies() -> None:
    sched = Schedule(interval_minutes=60, jitter_seconds=120)
    rng = random.Random(7)
    runs = [next_run(NOW, sched, OK, rng) for _ in range(200)]
    low, high = NOW + timedelta(hours=1), NOW + timedelta(hours=1, seconds=120)
    assert all(low <= r <= high for r in runs)
    assert len(set(runs)) > 150


def test_next_run_is_never_now() -> None:
    tiny = Schedule(interval_minutes=0.001, jitter_seconds=0)
    assert next_run(NOW, tiny, OK, random.Random(1)) >= NOW + timedelta(seconds=1)


def test_cron_schedule_and_cron_backoff() -> None:
    half_hourly = Schedule(cron="*/30 * * * *", jitter_seconds=0)
    at = NOW + timedelta(minutes=7)
    assert next_run(at, half_hourly, OK, random.Random(1)) == NOW + timedelta(minutes=30)
    # exactly on a fire time: the next one, not the same instant
    assert next_run(NOW, half_hourly, OK, random.Random(1)) == NOW + timedelta(minutes=30)
    # one failure skips one fire, two skip three
    assert next_run(at, half_hourly, failing(1), random.Random(1)) == NOW + timedelta(minutes=60)
    assert next_run(at, half_hourly, failing(2), random.Random(1)) == NOW + timedelta(minutes=120)
    assert cron_after("0 6 * * *", NOW) == datetime(2026, 7, 21, 6, 0, tzinfo=UTC)


def test_bad_cron_is_a_config_error() -> None:
    assert cron_error("*/30 * * * *") is None
    assert "schedule.cron" in (cron_error("61 * * * *") or "")
    with pytest.raises(ConfigError):
        next_run(NOW, Schedule(cron="not a cron"), OK, random.Random(1))


def test_first_runs_are_staggered_over_a_minute() -> None:
    sources = [src(f"s{i:03d}") for i in range(100)]
    runs = first_runs(NOW, sources, random.Random(3))
    assert set(runs) == {s.id for s in sources}
    times = sorted(runs.values())
    assert times[0] >= NOW and times[-1] <= NOW + timedelta(seconds=60)
    # never more than a few in any one second
    per_second: dict[int, int] = {}
    for t in times:
        k = int((t - NOW).total_seconds())
        per_second[k] = per_second.get(k, 0) + 1
    assert max(per_second.values()) <= 4


def test_first_runs_window_shrinks_to_the_shortest_interval() -> None:
    fast = Schedule(interval_minutes=0.05, jitter_seconds=0)  # 3 s
    sources = [src("a", fast)] + [src(f"s{i}") for i in range(9)]
    runs = first_runs(NOW, sources, random.Random(3))
    assert max(runs.values()) <= NOW + timedelta(seconds=3)


def test_a_few_sources_start_within_seconds() -> None:
    runs = first_runs(NOW, [src("a"), src("b"), src("c")], random.Random(3))
    assert max(runs.values()) <= NOW + timedelta(seconds=3)
    assert len(set(runs.values())) == 3


def test_first_runs_resume_from_stored_state() -> None:
    recent = SourceState(
        source_id="a", last_attempt=NOW - timedelta(minutes=10), last_success=NOW, status="ok"
    )
    long_ago = SourceState(source_id="b", last_attempt=NOW - timedelta(days=2), status="ok")
    runs = first_runs(NOW, [src("a"), src("b")], random.Random(3), {"a": recent, "b": long_ago})
    assert runs["a"] == NOW + timedelta(minutes=50)  # not refetched at start-up
    assert runs["b"] <= NOW + timedelta(seconds=60)  # overdue: runs in the start-up window


def test_staleness() -> None:
    assert stale_bound(HOURLY, NOW) == timedelta(hours=3)
    fresh = SourceState(source_id="s", last_success=NOW - timedelta(hours=2))
    old = SourceState(source_id="s", last_success=NOW - timedelta(hours=4))
    assert not is_stale(NOW, HOURLY, fresh)
    assert is_stale(NOW, HOURLY, old)
    explicit = Schedule(interval_minutes=60, stale_after_minutes=30)
    assert is_stale(NOW, explicit, fresh)
    never = SourceState(source_id="s", last_attempt=NOW - timedelta(hours=1))
    assert not is_stale(NOW, HOURLY, never)
    assert is_stale(NOW, HOURLY, never, since=NOW - timedelta(hours=5))
    assert not is_stale(NOW, HOURLY, None, since=NOW - timedelta(minutes=5))
    assert not is_stale(NOW, HOURLY, None)


def test_scheduler_runs_each_source_repeatedly_without_overlap() -> None:
    fast = Schedule(interval_minutes=1 / 60, jitter_seconds=0)  # 1 s
    calls: dict[str, int] = {"a": 0, "b": 0}
    active: dict[str, int] = {"a": 0, "b": 0}
    overlaps: list[str] = []
    lock = threading.Lock()

    def run(source: Source) -> SourceState:
        with lock:
            active[source.id] += 1
            if active[source.id] > 1:
                overlaps.append(source.id)
        time.sleep(0.2)
        with lock:
            active[source.id] -= 1
            calls[source.id] += 1
        return SourceState(source_id=source.id, status="ok")

    sched = RefreshScheduler(run, workers=2, rng=random.Random(1))
    sched.start([src("a", fast), src("b", fast)], {})
    try:
        deadline = time.monotonic() + 15
        while min(calls.values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        assert sched.stop(timeout=5)
    assert min(calls.values()) >= 2
    assert overlaps == []
    # stopped: no further runs
    before = dict(calls)
    time.sleep(1.2)  # longer than the interval: a run would have happened
    assert calls == before


def test_scheduler_stop_waits_for_a_refresh_in_flight_then_gives_up() -> None:
    started = threading.Event()
    release = threading.Event()
    finished: list[str] = []

    def run(source: Source) -> SourceState:
        started.set()
        release.wait(10)
        finished.append(source.id)
        return SourceState(source_id=source.id)

    sched = RefreshScheduler(run, workers=1, rng=random.Random(1))
    sched.start([src("slow", Schedule(interval_minutes=1 / 60, jitter_seconds=0))], {})
    assert started.wait(10)
    assert sched.running() == {"slow"}
    assert sched.stop(timeout=0.3) is False  # bounded: gives up while the refresh still runs
    release.set()
    deadline = time.monotonic() + 5
    while not finished and time.monotonic() < deadline:
        time.sleep(0.02)
    assert finished == ["slow"]
    assert sched.running() == set()


def test_scheduler_update_adds_and_removes_sources() -> None:
    fast = Schedule(interval_minutes=1 / 60, jitter_seconds=0)
    seen: list[str] = []

    def run(source: Source) -> SourceState:
        seen.append(source.id)
        return SourceState(source_id=source.id, status="ok")

    sched = RefreshScheduler(run, workers=2, rng=random.Random(1))
    sched.start([src("a", fast)], {})
    try:
        sched.update([src("b", fast)], {})
        assert set(sched.next_runs()) <= {"b"}
        deadline = time.monotonic() + 10
        while "b" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        n_a = seen.count("a")
        time.sleep(1.5)
        assert seen.count("a") == n_a  # removed source no longer runs
        assert "b" in seen
    finally:
        sched.stop(timeout=5)
