"""``python -m bench``: run the benchmark scenarios, print a table, write JSON.

    python -m bench                 # everything (under 10 minutes on 2 cores)
    python -m bench --quick         # small sizes, a smoke run (under a minute)
    python -m bench --only 1,4      # some scenarios
    python -m bench --json out.json # where to write the results (default bench/results/)

See docs/benchmarks.md for what each scenario measures and the latest numbers.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import Report, print_table, write_json

Runner = Callable[[bool], list[Report]]


def _scenarios(workers: int) -> dict[str, Runner]:
    from bench import extraction, fetching, publishing

    return {
        "1": lambda q: [fetching.cold_backfill(q)],
        "2,3": lambda q: fetching.growth_and_steady(q, workers),
        "4": lambda q: [extraction.run(q)],
        "5": lambda q: [publishing.publishing(q)],
        "6": lambda q: [publishing.store_growth(q)],
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    p.add_argument("--only", default="", help="comma-separated scenario numbers (1-6)")
    p.add_argument("--workers", type=int, default=16, help="sources refreshed at once (2, 3)")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    wanted = {s for s in args.only.split(",") if s}
    reports: list[Report] = []
    started = time.perf_counter()
    for key, runner in _scenarios(args.workers).items():
        if wanted and not wanted & set(key.split(",")):
            continue
        print(f"== scenario {key}", flush=True)
        t = time.perf_counter()
        got = runner(args.quick)
        for r in got:
            r.seconds = (time.perf_counter() - t) / len(got)
        reports.extend(got)
    reports.sort(key=lambda r: r.scenario)
    print_table(reports)
    path = write_json(
        reports,
        {"quick": args.quick, "only": args.only, "workers": args.workers},
        args.json,
    )
    print(f"\n{len(reports)} scenarios in {time.perf_counter() - started:.0f} s; JSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
