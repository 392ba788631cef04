"""``feedbridge preview``: see what a source (or a URL plus selectors) extracts, before deploying.

Three ways in:

- ``preview SOURCE_ID`` reads the source from the config (command-line selectors override
  its listing fields);
- ``preview URL --items SEL --title SEL ...`` builds a throwaway source from the options;
  without ``--items`` it proposes candidate item selectors (``feedbridge.propose``), or reads
  the URL as a feed when it is one;
- ``--file PATH [--url URL]`` reads a saved listing page instead of fetching (no network at
  all; ``--url`` resolves its relative links).

It fetches politely through :class:`feedbridge.fetch.HttpClient` (robots.txt, delays, the
source's headers): the listing page and the FIRST article only. It prints the items with every
field, each field's coverage, warnings (dates that did not parse, empty titles, links to other
hosts, duplicates), the expectations check (``refresh.check_listing``) and the first article's
text; ``--json`` prints the same as one JSON document. Exit status: 0, or 1 when the source's
expectations fail (or nothing could be fetched or proposed).

The core (:func:`inspect_listing`, :func:`inspect_article`, :func:`render_text`) is pure;
:func:`run` is the I/O shell.
"""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feedbridge import listing as listing_mod
from feedbridge.errors import DriftError, ExtractError, FeedbridgeError
from feedbridge.model import (
    LISTING_FIELDS,
    ArticleSpec,
    Config,
    HttpPolicy,
    ListingItem,
    ListingSpec,
    Page,
    Rule,
    Selector,
    Settings,
    Source,
)
from feedbridge.normalize import html_to_text, sanitize_html
from feedbridge.pages import decode_body
from feedbridge.propose import Proposal, propose

EXIT_OK, EXIT_FAILED = 0, 1
FIELDS = LISTING_FIELDS
ARTICLE_CHARS = 1500


# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", help="a source id from the config, or a listing URL")
    sel = p.add_argument_group("selectors (CSS; override a configured source's fields)")
    sel.add_argument("--items", help="selector of one item on the listing")
    for name in ("title", "link", "date", "summary", "author", "categories", "image"):
        sel.add_argument(f"--{name}", help=f"{name} selector, relative to the item")
    sel.add_argument(
        "--date-format",
        action="append",
        default=[],
        metavar="FMT",
        help="strptime format of --date (repeatable; default ISO 8601 / RFC 822)",
    )
    sel.add_argument("--date-regex", metavar="RE", help="keep only this match of the date text")
    sel.add_argument("--body", help="article body selector (default: generic extraction)")
    sel.add_argument("--timezone", help="IANA time zone of dates without an offset")
    p.add_argument(
        "--file", type=Path, metavar="PATH", help="read a saved listing page, no network"
    )
    p.add_argument("--url", help="the URL the --file page came from (resolves its links)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--no-article", action="store_true", help="do not fetch the first article")
    p.add_argument("--limit", type=int, default=20, help="items shown in the table (default 20)")
    p.add_argument("--width", type=int, default=0, help="table width (default: the terminal's)")


# ---------------------------------------------------------------------------------------------
# Pure core
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticlePreview:
    url: str
    method: str  # selectors | generic | listing | error
    title: str | None = None
    published: str | None = None
    author: str | None = None
    text: str = ""
    chars: int = 0
    note: str | None = None


@dataclass(frozen=True)
class Report:
    mode: str  # source | url | file
    source_id: str
    url: str
    kind: str = "html"  # html | feed | proposals
    items: tuple[dict[str, Any], ...] = ()
    matched: int = 0
    coverage: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # broken expectations
    article: ArticlePreview | None = None
    proposals: tuple[dict[str, Any], ...] = ()
    config: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def inspect_listing(
    source: Source, page: Page, now: datetime
) -> tuple[listing_mod.ListingResult, list[str], list[str]]:
    """Parse one listing page as ``refresh`` would: the result, warnings, broken expectations."""
    from feedbridge.refresh import check_listing

    if source.listing.kind == "feed":
        from feedbridge.feeds import parse_feed_listing

        result = parse_feed_listing(page.content, page.url, source.listing, source.timezone, now)
    else:
        result = listing_mod.parse_listing(
            page.text, page.url, source.listing, source.timezone, now
        )
    problems: list[str] = []
    try:
        check_listing(source, result)
    except DriftError as e:
        problems.append(e.reason)
    return result, listing_warnings(source, result), problems


