"""Scenarios 1–3: feedbridge against fleets of loopback sites, in a subprocess.

1. **Cold backfill** — one source, 1,000 articles (50 listing pages of 20), 50 ms latency per
   request, per-host concurrency 4. Bound: requests × latency ÷ concurrency. Listing pages
   are followed one after another (each names the next), so the reachable floor is
   (robots + pages) × latency + articles × latency ÷ 4; both ratios are reported.
2. **Steady state** — 2,000 sources (each its own 127.1.x.y address), nothing changed: the
   requests the sites saw, the cycle's wall time and the process's peak RSS. The cycle of a
   fresh process (``run --once``) also asks each site for robots.txt; a long-running service
   (``serve``) has it cached, so its warm cycle is reported too.
3. **Growth** — 100, 500 and 2,000 sources of 20 articles: cold, unchanged, and after every
   site published 2 articles; time and memory per source, slopes and linearity.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.common import Report, linear_fit
from bench.fleet import Cycle, Run, refresh, write_config
from bench.scaleserver import Hit, ScaleServer, ScaleSite

#: Sources refreshed at once. On loopback the work is CPU-bound under one GIL: at 500
#: unchanged sources 4, 8, 16, 32 and 64 workers gave the same cycle time within noise
#: (docs/benchmarks.md); 16 leaves room for sites with real latency without costing memory.
WORKERS = 16


def _window(hits: Sequence[Hit], cycle: Cycle) -> Counter[str]:
    """The server's tallies for requests that started during ``cycle``."""
    out: Counter[str] = Counter()
    for h in hits:
        if cycle.start <= h.start <= cycle.end:
            out[h.kind] += 1
            out["total"] += 1
            if h.conditional:
                out[f"{h.kind}:conditional"] += 1
            if h.status == 304:
                out[f"{h.kind}:304"] += 1
    return out


