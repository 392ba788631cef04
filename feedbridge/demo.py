"""``feedbridge demo``: the shipped configs run against the bundled sample sites, offline.

The sample sites (``feedbridge.samplesite``) are generated copies of kcna.kp and kcnawatch.org
served on 127.0.0.1. The shipped configs are used as they are, except for their origins (pointed
at the sample servers) and their politeness delay (the real sites want 2–2.5 s between
requests; a local server does not).
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import replace
from pathlib import Path

from feedbridge.config import rebase_origins
from feedbridge.model import Config, HttpPolicy, Source
from feedbridge.samplesite import demo_sites, origins_map, serve

LOCAL_DELAY = 0.02


def demo_config(config: Config, origins: dict[str, str], output: Path) -> Config:
    """The shipped config pointed at the sample sites, writing into ``output``."""
    rebased = rebase_origins(config, origins)
    settings = replace(
        rebased.settings, output_dir=output / "feeds", state_db=output / "state.sqlite"
    )
    sources = tuple(_local(s) for s in rebased.sources)
    return replace(rebased, settings=settings, sources=sources)


def _local(source: Source) -> Source:
    http: HttpPolicy = replace(source.http, min_delay=LOCAL_DELAY, max_concurrency=4)
    return replace(source, http=http)


def fresh_start(output: Path) -> None:
    """Forget an earlier demo's state and feeds: the sample sites listen on new ports each
    time, so their article URLs (the entry keys) differ and old entries would double up."""
    for stale in (
        output / "state.sqlite",
        output / "state.sqlite-wal",
        output / "state.sqlite-shm",
    ):
        stale.unlink(missing_ok=True)
    feeds = output / "feeds"
    if feeds.is_dir():
        for path in feeds.iterdir():
            if path.suffix in (".atom", ".rss", ".json"):
                path.unlink()


def run_demo(args: argparse.Namespace, config: Config) -> int:
    from feedbridge.cli import run_sources, summary_line
    from feedbridge.store import SQLiteStore

    output = Path(args.output)
    fresh_start(output)
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(serve(site)) for name, site in demo_sites().items()}
        for name, server in servers.items():
            print(f"sample site {name:<10} {server.url}")
        cfg = demo_config(config, origins_map(servers), output)
        results = run_sources(cfg, None)
    print()
    for r in results:
        print(summary_line(r))
    feeds = cfg.settings.output_dir
    print(f"\nfeeds written to {feeds.resolve()}/")
    with SQLiteStore(cfg.settings.state_db) as store:
        for source in cfg.sources:
            files = " ".join(
                p.name
                for p in sorted(feeds.glob(f"{source.id}.*"))
                if p.suffix in (".atom", ".rss", ".json")
            )
            entries = store.entries(source.id, 3)
            print(f"  {source.id:<18} {store.count(source.id):>3} entries  {files}")
            for e in entries:
                print(f"      {e.published:%Y-%m-%d}  {e.title[:70]}")
    print(
        "\nOpen a .atom or .rss file in a feed reader, or serve the folder to one:\n"
        f"  python3 -m http.server --bind 127.0.0.1 --directory {feeds} 8000"
    )
    return 0 if any(r.ok for r in results) else 1