def listing_warnings(source: Source, result: listing_mod.ListingResult) -> list[str]:
    bad = Counter(result.unparsed_dates)
    warnings = [
        f"date {d!r} did not parse" + (f" ({n} items)" if n > 1 else "")
        for d, n in bad.most_common(5)
    ]
    if len(bad) > 5:
        warnings.append(f"… and {len(bad) - 5} more date texts that did not parse")
    untitled = sum(1 for i in result.items if not i.title)
    if untitled:
        warnings.append(f"{untitled} of {len(result.items)} items have an empty title")
    hosts = {urlsplit(u).hostname for u in source.listing.urls} | set(source.http.allowed_hosts)
    hosts.add(urlsplit(result.url).hostname)
    foreign = sorted(
        {h or "" for i in result.items if (h := urlsplit(i.url).hostname) not in hosts}
    )
    if foreign:
        warnings.append(
            f"links to other hosts: {', '.join(str(h) for h in foreign)} "
            "(articles there are fetched only if listed in http.allowed_hosts)"
        )
    dropped = result.matched - len(result.items)
    if dropped > 0:
        warnings.append(f"{dropped} matched elements gave no item (no http(s) link, or duplicates)")
    return warnings


def coverage_of(source: Source, result: listing_mod.ListingResult) -> dict[str, str]:
    """``field → "12/15 (80%)"`` for the configured fields (every field for feeds)."""
    names = (
        FIELDS
        if source.listing.kind == "feed"
        else tuple(f for f in FIELDS if f in source.listing.fields)
    )
    n = max(result.matched, 1)
    return {
        f: f"{result.coverage.get(f, 0)}/{result.matched} ({result.coverage.get(f, 0) / n:.0%})"
        for f in names
    }


def item_row(item: ListingItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "link": item.url,
        "date": item.published.isoformat() if item.published else None,
        "summary": html_to_text(item.summary_html or "") or None,
        "author": item.author,
        "categories": list(item.categories),
        "image": item.image,
        "guid": item.guid,
    }


def inspect_article(source: Source, item: ListingItem, page: Page, now: datetime) -> ArticlePreview:
    """What refresh would store as the first article's text (selectors, else generic)."""
    from feedbridge.extract import extract_article, strip_fragment, without_removed

    spec = source.article or ArticleSpec()
    try:
        article = extract_article(page.text, page.url, spec, source.timezone, now)
    except ExtractError as e:
        return ArticlePreview(page.url, "error", note=f"{e.reason}; refresh would use the summary")
    html, method, note = article.content_html, "selectors", None
    if spec.body is None:
        from feedbridge.generic import load_extractor

        extractor = load_extractor(source.id)
        cleaned = without_removed(page.text, page.url, spec)
        generic = extractor(cleaned, page.url) if extractor is not None else None
        if generic:  # exactly what refresh stores: remove before, strip after
            html, method = sanitize_html(strip_fragment(generic, spec.strip)), "generic"
        else:
            html, method = None, "listing"
        if extractor is None:
            note = "no article.body and trafilatura missing: pip install 'feedbridge[fulltext]'"
        elif not generic:
            note = "the generic extractor found no article text"
    text = html_to_text(html or item.summary_html or "")
    return ArticlePreview(
        url=page.url,
        method=method,
        title=article.title or item.title,
        published=(article.published or item.published or now).isoformat(),
        author=article.author or item.author,
        text=text,
        chars=len(text),
        note=note,
    )


def article_problems(source: Source, article: ArticlePreview) -> list[str]:
    problems = []
    if article.method == "error" and article.note:
        problems.append(f"article {article.url}: {article.note}")
    minimum = source.expect.min_body_chars
    if minimum and article.method != "error" and article.chars < minimum:
        problems.append(f"article body has {article.chars} characters (expected ≥ {minimum})")
    return problems


def proposal_row(p: Proposal) -> dict[str, Any]:
    return {
        "items": p.items,
        "count": p.count,
        "score": p.score,
        "same_host": p.same_host,
        "config": p.config(),
        "samples": [asdict(s) for s in p.samples],
    }


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    data = asdict(report)
    data["ok"] = report.ok
    return json.dumps(data, ensure_ascii=False, indent=2)


