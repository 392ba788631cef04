"""The measured process: load a config, refresh every source, report one JSON line.

    python -m bench.refresher CONFIG [--workers N] [--cycles K] [--profile OUT.txt]

Cycle 1 is exactly ``feedbridge run --once`` (``cli.run_sources``: a fresh ``HttpClient``
and store, a thread pool of ``workers``). Further cycles keep one client and one store for
the life of the process, as ``feedbridge serve`` does (robots.txt stays cached). Logging is
at WARNING, as a cron job run with ``-q`` would log. Peak RSS is ``VmHWM`` of this process
(not ``ru_maxrss``: Linux carries the parent's high-water mark into a child across fork and
exec, so a refresher started by a bench process holding 2,000 rendered sites reported the
bench's 500 MB as its own). The fixture server lives in the parent process.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.fleet import Cycle
from feedbridge.cli import run_sources
from feedbridge.config import load_config
from feedbridge.fetch import HttpClient
from feedbridge.model import Config, RefreshResult
from feedbridge.refresh import refresh_source
from feedbridge.store import SQLiteStore


def _status_kb(field: str) -> int:
    """A memory line of /proc/self/status (``VmRSS``, ``VmHWM``), in KiB; 0 if absent."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_kb() -> int:
    """Resident set size now (VmRSS), in KiB."""
    return _status_kb("VmRSS")


def maxrss_kb() -> int:
    """Peak resident set size of this process's own memory (VmHWM), in KiB.

    ``ru_maxrss`` would be wrong here: it starts from the forking parent's peak."""
    return _status_kb("VmHWM") or int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def measure(fn: Callable[[], list[RefreshResult]]) -> tuple[Cycle, list[RefreshResult]]:
    start, cpu = time.monotonic(), time.process_time()
    results = fn()
    end = time.monotonic()
    cycle = Cycle(
        seconds=end - start,
        cpu_seconds=time.process_time() - cpu,
        start=start,
        end=end,
        ok=sum(r.ok for r in results),
        failed=sum(not r.ok for r in results),
        new=sum(r.new for r in results),
        updated=sum(r.updated for r in results),
        unchanged=sum(r.unchanged for r in results),
        errors=sum(r.errors for r in results),
        requests=sum(r.requests for r in results),
        published=sum(r.published for r in results),
        rss_after_kb=rss_kb(),
    )
    return cycle, results


def serve_like(config: Config, workers: int, client: HttpClient, store: SQLiteStore) -> Any:
    """One cycle over every source with a long-lived client and store (the service's way)."""

    def cycle() -> list[RefreshResult]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(
                pool.map(
                    lambda s: refresh_source(s, config.settings, client, store), config.sources
                )
            )

    return cycle


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.refresher")
    p.add_argument("config", type=Path)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--cycles", type=int, default=1)
    p.add_argument("--profile", type=Path, help="write a pyinstrument report of cycle 1 here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    t = time.perf_counter()
    config = load_config(args.config)
    load_seconds = time.perf_counter() - t
    rss_base = rss_kb()

    profiler = None
    if args.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    first, results = measure(lambda: run_sources(config, None, workers=args.workers))
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, show_all=False), "utf-8")
    cycles = [first]
    failures = [f"{r.source_id}: {r.error_kind}: {r.reason}" for r in results if not r.ok]
    if args.cycles > 1:
        store = SQLiteStore(config.settings.state_db)
        client = HttpClient(config.settings)
        try:
            for _ in range(args.cycles - 1):
                cycle, results = measure(serve_like(config, args.workers, client, store))
                cycles.append(cycle)
                failures += [
                    f"{r.source_id}: {r.error_kind}: {r.reason}" for r in results if not r.ok
                ]
        finally:
            client.close()
            store.close()
    out = {
        "load_seconds": load_seconds,
        "sources": len(config.sources),
        "workers": args.workers,
        "rss_base_kb": rss_base,
        "maxrss_kb": maxrss_kb(),
        "cycles": [asdict(c) for c in cycles],
        "failures": failures[:20],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
