"""A fleet of sources: the YAML config for N scale sites, and feedbridge run in a subprocess.

The refresher runs in its own process (:mod:`bench.refresher`) so that its peak RSS and CPU
are feedbridge's alone, not the fixture server's; the server stays in the bench process.
The config goes through ``load_config`` like any user's file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: Politeness against loopback: each site is its own host, so per-host limits never serialise
#: across sites; a small delay keeps the limiter's code path without dominating the timings.
MIN_DELAY = 0.001

_SOURCE = """\
  - id: {id}
    title: Scale site {n}
    language: en
    timezone: America/New_York
    listing:
      url: {origin}/news/
      items: article.teaser
      fields:
        title: h2 a
        link: h2 a
        date: {{css: time, attribute: datetime}}
        summary: p.dek
        author: {{css: .byline, regex: 'By\\s+(.+)'}}
        image: img
      pagination: {{type: rel_next, max_pages: {max_pages}}}
      max_items: {max_items}
    article:
      title: h1
      date: {{css: time.published, attribute: datetime}}
      body: div.story-body
      remove: [.share-buttons, .related, .comments]
    http: {{min_delay: {min_delay}, max_concurrency: {concurrency}, allow_private: true}}
"""


def source_id(n: int) -> str:
    return f"site-{n:05d}"


def write_config(
    path: Path,
    origins: Sequence[str],
    work: Path,
    *,
    max_pages: int = 2,
    max_items: int = 200,
    concurrency: int = 4,
    min_delay: float = MIN_DELAY,
) -> Path:
    """A config with one source per origin; feeds and state under ``work``. ``max_items``
    caps the items taken from a listing URL, pages included."""
    parts = [
        "settings:",
        f"  output_dir: {work / 'feeds'}",
        f"  state_db: {work / 'state' / 'feedbridge.sqlite'}",
        "  base_url: http://localhost:8080/feeds/",
        "sources:",
    ]
    for n, origin in enumerate(origins):
        parts.append(
            _SOURCE.format(
                id=source_id(n),
                n=n,
                origin=origin,
                max_pages=max_pages,
                max_items=max_items,
                min_delay=min_delay,
                concurrency=concurrency,
            ).rstrip("\n")
        )
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Cycle:
    """One refresh cycle of every source, as the refresher process reported it."""

    seconds: float
    cpu_seconds: float
    start: float  # time.monotonic() (system-wide on Linux, so comparable with server hits)
    end: float
    ok: int
    failed: int
    new: int
    updated: int
    unchanged: int
    errors: int
    requests: int
    published: int
    rss_after_kb: int


@dataclass(frozen=True)
class Run:
    """A refresher process: config load time, its cycles, its baseline and peak RSS."""

    load_seconds: float
    sources: int
    workers: int
    rss_base_kb: int
    maxrss_kb: int
    cycles: tuple[Cycle, ...]
    failures: tuple[str, ...]


def refresh(
    config: Path,
    *,
    workers: int,
    cycles: int = 1,
    profile: Path | None = None,
    timeout: float = 600.0,
) -> Run:
    """Run :mod:`bench.refresher` on ``config`` and read its JSON report."""
    cmd = [sys.executable, "-m", "bench.refresher", str(config), "--workers", str(workers)]
    cmd += ["--cycles", str(cycles)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"refresher failed ({proc.returncode}): {proc.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return Run(
        load_seconds=data["load_seconds"],
        sources=data["sources"],
        workers=data["workers"],
        rss_base_kb=data["rss_base_kb"],
        maxrss_kb=data["maxrss_kb"],
        cycles=tuple(Cycle(**c) for c in data["cycles"]),
        failures=tuple(data["failures"]),
    )