def render_text(report: Report, width: int, limit: int) -> str:
    out = [f"{report.source_id}: {report.url}"]
    if report.kind == "proposals":
        out += _render_proposals(report)
    else:
        out.append(f"{report.matched} items matched ({report.kind} listing)")
        out += _table(list(report.items[:limit]), width, _origin(report.url))
        if len(report.items) > limit:
            out.append(f"… {len(report.items) - limit} more (use --limit)")
        out.append("coverage: " + "  ".join(f"{k} {v}" for k, v in report.coverage.items()))
    out += [f"warning: {w}" for w in report.warnings]
    if report.article is not None:
        out += _render_article(report.article, width)
    out += [f"EXPECTATION FAILED: {p}" for p in report.problems]
    out.append("OK" if report.ok else "FAILED")
    return "\n".join(out) + "\n"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _table(rows: list[dict[str, Any]], width: int, origin: str = "") -> list[str]:
    """Items as a table that fits ``width``; links on the listing's origin shown as paths."""
    cols = [
        c
        for c in ("date", "title", "link", "author", "categories", "summary", "image")
        if any(r.get(c) for r in rows)
    ]
    if not rows or not cols:
        return ["(no items)"]
    cells = [
        [str(i + 1)] + [_cell(_short(r.get(c), c, origin), c) for c in cols]
        for i, r in enumerate(rows)
    ]
    header = ["#", *cols]
    natural = [max(len(x[k]) for x in [header, *cells]) for k in range(len(header))]
    widths = _fit(natural, width - 2 * (len(header) - 1))
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append(
            "  ".join(_clip(c, w).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
    return lines


def _short(value: Any, column: str, origin: str) -> Any:
    if column == "link" and origin and isinstance(value, str) and value.startswith(origin + "/"):
        return value[len(origin) :]
    return value


def _cell(value: Any, column: str = "") -> str:
    if column == "date" and isinstance(value, str):
        return value[:16].replace("T", " ")  # minutes are enough on screen; --json has it all
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else " ".join(str(value).split())


def _fit(natural: list[int], total: int) -> list[int]:
    """Shrink the widest columns first until the row fits ``total`` characters."""
    widths = list(natural)
    while sum(widths) > total and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    return widths


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _render_article(article: ArticlePreview, width: int) -> list[str]:
    out = ["", f"first article: {article.url}", f"  method: {article.method}"]
    if article.title:
        out.append(f"  title: {article.title}")
    if article.published:
        out.append(f"  date: {article.published}")
    if article.author:
        out.append(f"  author: {article.author}")
    if article.note:
        out.append(f"  note: {article.note}")
    if article.text:
        out.append(f"  text ({article.chars} characters):")
        shown = (
            article.text
            if len(article.text) <= ARTICLE_CHARS
            else article.text[:ARTICLE_CHARS] + " …"
        )
        out += textwrap.wrap(
            shown, width=max(width - 4, 40), initial_indent="    ", subsequent_indent="    "
        )
    return out


def _render_proposals(report: Report) -> list[str]:
    if not report.proposals:
        return ["no repeated link structure found: write --items yourself (see docs/preview.md)"]
    out = [f"no --items given: {len(report.proposals)} candidate item selectors, best first"]
    for n, p in enumerate(report.proposals, 1):
        fields = p["config"]["fields"]
        out.append(f"\n[{n}] --items {p['items']!r}  ({p['count']} items, score {p['score']})")
        for name, rule in fields.items():
            out.append(f"    {name}: {json.dumps(rule, ensure_ascii=False)}")
        for s in p["samples"]:
            out.append(
                f"    · {s['title'][:70]!r} → {s['url']}" + (f" [{s['date']}]" if s["date"] else "")
            )
    if report.config:
        import yaml

        out.append(
            "\nconfig for the best candidate (add a title; then check-config and run --once):"
        )
        dumped = yaml.safe_dump({"sources": [report.config]}, sort_keys=False, allow_unicode=True)
        out += ["  " + line for line in dumped.splitlines()]
    return out


# ---------------------------------------------------------------------------------------------
# The I/O shell
# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace, config_path: Path) -> int:
    """Entry point of ``feedbridge preview`` (wired in cli.py)."""
    config = _config_if_needed(args, config_path)
    source, mode = _source(args, config)
    settings = config.settings if config is not None else Settings()
    width = args.width or shutil.get_terminal_size((120, 24)).columns
    now = datetime.now(UTC)
    report = _report(args, source, mode, settings, now)
    print(render_json(report) if args.json else render_text(report, width, args.limit), end="")
    return EXIT_OK if report.ok else EXIT_FAILED


def _is_url(value: str | None) -> bool:
    return bool(value) and urlsplit(value or "").scheme in ("http", "https")


def _config_if_needed(args: argparse.Namespace, config_path: Path) -> Config | None:
    """The config (with --override-origin) when a source id is named, or when it exists."""
    from feedbridge import cli
    from feedbridge.errors import ConfigError

    if args.target and not _is_url(args.target):
        return cli.load(args)
    if not config_path.exists():
        return None
    try:
        return cli.load(args)
    except ConfigError:  # a URL preview does not need a valid config
        return None


def _source(args: argparse.Namespace, config: Config | None) -> tuple[Source, str]:
    from feedbridge.errors import ConfigError

    if args.target and not _is_url(args.target):
        assert config is not None
        try:
            base = config.source(args.target)
        except KeyError:
            raise ConfigError(f"{config.path}: no source with id {args.target!r}") from None
        return _override(base, args), "file" if args.file else "source"
    url = args.target or args.url
    if not _is_url(url):
        raise ConfigError("preview: give a source id, an http(s) URL, or --file PATH --url URL")
    base = Source(
        id="preview",
        title="preview",
        listing=ListingSpec(urls=(url,)),
        timezone=args.timezone or "UTC",
        # the user typed this URL: loopback and private addresses are allowed for it
        http=HttpPolicy(allow_private=True),
    )
    return _override(base, args), "file" if args.file else "url"


def _override(source: Source, args: argparse.Namespace) -> Source:
    """Command-line selectors over the source's listing fields and article body."""
    fields = dict(source.listing.fields)
    for name in FIELDS:
        expr = getattr(args, name, None)
        if expr:
            fields[name] = Rule(Selector("css", expr), take="html" if name == "summary" else "text")
    if (args.date_format or args.date_regex) and "date" in fields:
        fields["date"] = replace(
            fields["date"], formats=tuple(args.date_format), regex=args.date_regex
        )
    listing = replace(source.listing, fields=fields)
    if args.items:
        listing = replace(listing, items=Selector("css", args.items), kind="html")
    article = source.article
    if args.body:
        article = replace(
            article or ArticleSpec(), body=Rule(Selector("css", args.body), take="html")
        )
    tz = args.timezone or source.timezone
    return replace(source, listing=listing, article=article, timezone=tz)


def _report(
    args: argparse.Namespace, source: Source, mode: str, settings: Settings, now: datetime
) -> Report:
    from feedbridge.fetch import HttpClient

    url = args.url or source.listing.urls[0]
    with HttpClient(settings) as client:
        session = client.session(source)
        try:
            page = _listing_page(args, session, url)
        except FeedbridgeError as e:
            return Report(mode, source.id, url, problems=(f"listing not fetched: {e}",))
        if not source.listing.items and source.listing.kind == "html":
            if _looks_like_feed(page):
                source = replace(source, listing=replace(source.listing, kind="feed"))
            else:
                return _proposals_report(source, mode, page)
        try:
            result, warnings, problems = inspect_listing(source, page, now)
        except ExtractError as e:
            return Report(mode, source.id, page.url, problems=(e.reason,))
        report = Report(
            mode,
            source.id,
            page.url,
            kind=source.listing.kind,
            items=tuple(item_row(i) for i in result.items),
            matched=result.matched,
            coverage=coverage_of(source, result),
            warnings=tuple(warnings),
            problems=tuple(problems),
        )
        if args.no_article or args.file or not result.items:
            return report
        article = _first_article(session, source, result.items[0], now)
    return replace(
        report, article=article, problems=report.problems + tuple(article_problems(source, article))
    )


def _listing_page(args: argparse.Namespace, session: Any, url: str) -> Page:
    if args.file is None:
        page: Page = session.get(url)
        return page
    content = args.file.read_bytes()
    text, encoding = decode_body(content, "text/html")
    return Page(
        url=url, status=200, content=content, text=text, content_type="text/html", encoding=encoding
    )


def _looks_like_feed(page: Page) -> bool:
    head = page.content[:512].lstrip().lower()
    mime = page.content_type.split(";")[0].strip().lower()
    return (
        mime.endswith(("rss+xml", "atom+xml", "feed+json", "/xml", "/json"))
        or head.startswith((b"<?xml", b"<rss", b"<feed", b"{"))
    ) and b"<html" not in head


def _private_host(url: str) -> bool:
    """Whether ``url`` names a loopback or private address (the config must allow it)."""
    import ipaddress

    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def _proposals_report(source: Source, mode: str, page: Page) -> Report:
    proposals = propose(page.text, page.url)
    config = None
    if proposals:
        config = {
            "id": "my-site",
            "title": "My site",
            "listing": {"url": page.url, **proposals[0].config()},
        }
        if _private_host(page.url):
            config["http"] = {"allow_private": True}
    return Report(
        mode,
        source.id,
        page.url,
        kind="proposals",
        proposals=tuple(proposal_row(p) for p in proposals),
        config=config,
        problems=() if proposals else ("no candidate item selector found",),
    )


def _first_article(
    session: Any, source: Source, item: ListingItem, now: datetime
) -> ArticlePreview:
    try:
        page: Page = session.get(item.url, referer=item.listing_url)
    except FeedbridgeError as e:
        return ArticlePreview(item.url, "error", note=f"not fetched: {e}")
    return inspect_article(source, item, page, now)