def cold_backfill(quick: bool = False) -> Report:
    report = Report("1 cold backfill")
    count, latency, conc, per_page = (100, 0.02, 4, 20) if quick else (1000, 0.05, 4, 20)
    pages = -(-count // per_page)
    site = ScaleSite(seed="backfill", count=count, per_page=per_page)
    with ScaleServer([site], latency=latency) as server, tempfile.TemporaryDirectory() as tmp:
        server.warm()
        work = Path(tmp)
        config = write_config(
            work / "bench.yaml",
            server.origins,
            work,
            max_pages=pages,
            max_items=count,
            concurrency=conc,
        )
        run = refresh(config, workers=1)
        cycle = run.cycles[0]
        seen = _window(server.hits, cycle)
    requests = seen["total"]
    bound = requests * latency / conc
    floor = (seen["robots"] + seen["listing"]) * latency + seen["article"] * latency / conc
    report.details.update(
        articles=count,
        latency_s=latency,
        concurrency=conc,
        requests=dict(seen),
        new_entries=cycle.new,
        failures=list(run.failures),
    )
    report.add("entries stored", cycle.new, "entries", ratio=cycle.new / count, target="= 1")
    report.add(
        "wall ÷ (requests × latency ÷ concurrency)",
        cycle.seconds,
        "s",
        ratio=cycle.seconds / bound,
        target="≤ 1.3",
        note=f"{requests} requests, bound {bound:.2f} s",
    )
    report.add(
        "wall ÷ floor with sequential listing pages",
        cycle.seconds,
        "s",
        ratio=cycle.seconds / floor,
        note=f"floor {floor:.2f} s: {seen['robots'] + seen['listing']} sequential requests "
        f"+ {seen['article']} articles ÷ {conc}",
    )
    report.add("CPU time of the refresher", cycle.cpu_seconds, "s")
    return report


def _fleet(n: int) -> list[ScaleSite]:
    return [ScaleSite(seed=i, count=20) for i in range(n)]


def growth_and_steady(quick: bool = False, workers: int = WORKERS) -> list[Report]:
    """Scenario 3 at every size; scenario 2 from the unchanged run at the largest size."""
    sizes = (20, 50, 100) if quick else (100, 500, 2000)
    growth = Report("3 growth")
    steady = Report("2 steady state")
    rows: dict[str, list[tuple[int, Run, Counter[str]]]] = {"cold": [], "unchanged": [], "+2": []}
    for n in sizes:
        with ScaleServer(_fleet(n)) as server, tempfile.TemporaryDirectory() as tmp:
            server.warm()
            work = Path(tmp)
            config = write_config(work / "bench.yaml", server.origins, work)
            for phase in ("cold", "unchanged", "+2"):
                if phase == "+2":
                    server.publish(2)
                    server.warm()
                server.clear_hits()
                cycles = 3 if phase == "unchanged" and n == sizes[-1] else 1
                run = refresh(config, workers=workers, cycles=cycles)
                hits = list(server.hits)
                rows[phase].append((n, run, _window(hits, run.cycles[0])))
                if cycles == 3:
                    _steady(steady, n, run, hits)
                c = run.cycles[0]
                print(
                    f"  {n} sources {phase}: {c.seconds:.2f} s, {c.requests} requests, "
                    f"new {c.new}, failed {c.failed}, peak RSS {run.maxrss_kb / 1024:.0f} MB",
                    flush=True,
                )
    _growth(growth, rows, sizes)
    steady.details["workers"] = workers
    growth.details["workers"] = workers
    return [steady, growth]


def _steady(report: Report, n: int, run: Run, hits: Sequence[Hit]) -> None:
    once, _, warm = run.cycles
    seen_once, seen_warm = _window(hits, once), _window(hits, warm)
    report.details.update(
        sources=n,
        requests_run_once=dict(seen_once),
        requests_serve_warm=dict(seen_warm),
        config_load_s=run.load_seconds,
        rss_base_mb=run.rss_base_kb / 1024,
        rss_after_cycles_mb=[c.rss_after_kb / 1024 for c in run.cycles],
        cycle_seconds=[c.seconds for c in run.cycles],
        failures=list(run.failures),
    )
    report.add(
        "conditional listing requests per listing URL",
        seen_once["listing:conditional"] / n,
        "req",
        target="= 1",
        note=f"{seen_once['listing']} listing requests, {seen_once['listing:304']} answered 304",
    )
    report.add("article fetches", seen_once["article"], "req", target="= 0")
    report.add(
        "robots.txt fetches (fresh process)",
        seen_once["robots"],
        "req",
        note="run --once starts with an empty robots cache; serve keeps it an hour",
    )
    report.add(
        "requests per source, serve (warm cycle)",
        seen_warm["total"] / n,
        "req",
        target="= 1",
    )
    report.add(
        f"cycle wall time, run --once ({n} sources)",
        once.seconds,
        "s",
        ratio=once.seconds / 5.0,
        target="≤ 1",
        note=f"ratio to the 5 s target; {run.workers} workers; CPU {once.cpu_seconds:.1f} s",
    )
    report.add(
        f"cycle wall time, serve warm ({n} sources)",
        warm.seconds,
        "s",
        ratio=warm.seconds / 5.0,
        target="≤ 1",
        note=f"CPU {warm.cpu_seconds:.1f} s",
    )
    peak = run.maxrss_kb / 1024
    report.add(
        "peak RSS of the refresher (VmHWM)",
        peak,
        "MB",
        ratio=peak / 150,
        target="≤ 1",
        note="ratio to the 150 MB target; the peak includes loading the config",
    )
    after = max(c.rss_after_kb for c in run.cycles) / 1024
    report.add(
        "RSS after the cycles (VmRSS)",
        after,
        "MB",
        ratio=after / 150,
        note=f"{run.rss_base_kb / 1024:.0f} MB right after the config was loaded",
    )
    report.add("config load (YAML → Config)", run.load_seconds, "s")


def _growth(
    report: Report, rows: dict[str, list[tuple[int, Run, Counter[str]]]], sizes: Sequence[int]
) -> None:
    table = {}
    for phase, runs in rows.items():
        xs = [float(n) for n, _, _ in runs]
        secs = [r.cycles[0].seconds for _, r, _ in runs]
        mem = [r.maxrss_kb / 1024 for _, r, _ in runs]
        _, slope, _ = linear_fit(xs, secs)
        _, mslope, mdev = linear_fit(xs, mem)
        per = [s / x for s, x in zip(secs, xs, strict=True)]
        mean = sum(per) / len(per)
        dev = max(abs(p - mean) / mean for p in per)
        per_small, per_large = per[0], per[-1]
        table[phase] = {
            "sources": [int(x) for x in xs],
            "seconds": secs,
            "peak_rss_mb": mem,
            "rss_after_mb": [r.cycles[0].rss_after_kb / 1024 for _, r, _ in runs],
            "config_load_s": [r.load_seconds for _, r, _ in runs],
            "requests": [dict(c) for _, _, c in runs],
            "failed": [r.cycles[0].failed for _, r, _ in runs],
        }
        report.add(
            f"{phase}: time per source (slope)",
            slope * 1000,
            "ms",
            note="seconds: " + ", ".join(f"{n}→{s:.2f}" for n, s in zip(sizes, secs, strict=True)),
        )
        report.add(
            f"{phase}: worst deviation of per-source time",
            dev,
            "rel",
            target="≤ 0.2",
            note="max |t/n − mean| ÷ mean over the sizes: 0 is perfectly linear",
        )
        report.add(
            f"{phase}: per-source time {sizes[-1]} ÷ {sizes[0]}",
            per_large * 1000,
            "ms",
            ratio=per_large / per_small,
            target="≤ 1.5",
        )
        report.add(
            f"{phase}: memory per source (slope)",
            mslope * 1024,
            "KB",
            note="peak RSS MB: "
            + ", ".join(f"{n}→{m:.0f}" for n, m in zip(sizes, mem, strict=True))
            + f"; worst deviation from the line {mdev:.2f} (peaks are config loading)",
        )
    cold_large = rows["cold"][-1][1].cycles[0].seconds
    report.add(
        f"cold run at {sizes[-1]} sources",
        cold_large,
        "s",
        ratio=cold_large / 30.0,
        target="≤ 1",
        note="ratio to the 30 s target (set for 2,000 sources)",
    )
    report.details["runs"] = table
