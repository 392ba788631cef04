"""When each source refreshes: pure decisions, then the APScheduler wiring.

The decisions are plain functions of ``(now, schedule, state, rng)`` so they can be tested
without a scheduler or a clock (habit 8 of STYLE.md):

    next_run(now, schedule, state, rng)        when a source runs next
    first_runs(now, sources, rng, states)      start-up times, staggered and resumed from state
    is_stale(now, schedule, state, since)      has the source gone too long without success?

``RefreshScheduler`` only wires them into APScheduler 3.x: one job per source which, after it
has run, sets its own next run time from ``next_run``. A bounded thread pool keeps a slow
source from delaying the others; ``max_instances=1`` and ``coalesce=True`` keep a refresh
from overlapping itself and collapse missed runs into one.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from feedbridge.errors import ConfigError
from feedbridge.model import Schedule, Source, SourceState

log = logging.getLogger(__name__)

#: A failing source never waits longer than this between tries (unless its interval is longer).
BACKOFF_CAP = timedelta(hours=24)
#: The next run is never sooner than this after the previous one.
MIN_GAP = timedelta(seconds=1)
#: Start-up refreshes are spread over at most this window ...
STAGGER_WINDOW = timedelta(seconds=60)
#: ... and never further apart than this, so a handful of sources start at once.
STAGGER_STEP = timedelta(seconds=1)
#: How many times the interval a source may go without success before it is stale.
STALE_FACTOR = 3


# ---------------------------------------------------------------------------------------------
# Pure decisions
# ---------------------------------------------------------------------------------------------


def _cron_trigger(expr: str) -> CronTrigger:
    """Crontab expressions are read in UTC: a server's local zone is an accident of deployment."""
    try:
        trigger: CronTrigger = CronTrigger.from_crontab(expr, timezone=UTC)
    except ValueError as e:
        raise ConfigError(f"schedule.cron: invalid crontab expression {expr!r}: {e}") from e
    return trigger


def cron_error(expr: str) -> str | None:
    """The reason ``expr`` is not a valid crontab expression, or None (for config checks)."""
    try:
        _cron_trigger(expr)
    except ConfigError as e:
        return str(e)
    return None


def cron_after(expr: str, after: datetime) -> datetime:
    """The first fire time of ``expr`` strictly after ``after``."""
    fire: datetime | None = _cron_trigger(expr).get_next_fire_time(
        None, after + timedelta(microseconds=1)
    )
    if fire is None:  # a crontab always fires again; kept for the type checker
        raise ConfigError(f"schedule.cron: {expr!r} never fires after {after.isoformat()}")
    return fire


def period(schedule: Schedule, now: datetime) -> timedelta:
    """The source's normal gap between runs: its interval, or the gap between the next two
    cron fires after ``now`` (used for backoff, staleness and cache lifetimes)."""
    if schedule.cron:
        first = cron_after(schedule.cron, now)
        return cron_after(schedule.cron, first) - first
    return timedelta(minutes=schedule.interval_minutes)


def backoff_delay(base: timedelta, failures: int, cap: timedelta = BACKOFF_CAP) -> timedelta:
    """Exponential backoff: ``base × 2^failures``, never beyond ``cap`` (or ``base`` itself when
    the base interval is already longer than the cap). Zero failures: no delay."""
    if failures <= 0:
        return timedelta(0)
    limit = max(cap, base)
    factor = 1 << min(failures, 32)  # 2^32 × anything is past any cap; avoids huge ints
    return min(base * factor, limit)


def next_run(
    now: datetime,
    schedule: Schedule,
    state: SourceState,
    rng: random.Random,
    cap: timedelta = BACKOFF_CAP,
) -> datetime:
    """When a source that has just run (at ``now``, leaving ``state``) should run next.

    Healthy: ``now + interval`` (or the next cron fire). Failing: the interval doubled per
    consecutive failure, capped (for cron, the next fire after that delay less one period, so
    one failure skips one fire, like the interval case). A site's ``Retry-After`` (kept in
    ``state.retry_after``) is a floor. Success resets the failure count in the store and so
    the backoff here. Jitter, uniform in ``[0, jitter_seconds]``, is added last so that many
    sources on one interval drift apart instead of hitting a host together.
    """
    base = period(schedule, now)
    failures = state.consecutive_failures
    if schedule.cron:
        delay = backoff_delay(base, failures, cap)
        earliest = now + (delay - base if failures > 0 else timedelta(0))
        when = cron_after(schedule.cron, earliest)
    else:
        when = now + (backoff_delay(base, failures, cap) if failures > 0 else base)
    if state.retry_after is not None and state.retry_after > when:
        when = state.retry_after
    if schedule.jitter_seconds > 0:
        when += timedelta(seconds=rng.uniform(0.0, schedule.jitter_seconds))
    return max(when, now + MIN_GAP)


