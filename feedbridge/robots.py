"""robots.txt: rules per origin, fetched once and cached.

The cache does no I/O itself: the caller hands it a ``fetch`` function (the session's own
request path, so robots.txt goes through the same politeness, proxy and safety checks).
What an answer means follows RFC 9309 and the brief:

- 2xx: the body is parsed with :mod:`urllib.robotparser`;
- 4xx (404, 410, also 401/403): there are no rules, everything is allowed;
- 429, 5xx, unreachable, unsafe redirect: allowed, logged, and asked again sooner
  (``error_ttl``).

Known limit: :mod:`urllib.robotparser` matches path prefixes only (no ``*`` / ``$`` wildcards).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.robotparser import RobotFileParser

from feedbridge.errors import FeedbridgeError, FetchError

log = logging.getLogger(__name__)

# robots_url -> (status, body text); raises FetchError when no answer came.
RobotsFetch = Callable[[str], tuple[int, str]]


class RobotsBacking(Protocol):
    """Where answers outlive the process (the SQLite store), so that `run --once` from cron
    does not ask every site for robots.txt on every run."""

    def robots(self, origin: str) -> tuple[datetime, int, str] | None: ...
    def save_robots(self, origin: str, fetched_at: datetime, status: int, body: str) -> None: ...


@dataclass(frozen=True)
class RobotsRules:
    """What one origin's robots.txt says; ``parser`` None means everything is allowed."""

    parser: RobotFileParser | None
    expires: float  # monotonic time

    def allows(self, url: str, user_agent: str) -> bool:
        return self.parser is None or self.parser.can_fetch(user_agent, url)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def parse_robots(text: str) -> RobotFileParser:
    """A parser loaded with ``text`` (pure; marks the rules as read so they apply)."""
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return parser


class RobotsCache:
    """Rules per origin (``scheme://host:port``), kept ``ttl`` seconds after a good answer.

    One lock per origin, so that threads asking at once cause one fetch, not several.
    """

    def __init__(
        self,
        ttl: float = 3600.0,
        error_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        backing: RobotsBacking | None = None,
    ) -> None:
        self._backing = backing
        self._ttl = ttl
        self._error_ttl = error_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._rules: dict[str, RobotsRules] = {}

    def rules(self, origin: str, fetch: RobotsFetch, source_id: str) -> RobotsRules:
        """The rules for ``origin``, fetching robots.txt when they are unknown or stale."""
        with self._lock:
            origin_lock = self._locks.setdefault(origin, threading.Lock())
        with origin_lock:
            cached = self._rules.get(origin)
            if cached is not None and cached.expires > self._clock():
                return cached
            rules = self._load(origin, fetch, source_id)
            self._rules[origin] = rules
            return rules

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _load(self, origin: str, fetch: RobotsFetch, source_id: str) -> RobotsRules:
        url = origin + "/robots.txt"
        now = self._clock()
        remembered = self._remembered(origin, now)
        if remembered is not None:
            return remembered
        try:
            status, text = fetch(url)
        except FetchError as e:
            if e.status is not None and 400 <= e.status < 500 and e.status != 429:
                self._remember(origin, e.status, "")
                return RobotsRules(None, now + self._ttl)
            log.warning(
                "source %s: %s: robots.txt unavailable, allowing: %s", source_id, url, e.reason
            )
            return RobotsRules(None, now + self._error_ttl)
        if 200 <= status < 300:
            self._remember(origin, status, text)
            return RobotsRules(parse_robots(text), now + self._ttl)
        log.warning("source %s: %s: robots.txt answered %d, allowing", source_id, url, status)
        return RobotsRules(None, now + self._error_ttl)

    def _remembered(self, origin: str, now: float) -> RobotsRules | None:
        """A good answer stored by an earlier process, if it is younger than ``ttl``."""
        if self._backing is None:
            return None
        try:
            stored = self._backing.robots(origin)
        except FeedbridgeError as e:
            log.warning("%s: stored robots.txt unreadable: %s", origin, e)
            return None
        if stored is None:
            return None
        fetched_at, status, body = stored
        age = (datetime.now(UTC) - fetched_at).total_seconds()
        if not 0 <= age < self._ttl:
            return None
        parser = parse_robots(body) if 200 <= status < 300 else None
        return RobotsRules(parser, now + self._ttl - age)

    def _remember(self, origin: str, status: int, body: str) -> None:
        if self._backing is None:
            return
        try:
            self._backing.save_robots(origin, datetime.now(UTC), status, body)
        except FeedbridgeError as e:
            log.warning("%s: robots.txt not stored: %s", origin, e)
