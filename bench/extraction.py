"""Scenario 4: extraction cost and quality, feedbridge's configured selectors against peers.

feedbridge's number is the whole per-article path of a refresh after the fetch:
``extract_article`` (parse, ``remove``, fields, body selector, ``strip``, absolute links,
sanitizing with nh3) plus ``make_entry`` (dates, summary, content hash). Peers run on the
same page text in the same process: trafilatura's default mode and ``fast=True``, and
readability-lxml. They are optional: a missing one is skipped and the report says so.

Quality: token F1 (bag of lower-cased ``\\w+`` tokens) between the extracted text and the true
body, and the leak rate: the share of pages whose output contains any boilerplate string
(teaser titles and snippets, comments, captions, share bar, ads, script text).

Fairness: every extractor starts from the same decoded page text, so each pays for its own
parse. The extractors take turns page by page (each: one warm-up call, then ``repeat`` timed
calls), so a busy spell on a shared machine falls on all of them alike rather than on
whichever was being measured, and each call is timed in CPU time of the calling thread (all
the extractors run in it; none starts threads), which time spent descheduled does not inflate.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bench.common import Report, median, percentile
from bench.pages import BenchPage, make_page
from feedbridge.model import ArticleSpec, ListingItem, Rule, Selector, Settings, Source
from feedbridge.model import ListingSpec as _ListingSpec
from feedbridge.normalize import html_to_text

_TOKEN = re.compile(r"\w+")
_WS = re.compile(r"\s+")
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)

#: (page → the extractor's output, output → plain text); only the first is timed.
Extractor = tuple[Callable[[BenchPage], str], Callable[[str], str]]

SPEC = ArticleSpec(
    title=Rule(Selector("css", "h1")),
    date=Rule(Selector("css", "time.published"), take="attribute", attribute="datetime"),
    body=Rule(Selector("css", "div.story-body"), take="html"),
    remove=(Selector("css", ".share-buttons"), Selector("css", ".ad-slot")),
)
SOURCE = Source(
    id="bench",
    title="Bench",
    listing=_ListingSpec(urls=("http://gazette.invalid/news/",)),
    timezone="America/New_York",
    article=SPEC,
)


def tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


def f1(got: str, truth: str) -> float:
    g, t = tokens(got), tokens(truth)
    common = sum((g & t).values())
    if not common:
        return 0.0
    precision, recall = common / sum(g.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def leaks(got: str, page: BenchPage) -> bool:
    flat = _WS.sub(" ", got)
    return any(_WS.sub(" ", bad) in flat for bad in page.must_not)


def feedbridge_extractor() -> Extractor:
    from feedbridge.extract import extract_article
    from feedbridge.refresh import make_entry

    settings = Settings()

    def run(page: BenchPage) -> str:
        article = extract_article(page.html, page.url, SPEC, SOURCE.timezone, NOW)
        item = ListingItem(url=page.url, listing_url=SOURCE.listing.urls[0], title=page.title)
        return make_entry(SOURCE, settings, page.url, item, article, NOW).content_html

    return run, html_to_text


def peers() -> tuple[dict[str, Extractor], list[str]]:
    """The installed peers, and a note per missing one."""
    found: dict[str, Extractor] = {}
    missing: list[str] = []
    try:
        import trafilatura
    except ImportError:
        missing.append("trafilatura not installed (pip install trafilatura)")
    else:

        def traf(page: BenchPage) -> str:
            return trafilatura.extract(page.html, url=page.url) or ""

        def traf_fast(page: BenchPage) -> str:
            return trafilatura.extract(page.html, url=page.url, fast=True) or ""

        found["trafilatura"] = (traf, _same)
        found["trafilatura fast"] = (traf_fast, _same)
    try:
        from readability import Document  # type: ignore[import-untyped]
    except ImportError:
        missing.append("readability-lxml not installed (pip install readability-lxml)")
    else:

        def readability(page: BenchPage) -> str:
            return str(Document(page.html).summary(html_partial=True))

        found["readability"] = (readability, html_to_text)
    return found, missing


def _same(text: str) -> str:
    return text


def measure(
    extractors: dict[str, Extractor], pages: Sequence[BenchPage], repeat: int
) -> dict[str, tuple[list[float], float, float]]:
    """Per extractor: milliseconds per call (every call), mean F1 and leak rate."""
    times: dict[str, list[float]] = {name: [] for name in extractors}
    scores: dict[str, list[float]] = {name: [] for name in extractors}
    leaked = dict.fromkeys(extractors, 0)
    for page in pages:
        for name, (fn, to_text) in extractors.items():
            out = to_text(fn(page))  # warm-up and quality
            scores[name].append(f1(out, page.body))
            leaked[name] += leaks(out, page)
            for _ in range(repeat):
                t = time.thread_time_ns()
                fn(page)
                times[name].append((time.thread_time_ns() - t) / 1e6)
    return {
        name: (times[name], sum(scores[name]) / len(pages), leaked[name] / len(pages))
        for name in extractors
    }


def run(quick: bool = False) -> Report:
    report = Report("4 extraction")
    n, repeat = (4, 2) if quick else (20, 5)
    found, missing = peers()
    if missing:
        report.details["skipped_peers"] = missing
        for m in missing:
            print(f"  peer skipped: {m}")
    candidates = {"feedbridge": feedbridge_extractor(), **found}
    for size, large in (("10 KB", False), ("90 KB", True)):
        pages = [make_page(seed, large) for seed in range(n)]
        avg_kb = sum(len(p.html.encode()) for p in pages) / len(pages) / 1024
        stats = {
            name: (median(times), percentile(times, 0.95), score, leak)
            for name, (times, score, leak) in measure(candidates, pages, repeat).items()
        }
        report.details[size] = {
            "page_kb": round(avg_kb, 1),
            "pages": n,
            "calls_per_page": repeat,
            **{
                k: {"median_ms": v[0], "p95_ms": v[1], "f1": v[2], "leak_rate": v[3]}
                for k, v in stats.items()
            },
        }
        ours = stats["feedbridge"]
        report.add(
            f"{size}: feedbridge median (p95 {ours[1]:.2f} ms)",
            ours[0],
            "ms",
            note=f"pages average {avg_kb:.1f} KB",
        )
        report.add(f"{size}: feedbridge text F1", ours[2], "F1", target="≥ 0.99")
        report.add(f"{size}: feedbridge leak rate", ours[3], "pages", target="= 0")
        targets = {"trafilatura": "≥ 10", "trafilatura fast": "≥ 5"}
        for name, (med, p95, score, leak) in stats.items():
            if name == "feedbridge":
                continue
            report.add(
                f"{size}: {name} ÷ feedbridge (median)",
                med,
                "ms",
                ratio=med / ours[0],
                target=targets.get(name, ""),
                note=f"p95 {p95:.2f} ms, F1 {score:.3f}, leak rate {leak:.2f}",
            )
    return report