def first_runs(
    now: datetime,
    sources: Sequence[Source],
    rng: random.Random,
    states: Mapping[str, SourceState] | None = None,
    window: timedelta | None = None,
) -> dict[str, datetime]:
    """Start-up run times: due sources are spread evenly, at most ``STAGGER_STEP`` apart and
    over at most ``window`` (default: a minute or the shortest interval, whichever is
    shorter), so a hundred sources do not fire at once and three need not wait a minute.

    A source with a stored last attempt resumes where it left off: it runs when ``next_run``
    from that attempt says, so a restart does not refetch every source at once.
    """
    if not sources:
        return {}
    if window is None:
        shortest = min(period(s.schedule, now) for s in sources)
        window = min(STAGGER_WINDOW, shortest)
    slot = min(window / len(sources), STAGGER_STEP)
    known = states or {}
    runs: dict[str, datetime] = {}
    for i, source in enumerate(sources):
        staggered = now + slot * i + timedelta(seconds=rng.uniform(0.0, slot.total_seconds()))
        state = known.get(source.id)
        if state is not None and state.last_attempt is not None:
            due = next_run(state.last_attempt, source.schedule, state, rng)
            runs[source.id] = max(due, staggered)
        else:
            runs[source.id] = staggered
    return runs


def stale_bound(schedule: Schedule, now: datetime) -> timedelta:
    """How long a source may go without a successful refresh before it is stale."""
    if schedule.stale_after_minutes is not None:
        return timedelta(minutes=schedule.stale_after_minutes)
    return period(schedule, now) * STALE_FACTOR


def is_stale(
    now: datetime,
    schedule: Schedule,
    state: SourceState | None,
    since: datetime | None = None,
) -> bool:
    """True when the source has gone longer than its bound without a successful refresh.

    The clock starts at the last success; a source that never succeeded is measured from
    ``since`` (the service start) or else its first recorded attempt, so a new source gets one
    full bound to succeed before it counts as stale.
    """
    bound = stale_bound(schedule, now)
    if state is not None and state.last_success is not None:
        reference: datetime | None = state.last_success
    elif since is not None:
        reference = since
    else:
        reference = state.last_attempt if state is not None else None
    if reference is None:
        return False
    return now - reference > bound


# ---------------------------------------------------------------------------------------------
# APScheduler wiring
# ---------------------------------------------------------------------------------------------

RunFn = Callable[[Source], SourceState]
#: Where a job waits between a run's start and the moment that run sets its real next time.
PARKED = timedelta(days=36500)


