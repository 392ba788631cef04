"""Scenarios 5 and 6: rendering feeds, and refreshing against a large history.

5. **Publishing** — Atom, RSS and JSON Feed for one feed of 1,000 entries (about 3 KB of
   sanitized HTML each), rendered and written with ``publish``. Target ≤ 150 ms for all.
6. **Store growth** — one source whose history holds 1,000, then 100,000 entries: the time of
   a refresh that finds 2 new articles (fetch, extract, store, publish), of an unchanged
   refresh (one 304) and of publishing (the feed's 50 newest entries read from the store and
   rendered). Target: each within 1.5 × its value at 1,000.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import Report, median
from bench.fleet import write_config
from bench.pages import _paragraphs
from bench.scaleserver import ScaleServer, ScaleSite
from feedbridge.config import load_config
from feedbridge.fetch import HttpClient
from feedbridge.model import Entry, ListingSpec, Settings, Source
from feedbridge.normalize import content_hash, sanitize_html, summarize
from feedbridge.publish import feed_meta, publish, render_atom, render_json, render_rss
from feedbridge.refresh import refresh_source
from feedbridge.store import SQLiteStore

START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def synthetic_entries(source_id: str, n: int, *, start: datetime = START) -> list[Entry]:
    """``n`` entries an hour apart going back from ``start``, with realistic bodies."""
    paras = _paragraphs(7, 40)
    out = []
    for k in range(n):
        body = "".join(f"<p>{paras[(k + j) % len(paras)]}</p>" for j in range(8))
        content = sanitize_html(body + f'<p><a href="https://example.org/{k}">Source</a></p>')
        title = f"Entry {k}: {paras[k % len(paras)][:60]}"
        when = start - timedelta(hours=k)
        url = f"https://example.org/news/story/{k}.html"
        summary = summarize(content)
        out.append(
            Entry(
                source_id=source_id,
                key=url,
                entry_id=url,
                url=url,
                title=title,
                published=when,
                updated=when,
                content_html=content,
                summary=summary,
                author="Ada Quill",
                categories=("Harbour", "City Hall"),
                image=f"https://example.org/media/{k}.jpg",
                content_hash=content_hash(title, content, summary),
            )
        )
    return out


def _cold() -> None:
    """Forget prepared entries: a real publish sees entries it has not prepared before."""
    from feedbridge import publish as publish_module

    publish_module._prepare_once.cache_clear()


def publishing(quick: bool = False) -> Report:
    report = Report("5 publishing")
    n, repeat = (200, 3) if quick else (1000, 7)
    source = Source(
        id="bench",
        title="Bench feed",
        listing=ListingSpec(urls=("https://example.org/news/",)),
        language="en",
    )
    meta = feed_meta(source, Settings())
    entries = synthetic_entries("bench", n)
    renders = {"atom": render_atom, "rss": render_rss, "json": render_json}
    per: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for fmt, render in renders.items():
        render(meta, entries)  # warm-up (imports, caches)
        times = []
        for _ in range(repeat):
            _cold()
            t = time.perf_counter()
            data = render(meta, entries)
            times.append(time.perf_counter() - t)
        per[fmt] = median(times) * 1000
        sizes[fmt] = len(data)
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for k in range(repeat):
            out = Path(tmp) / str(k)  # a fresh directory: every file is really written
            _cold()
            t = time.perf_counter()
            publish(meta, entries, out, ("atom", "rss", "json"))
            times.append(time.perf_counter() - t)
    total = median(times) * 1000
    report.details.update(entries=n, render_ms=per, bytes=sizes, publish_ms=total)
    for fmt, ms in per.items():
        report.add(f"render {fmt} ({n} entries)", ms, "ms", note=f"{sizes[fmt] / 1e6:.1f} MB")
    report.add(
        f"publish Atom+RSS+JSON, written ({n} entries)",
        total,
        "ms",
        ratio=total / 150,
        target="≤ 1",
        note="ratio to the 150 ms target",
    )
    return report


def store_growth(quick: bool = False) -> Report:
    """Refresh and publish times at a small and a large stored history of one source.

    Both histories are set up first and then measured in turns (small, large, small, …), so
    a change in the machine's load during the scenario weighs on both sides of each ratio.
    """
    report = Report("6 store growth")
    small, large = (1_000, 20_000) if quick else (1_000, 100_000)
    repeat = 3 if quick else 7
    with contextlib.ExitStack() as stack:
        setups = {h: stack.enter_context(_History(h)) for h in (small, large)}
        times: dict[int, dict[str, list[float]]] = {
            h: {"refresh +2": [], "refresh unchanged": [], "publish": []} for h in setups
        }
        for _ in range(repeat):
            for history, setup in setups.items():
                for what, took in setup.measure().items():
                    times[history][what].append(took)
    found = {h: {k: median(v) * 1000 for k, v in t.items()} for h, t in times.items()}
    for history in (small, large):
        print(
            f"  history {history}: "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in found[history].items())
        )
    report.details.update({str(k): v for k, v in found.items()})
    for what in ("refresh +2", "refresh unchanged", "publish"):
        a, b = found[small][what], found[large][what]
        report.add(
            f"{what}: {large:,} ÷ {small:,} stored",
            b,
            "ms",
            ratio=b / a,
            target="≤ 1.5",
            note=f"{a:.1f} ms at {small:,}",
        )
    return report


class _History:
    """One source with ``history`` stored entries, its site, store and client: set up on
    enter (the site's 20 articles refreshed once), closed on exit."""

    def __init__(self, history: int) -> None:
        self.history = history
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _History:
        stack = self._stack
        self.server = stack.enter_context(ScaleServer([ScaleSite(seed="history", count=20)]))
        self.server.warm()
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        self.work = work
        config = load_config(write_config(work / "bench.yaml", self.server.origins, work))
        self.source: Source = config.sources[0]
        self.settings = config.settings
        self.store = SQLiteStore(self.settings.state_db)
        stack.callback(self.store.close)
        self.client = HttpClient(self.settings)
        stack.callback(self.client.close)
        old = START - timedelta(days=400)  # older than anything the site lists
        entries = synthetic_entries(self.source.id, self.history, start=old)
        for k in range(0, len(entries), 5000):
            self.store.save_entries(entries[k : k + 5000], START)
        refresh_source(self.source, self.settings, self.client, self.store)  # 20 articles
        self.meta = feed_meta(self.source, self.settings)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def measure(self) -> dict[str, float]:
        """Seconds for: a refresh finding 2 new articles, an unchanged one, a publish."""
        source, settings, client, store = self.source, self.settings, self.client, self.store
        self.server.publish(2)
        self.server.warm()
        plus = _timed_refresh(source, settings, client, store)
        same = _timed_refresh(source, settings, client, store)
        t = time.perf_counter()
        publish(
            self.meta,
            store.entries(source.id, source.max_entries),
            self.work / "pub",
            settings.formats,
        )
        return {"refresh +2": plus, "refresh unchanged": same, "publish": time.perf_counter() - t}


def _timed_refresh(
    source: Source, settings: Settings, client: HttpClient, store: SQLiteStore
) -> float:
    t = time.perf_counter()
    result = refresh_source(source, settings, client, store)
    took = time.perf_counter() - t
    if not result.ok:
        raise RuntimeError(f"store growth: refresh failed: {result.reason}")
    return took
