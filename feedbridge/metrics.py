"""Prometheus metrics of the service: what each refresh did, and how each source stands.

Two kinds, kept apart on purpose:

* **Counters and the duration histogram** move with every refresh (``Metrics.observe``).
  They live in this process only; Prometheus copes with the reset a restart brings.
* **Gauges of source state** (last success, failures, entries, staleness) are read from the
  stored ``SourceState`` at scrape time by a collector, so they are right straight after a
  restart and never drift from what ``/`` and ``/healthz`` show.

Each ``Metrics`` has its own registry (not the process-global one), so several apps (tests,
reloads) never clash over metric names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from feedbridge.model import ERROR_KINDS as RUN_ERROR_KINDS
from feedbridge.model import RefreshResult, Source, SourceState
from feedbridge.schedule import is_stale

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Refreshes range from a 304 in milliseconds to a backfill of many pages over minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
#: ``error_kind`` values of RefreshResult, plus "item" for items skipped within a good run.
ERROR_KINDS = (*RUN_ERROR_KINDS, "item")

#: What the state collector reads: the configured sources, their states, and the start time.
StateView = Callable[[], tuple[Sequence[Source], Mapping[str, SourceState], datetime]]


class _StateCollector(Collector):
    """Gauges computed from the stored source states at scrape time."""

    def __init__(self, view: StateView, clock: Callable[[], datetime]) -> None:
        self._view = view
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        sources, states, since = self._view()
        now = self._clock()
        last = GaugeMetricFamily(
            "feedbridge_last_success_timestamp_seconds",
            "Unix time of the source's last successful refresh (absent if never).",
            labels=["source"],
        )
        failures = GaugeMetricFamily(
            "feedbridge_consecutive_failures",
            "Failed refreshes since the last success.",
            labels=["source"],
        )
        entries = GaugeMetricFamily(
            "feedbridge_entries", "Entries stored for the source.", labels=["source"]
        )
        stale = GaugeMetricFamily(
            "feedbridge_source_stale",
            "1 when the source went longer than its stale_after bound without success.",
            labels=["source"],
        )
        status = GaugeMetricFamily(
            "feedbridge_source_status",
            "1 for the source's current status (ok, degraded, failing, new).",
            labels=["source", "status"],
        )
        for source in sources:
            state = states.get(source.id) or SourceState(source_id=source.id)
            if state.last_success is not None:
                last.add_metric([source.id], state.last_success.timestamp())
            failures.add_metric([source.id], state.consecutive_failures)
            entries.add_metric([source.id], state.entry_count)
            stale.add_metric([source.id], float(is_stale(now, source.schedule, state, since)))
            for name in ("ok", "degraded", "failing", "new"):
                status.add_metric([source.id, name], float(state.status == name))
        yield from (last, failures, entries, stale, status)


class Metrics:
    """The service's metrics registry; ``observe`` after each refresh, ``render`` to scrape."""

    def __init__(
        self,
        view: StateView | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.refreshes = Counter(
            "feedbridge_refreshes",
            "Refreshes run, by outcome (ok or failed).",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.requests = Counter(
            "feedbridge_http_requests",
            "HTTP requests sent to the source's sites.",
            ["source"],
            registry=self.registry,
        )
        self.errors = Counter(
            "feedbridge_errors",
            "Errors by kind: a failed refresh counts once under its kind; items skipped "
            "within a refresh count under 'item'.",
            ["source", "kind"],
            registry=self.registry,
        )
        self.new_entries = Counter(
            "feedbridge_entries_new",
            "Entries seen for the first time.",
            ["source"],
            registry=self.registry,
        )
        self.updated_entries = Counter(
            "feedbridge_entries_updated",
            "Stored entries whose content changed.",
            ["source"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "feedbridge_refresh_duration_seconds",
            "Wall time of one refresh of one source.",
            ["source"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        if view is not None:
            self.registry.register(_StateCollector(view, clock))

    def declare(self, source_ids: Iterable[str]) -> None:
        """Creates every series at zero, so a counter that moves is seen to move from 0."""
        for sid in source_ids:
            for outcome in ("ok", "failed"):
                self.refreshes.labels(sid, outcome)
            for kind in ERROR_KINDS:
                self.errors.labels(sid, kind)
            self.requests.labels(sid)
            self.new_entries.labels(sid)
            self.updated_entries.labels(sid)
            self.duration.labels(sid)

    def observe(self, result: RefreshResult) -> None:
        """Counts one refresh."""
        sid = result.source_id
        self.refreshes.labels(sid, "ok" if result.ok else "failed").inc()
        self.requests.labels(sid).inc(result.requests)
        self.new_entries.labels(sid).inc(result.new)
        self.updated_entries.labels(sid).inc(result.updated)
        self.duration.labels(sid).observe(result.seconds)
        item_errors = result.errors
        if not result.ok:
            self.errors.labels(sid, result.error_kind or "fetch").inc()
            item_errors -= 1  # refresh_source counts the fatal error in ``errors`` too
        if item_errors > 0:
            self.errors.labels(sid, "item").inc(item_errors)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