class _Parked(BaseTrigger):  # type: ignore[misc]
    """A trigger that never decides: the job sets its own ``next_run_time`` after each run.

    Why not a ``DateTrigger`` re-added by the job? APScheduler removes a fired DateTrigger job
    *after* submitting it to the pool; a run that finishes quickly and re-adds itself under the
    same id can be removed by that late clean-up, silently ending the source's schedule. A
    parked job keeps its id for good, so ``max_instances=1`` guards it, and the job's own
    ``modify_job`` waits for the scheduler's job-store lock, so it always lands last.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        return now + PARKED

    def __str__(self) -> str:
        return "parked"


def utcnow() -> datetime:
    return datetime.now(UTC)


class RefreshScheduler:
    """Runs every source on its own schedule in a bounded pool; reloadable, stoppable.

    Each source is one APScheduler job (see ``_Parked``); the job runs ``run(source)``, which
    refreshes and returns the stored state, then sets its own next run time from
    ``next_run``. Keeping the decision out of APScheduler keeps it pure and tested.

    ``misfire_grace_time`` is None (run however late): each planned run is a single run time,
    and a run dropped as "missed" (e.g. after the host slept, or while the pool was busy)
    would leave the source parked and never run again.
    """

    def __init__(
        self,
        run: RunFn,
        *,
        workers: int = 4,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._run = run
        self._rng = rng or random.Random()
        self._clock = clock
        self._workers = workers
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._sources: dict[str, Source] = {}
        self._inflight: set[str] = set()
        self._next: dict[str, datetime] = {}
        self._stopping = False
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
            timezone=UTC,
        )

    # -- public ------------------------------------------------------------------------------

    def start(self, sources: Iterable[Source], states: Mapping[str, SourceState]) -> None:
        """Schedules every source (staggered, resumed from ``states``) and starts the pool."""
        srcs = list(sources)
        with self._lock:
            self._sources = {s.id: s for s in srcs}
            for source_id, when in first_runs(self._clock(), srcs, self._rng, states).items():
                self._add_locked(source_id, when)
        self._scheduler.start()
        log.info("scheduler started: %d sources, %d workers", len(srcs), self._workers)

    def update(self, sources: Iterable[Source], states: Mapping[str, SourceState]) -> None:
        """Applies a reloaded config: new sources are scheduled, removed ones dropped, and
        sources whose schedule changed are re-timed from their last attempt. A refresh in
        flight is left alone; it reads the new schedule when it reschedules itself."""
        new = {s.id: s for s in sources}
        now = self._clock()
        with self._lock:
            old = self._sources
            self._sources = new
            for source_id in old.keys() - new.keys():
                self._remove_locked(source_id)
                log.info("source %s: removed from the schedule", source_id)
            added = [s for sid, s in new.items() if sid not in old]
            for source_id, when in first_runs(now, added, self._rng, states).items():
                self._add_locked(source_id, when)
                log.info("source %s: scheduled, first run %s", source_id, when.isoformat())
            for sid, source in new.items():
                if sid in old and old[sid].schedule != source.schedule:
                    if sid in self._inflight:
                        continue
                    state = states.get(sid) or SourceState(source_id=sid)
                    start = state.last_attempt or now
                    when = max(next_run(start, source.schedule, state, self._rng), now + MIN_GAP)
                    self._add_locked(sid, when)
                    log.info("source %s: schedule changed, next run %s", sid, when.isoformat())

    def next_runs(self) -> dict[str, datetime]:
        """The planned next run of each source (for the index page and logs)."""
        with self._lock:
            return dict(self._next)

    def running(self) -> set[str]:
        """Ids of the sources being refreshed right now."""
        with self._lock:
            return set(self._inflight)

    def stop(self, timeout: float) -> bool:
        """Stops scheduling, then waits up to ``timeout`` seconds for refreshes in flight.

        Returns True when none is left running. Those still running may be abandoned by the
        caller: feed files are replaced atomically and the store is transactional, so nothing
        is left half-written.
        """
        with self._lock:
            self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        deadline = self._clock() + timedelta(seconds=timeout)
        with self._lock:
            while self._inflight:
                left = (deadline - self._clock()).total_seconds()
                if left <= 0:
                    log.warning(
                        "stop: abandoning refreshes still in flight: %s",
                        ", ".join(sorted(self._inflight)),
                    )
                    return False
                self._idle.wait(timeout=min(left, 0.5))
        return True

    # -- internals ---------------------------------------------------------------------------

    def _add_locked(self, source_id: str, when: datetime) -> None:
        self._next[source_id] = when
        if self._scheduler.get_job(source_id) is not None:
            self._scheduler.modify_job(source_id, next_run_time=when)
            return
        self._scheduler.add_job(
            self._job,
            _Parked(),
            args=(source_id,),
            id=source_id,
            name=f"refresh {source_id}",
            next_run_time=when,
        )

    def _remove_locked(self, source_id: str) -> None:
        self._next.pop(source_id, None)
        if self._scheduler.get_job(source_id) is not None:
            self._scheduler.remove_job(source_id)

    def _job(self, source_id: str) -> None:
        """One run: refresh the source, then plan its next run from the state it left."""
        with self._lock:
            source = self._sources.get(source_id)
            if self._stopping or source is None:
                return
            self._inflight.add(source_id)
            self._next.pop(source_id, None)
        try:
            state = self._run(source)
        except Exception:  # run() should not raise; a bug there must not end the schedule
            log.exception("source %s: refresh crashed", source_id)
            state = SourceState(source_id=source_id, consecutive_failures=1, status="failing")
        finally:
            with self._lock:
                self._inflight.discard(source_id)
                self._idle.notify_all()
        with self._lock:
            current = self._sources.get(source_id)
            if self._stopping:
                return
            if current is None:  # removed by a reload while it ran
                self._remove_locked(source_id)
                return
            when = next_run(self._clock(), current.schedule, state, self._rng)
            self._add_locked(source_id, when)
        log.info("source %s: next run %s", source_id, when.isoformat())
