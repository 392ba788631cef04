"""Measure generic article extractors on our fixture pages: text F1 and time per page.

    pip install trafilatura readability-lxml   # readability only for this script
    python bench/extractors.py [--repeat N] [--markdown]

Pages: tests/data/generic/*.html (synthetic shapes, truth in *.expected.json) and article
pages of the three samplesite fixture sites (truth from the site's own article model).
Candidates:

- ``feedbridge``: feedbridge.generic as shipped (trafilatura fast + precision, HTML output,
  then layout tables unwrapped and trailing link rows dropped) — what refresh stores;
- ``trafilatura``: trafilatura default mode (fallback extractors on), HTML output;
- ``trafilatura fast``: ``fast=True``, HTML output;
- ``trafilatura [fast] precision``: the same with ``favor_precision=True``;
- ``readability``: readability-lxml ``Document.summary()``.

Text F1 is token-level (bag of lower-cased ``\\w+`` tokens) between the extracted text and
the true body text; "leaks" counts pages where a must-not string (navigation, comments,
teasers, ads) appears in the output, "misses" pages where a must string is missing.
Not imported by the tests.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import html as lxml_html  # noqa: E402

from feedbridge.normalize import html_to_text  # noqa: E402

DATA = ROOT / "tests" / "data" / "generic"
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class BenchPage:
    name: str
    url: str
    html: str
    body: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]


def tokens(text: str) -> Counter[str]:
    return Counter(t.lower() for t in _TOKEN.findall(text))


def f1(got: str, truth: str) -> float:
    g, t = tokens(got), tokens(truth)
    common = sum((g & t).values())
    if not common:
        return 0.0
    p, r = common / sum(g.values()), common / sum(t.values())
    return 2 * p * r / (p + r)


def fixture_pages() -> list[BenchPage]:
    pages = []
    for exp_path in sorted(DATA.glob("*.expected.json")):
        exp = json.loads(exp_path.read_text(encoding="utf-8"))
        name = exp_path.name.removesuffix(".expected.json")
        pages.append(
            BenchPage(
                f"fixture/{name}",
                exp["url"],
                (DATA / f"{name}.html").read_text(encoding="utf-8"),
                " ".join(exp["body"]),
                tuple(exp["must"]),
                tuple(exp["must_not"]),
            )
        )
    return pages


def samplesite_pages(per_site: int = 4) -> list[BenchPage]:
    """Article pages of the fixture sites, rendered in-process, decoded as fetch would."""
    from feedbridge.pages import decode_body
    from feedbridge.samplesite.dump import fetch
    from feedbridge.samplesite.sites import demo_sites

    pages = []
    for name, site in demo_sites(seed=0, count=20).items():
        for article in site.listed()[:per_site]:
            url = article.url(site.canonical_origin)
            resp = fetch(site, url)
            text, _ = decode_body(resp.body, resp.header("content-type") or "")
            body = article.text
            must = (body[:60], body[-60:])
            pages.append(
                BenchPage(
                    f"samplesite/{name}/{article.key[:12]}",
                    url,
                    text,
                    body,
                    must,
                    tuple(article.must_not),
                )
            )
    return pages


def candidates() -> dict[str, Callable[[str, str], str]]:
    import trafilatura
    from readability import Document

    from feedbridge.generic import load_extractor

    shipped = load_extractor("bench")
    assert shipped is not None

    def traf(fast: bool, precision: bool = False) -> Callable[[str, str], str]:
        def run(page: str, url: str) -> str:
            out = trafilatura.extract(
                page,
                url=url,
                fast=fast,
                favor_precision=precision,
                output_format="html",
                include_comments=False,
                include_tables=True,
                include_links=True,
                include_formatting=True,
            )
            return out or ""

        return run

    def readability(page: str, url: str) -> str:
        return str(Document(page, url=url).summary(html_partial=True))

    return {
        "feedbridge": lambda page, url: shipped(page, url) or "",
        "trafilatura": traf(False),
        "trafilatura fast": traf(True),
        "trafilatura precision": traf(False, True),
        "trafilatura fast precision": traf(True, True),
        "readability": readability,
    }


def text_of(fragment: str) -> str:
    if not fragment.strip():
        return ""
    return html_to_text(lxml_html.tostring(lxml_html.fromstring(fragment), encoding="unicode"))


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per page (median taken)")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--per-page", action="store_true", help="also print F1 per page")
    args = ap.parse_args()
    groups = {"fixture": fixture_pages(), "samplesite": samplesite_pages()}
    pages = [p for group in groups.values() for p in group]
    header = ["extractor", "mean F1", "worst F1", "ms/page"]
    header += [f"{g} pages leaking" for g in groups] + ["pages missing text"]
    table = []
    for cname, run in candidates().items():
        scores: list[float] = []
        times: list[float] = []
        leaks: Counter[str] = Counter()
        misses = 0
        for page in pages:
            run(page.html, page.url)  # warm-up
            spent = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                out = run(page.html, page.url)
                spent.append(time.perf_counter() - t0)
            times.append(statistics.median(spent))
            text = norm(text_of(out))
            score = f1(text, page.body)
            scores.append(score)
            leaked = [s for s in page.must_not if norm(s) and norm(s) in text]
            missed = [s for s in page.must if norm(s) not in text]
            leaks[page.name.split("/")[0]] += bool(leaked)
            misses += bool(missed)
            if args.per_page:
                print(f"{cname:27} {page.name:36} F1 {score:.3f} leaked {leaked[:2]}", end="")
                print(f" missed {len(missed)}")
        row = [cname, f"{statistics.mean(scores):.3f}", f"{min(scores):.3f}"]
        row.append(f"{statistics.mean(times) * 1000:.1f}")
        row += [f"{leaks[g]}/{len(groups[g])}" for g in groups] + [f"{misses}/{len(pages)}"]
        table.append(row)
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in table:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
        for row in [header, *table]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    print(
        f"import time (fresh interpreter): {import_seconds('trafilatura'):.2f} s trafilatura, "
        f"{import_seconds('readability'):.2f} s readability"
    )
    return 0


def import_seconds(module: str) -> float:
    """Wall time of ``import module`` in a fresh interpreter (median of 3)."""
    import subprocess

    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return statistics.median(runs)


if __name__ == "__main__":
    raise SystemExit(main())
