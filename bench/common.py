"""What every scenario shares: the result row, timing helpers, the table and the JSON file.

Absolute times on a shared machine are noisy, so every row carries a ratio: to the bound
the issue sets, or to a peer measured in the same run. ``met`` is None where a row is
informative only.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Metric:
    """One measured number. ``ratio`` is value ÷ bound for "at most" targets and
    peer ÷ value ("× faster") for speed-ups; ``target`` says which, e.g. ``≤ 1.3``."""

    scenario: str
    name: str
    value: float
    unit: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    """Rows of one scenario plus free-form details kept in the JSON only."""

    scenario: str
    metrics: list[Metric] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: str | None = None

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        ratio: float | None = None,
        target: str = "",
        note: str = "",
    ) -> Metric:
        """Record a row; ``target`` like ``≤ 1.3`` or ``≥ 10`` is checked against ``ratio``
        (or against ``value`` when there is no ratio)."""
        met = check(target, ratio if ratio is not None else value) if target else None
        m = Metric(self.scenario, name, value, unit, ratio, target, met, note)
        self.metrics.append(m)
        print(f"  {format_row(m)}", flush=True)
        return m


def check(target: str, value: float) -> bool:
    op, _, num = target.partition(" ")
    limit = float(num)
    return {"≤": value <= limit, "≥": value >= limit, "=": math.isclose(value, limit)}[op]


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes (perf_counter)."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0–1), nearest-rank: no interpolation between samples."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares ``y = a + b·x``; returns (a, b, worst relative deviation of a point
    from the line). Growth is linear when that deviation is small."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    a = my - b * mx
    worst = max(
        (abs(y - (a + b * x)) / abs(a + b * x) for x, y in zip(xs, ys, strict=True) if a + b * x),
        default=0.0,
    )
    return a, b, worst


def format_row(m: Metric) -> str:
    ratio = f"{m.ratio:.2f}" if m.ratio is not None else "-"
    verdict = {True: "met", False: "MISSED", None: ""}[m.met]
    value = f"{m.value:,.3f}" if abs(m.value) < 100 else f"{m.value:,.0f}"
    return f"{m.name:<46} {value:>12} {m.unit:<8} {ratio:>8} {m.target:<8} {verdict}"


def print_table(reports: Sequence[Report]) -> None:
    print()
    print(f"{'metric':<46} {'value':>12} {'unit':<8} {'ratio':>8} {'target':<8} verdict")
    for r in reports:
        print(f"-- {r.scenario} ({r.seconds:.1f} s)")
        if r.skipped:
            print(f"  skipped: {r.skipped}")
        for m in r.metrics:
            print(f"  {format_row(m)}")
            if m.note:
                print(f"      {m.note}")


def machine() -> dict[str, Any]:
    mem = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_json(reports: Sequence[Report], args: dict[str, Any], path: Path | None = None) -> Path:
    """bench/results/<UTC stamp>.json (git-ignored) unless ``path`` is given."""
    now = datetime.now(UTC)
    if path is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{now:%Y%m%dT%H%M%SZ}.json"
    data = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "args": args,
        "scenarios": [
            {
                "scenario": r.scenario,
                "seconds": round(r.seconds, 3),
                "skipped": r.skipped,
                "metrics": [asdict(m) for m in r.metrics],
                "details": r.details,
            }
            for r in reports
        ],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path
