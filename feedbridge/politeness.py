"""Politeness towards sites: per-host request limits and retry timing.

``HostLimiter`` keeps, for one ``host:port``, at most ``max_concurrency`` requests in flight and
at least ``min_delay`` seconds between two request starts, across every thread and every source
of the process. When several sources reach one host, the limiter keeps the strictest settings it
has been told about (they only ever tighten for the life of the process: being too polite for a
while is cheap, being banned is not).

The retry timing is pure: ``backoff_delay`` (exponential with full jitter) and
``parse_retry_after`` (delta-seconds or HTTP-date, relative to a ``now`` passed in).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Clock = Callable[[], float]


class HostLimiter:
    """Concurrency cap plus a minimum spacing of request starts, for one host."""

    def __init__(self, max_concurrency: int, min_delay: float, clock: Clock = time.monotonic):
        self._cond = threading.Condition()
        self._clock = clock
        self._in_flight = 0
        self._next_start = float("-inf")
        self.max_concurrency = max(1, max_concurrency)
        self.min_delay = max(0.0, min_delay)

    def tighten(self, max_concurrency: int, min_delay: float) -> None:
        """Adopt the stricter of the current limits and these (another source shares the host,
        or robots.txt asked for a crawl delay)."""
        with self._cond:
            self.max_concurrency = max(1, min(self.max_concurrency, max_concurrency))
            self.min_delay = max(self.min_delay, min_delay)

    def acquire(self, deadline: float) -> bool:
        """Wait for a slot; ``False`` if none came before ``deadline`` (a monotonic time)."""
        with self._cond:
            while True:
                now = self._clock()
                free = self._in_flight < self.max_concurrency
                if free and now >= self._next_start:
                    self._in_flight += 1
                    self._next_start = now + self.min_delay
                    return True
                if now >= deadline:
                    return False
                wait = deadline - now
                if free:
                    wait = min(wait, self._next_start - now)
                self._cond.wait(wait)

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()


class HostLimiters:
    """The process-wide table of limiters, keyed by ``host:port``."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._by_host: dict[str, HostLimiter] = {}

    def get(self, host_port: str, max_concurrency: int, min_delay: float) -> HostLimiter:
        """The limiter for ``host_port``, tightened to at least these limits."""
        with self._lock:
            limiter = self._by_host.get(host_port)
            if limiter is None:
                limiter = HostLimiter(max_concurrency, min_delay, self._clock)
                self._by_host[host_port] = limiter
                return limiter
        limiter.tighten(max_concurrency, min_delay)
        return limiter


def backoff_delay(attempt: int, base: float, rng: random.Random, cap: float = 300.0) -> float:
    """Seconds to wait before retry number ``attempt + 1``: full jitter over
    ``[0, base * 2**attempt]`` so that many clients failing together do not retry together."""
    return rng.uniform(0.0, min(cap, base * 2.0**attempt))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or HTTP-date), or ``None``
    when absent or unreadable. A date in the past means 0."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
