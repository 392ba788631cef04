"""End to end: the shipped configs and a generic site, refreshed against fixture sites on
127.0.0.1 into a real SQLite file and real feed files, checked against each article's truth."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import feedparser
import pytest
from feedcheck import check_atom, check_json_feed, check_rss

from feedbridge.cli import run_sources
from feedbridge.config import load_config, rebase_origins
from feedbridge.model import Config, RefreshResult, Source
from feedbridge.normalize import html_to_text
from feedbridge.samplesite import (
    GenericSite,
    KcnaSite,
    KcnaWatchSite,
    RunningServer,
    SampleArticle,
    Site,
    origins_map,
    serve,
)
from feedbridge.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "feedbridge.yaml"
README = ROOT / "README.md"
FAST = 0.005  # politeness delay against loopback fixtures


def fast(config: Config) -> Config:
    sources = tuple(
        replace(s, http=replace(s.http, min_delay=FAST, max_concurrency=4)) for s in config.sources
    )
    return replace(config, sources=sources)


def into(config: Config, tmp: Path) -> Config:
    settings = replace(
        config.settings, output_dir=tmp / "feeds", state_db=tmp / "state" / "fb.sqlite"
    )
    return replace(config, settings=settings)


def readme_example(tmp: Path) -> Path:
    """The README's "Adding a site" YAML, written as a config: the docs are tested as shipped."""
    text = README.read_text(encoding="utf-8")
    m = re.search(r"A minimal source:\n\n```yaml\n(.*?)```", text, re.S)
    assert m, "README lost its example source"
    path = tmp / "harbor.yaml"
    path.write_text(m.group(1), encoding="utf-8")
    return path


@pytest.fixture
def sites() -> Iterator[dict[str, RunningServer]]:
    servers = {
        "kcna": serve(KcnaSite(seed=7, count=40)),
        "kcnawatch": serve(KcnaWatchSite(seed=7, count=25)),
    }
    yield servers
    for s in servers.values():
        s.stop()


@pytest.fixture
def gazette() -> Iterator[RunningServer]:
    with serve(GenericSite(seed=3, count=24)) as server:
        yield server


def shipped(servers: dict[str, RunningServer], tmp: Path) -> Config:
    return into(fast(rebase_origins(load_config(SHIPPED), origins_map(servers))), tmp)


def gazette_config(server: RunningServer, tmp: Path, refetch_days: float = 0) -> Config:
    cfg = load_config(readme_example(tmp))
    cfg = rebase_origins(cfg, {"https://gazette.example": server.url})
    if refetch_days:
        src = cfg.sources[0]
        assert src.article is not None
        src = replace(src, article=replace(src.article, refetch_days=refetch_days))
        cfg = replace(cfg, sources=(src,))
    return into(fast(cfg), tmp)


def by_id(results: list[RefreshResult]) -> dict[str, RefreshResult]:
    return {r.source_id: r for r in results}


def parsed(cfg: Config, source_id: str, fmt: str = "atom") -> feedparser.FeedParserDict:
    data = (cfg.settings.output_dir / f"{source_id}.{fmt}").read_bytes()
    return feedparser.parse(data)


def check_all_feeds(cfg: Config) -> None:
    """Every file validates, parses back, and carries no active content."""
    checkers = {"atom": check_atom, "rss": check_rss, "json": check_json_feed}
    for source in cfg.sources:
        for fmt in cfg.settings.formats:
            path = cfg.settings.output_dir / f"{source.id}.{fmt}"
            data = path.read_bytes()
            assert checkers[fmt](data) == [], path
            low = data.decode("utf-8").lower()
            for bad in (
                "<script",
                "javascript:",
                " onclick=",
                " onerror=",
                " onload=",
                "&lt;script",
                "onerror=&quot;",
                "onclick=&quot;",
            ):
                assert bad not in low, (path, bad)
            if fmt != "json":
                feed = feedparser.parse(data)
                assert not feed.bozo, (path, feed.get("bozo_exception"))


def assert_matches_truth(entry: feedparser.FeedParserDict, truth: SampleArticle) -> None:
    assert entry.title == truth.title
    published = entry.published_parsed
    day = truth.published if not hasattr(truth.published, "hour") else truth.published
    assert (published.tm_year, published.tm_mon, published.tm_mday) == (
        day.year,
        day.month,
        day.day,
    ), (entry.link, entry.published, truth.published)
    text = html_to_text(entry.content[0].value)
    for para in truth.paragraphs:
        assert html_to_text(para) in text, (entry.link, para)
    for bad in truth.must_not:
        assert bad not in text, (entry.link, bad)


# ---------------------------------------------------------------------------------------------


def test_shipped_configs_produce_full_text_feeds(
    sites: dict[str, RunningServer], tmp_path: Path
) -> None:
    cfg = shipped(sites, tmp_path)
    results = by_id(run_sources(cfg, None))
    assert all(r.ok for r in results.values()), results
    assert results["kcna-latest"].new > 15  # paged past page 1 by form POST
    check_all_feeds(cfg)

    kcna: Site = sites["kcna"].site
    origin = sites["kcna"].url
    truth = {a.url(origin): a for a in kcna.articles}
    feed = parsed(cfg, "kcna-latest")
    assert len(feed.entries) == min(50, results["kcna-latest"].new)
    for entry in feed.entries:
        assert_matches_truth(entry, truth[entry.link])
        assert entry.id == entry.link
        assert "SecretaryKim" not in entry.content[0].value
    # newest first
    stamps = [e.published_parsed for e in feed.entries]
    assert stamps == sorted(stamps, reverse=True)

    watch: Site = sites["kcnawatch"].site
    wtruth = {a.key: a for a in watch.articles}
    wfeed = parsed(cfg, "kcnawatch")
    assert wfeed.entries
    for entry in wfeed.entries:
        key = re.search(r"/newstream/(\d{10}-\d{9})", entry.link)
        assert key, entry.link
        t = wtruth[key.group(1)]
        assert_matches_truth(entry, t)
        assert [tag.term for tag in entry.tags] == list(t.categories)


def test_one_article_in_two_categories_is_one_entry_per_feed_and_store_keeps_all(
    sites: dict[str, RunningServer], tmp_path: Path
) -> None:
    cfg = shipped(sites, tmp_path)
    run_sources(cfg, ["kcna-latest", "kcna-kim-jong-un"])
    latest = {e.id for e in parsed(cfg, "kcna-latest").entries}
    kju = {e.id for e in parsed(cfg, "kcna-kim-jong-un").entries}
    assert kju and kju <= latest | kju
    assert len(kju) == len(parsed(cfg, "kcna-kim-jong-un").entries)


def test_generic_site_from_the_readme_example(gazette: RunningServer, tmp_path: Path) -> None:
    cfg = gazette_config(gazette, tmp_path)
    [result] = run_sources(cfg, None)
    assert result.ok and result.new > 0, result
    check_all_feeds(cfg)
    site: Site = gazette.site
    truth = {a.url(gazette.url): a for a in site.articles}
    feed = parsed(cfg, "harbor-gazette")
    for entry in feed.entries:
        t = truth[entry.link]
        assert_matches_truth(entry, t)
        # the exact instant, converted from -05:00 to UTC
        assert entry.published == t.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") or (
            entry.published_parsed[:6] == t.published.astimezone(UTC).timetuple()[:6]
        )
        # the listing's lazy image (data-src over the placeholder src), made absolute
        images = [link.href for link in entry.links if link.rel == "enclosure"]
        assert len(images) == 1 and re.fullmatch(
            r"http://127\.0\.0\.1:\d+/media/\d+-640\.jpg", images[0]
        )
        assert "placeholder" not in entry.content[0].value
    # non-UTF-8 page declared only in the HTTP header: accents and £ decoded right
    text = " ".join(e.title + e.content[0].value for e in feed.entries)
    assert "£" in text and "Ã" not in text


def test_second_run_adds_and_rewrites_nothing(gazette: RunningServer, tmp_path: Path) -> None:
    cfg = gazette_config(gazette, tmp_path)
    [first] = run_sources(cfg, None)
    files = sorted(cfg.settings.output_dir.iterdir())
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
    ids_before = [e.id for e in parsed(cfg, "harbor-gazette").entries]
    gazette.clear_log()
    [second] = run_sources(cfg, None)
    assert first.new > 0
    assert (second.new, second.updated, second.errors) == (0, 0, 0)
    assert not second.published
    # one conditional request for the listing, answered 304; no article fetched
    listing = gazette.requests(kind="listing")
    assert [(r.path, r.status) for r in listing] == [("/news/", 304)]
    assert gazette.requests(kind="article") == []
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == before
    assert [e.id for e in parsed(cfg, "harbor-gazette").entries] == ids_before


def test_new_and_edited_articles_and_history(gazette: RunningServer, tmp_path: Path) -> None:
    cfg = gazette_config(gazette, tmp_path, refetch_days=30)
    site: Site = gazette.site
    [first] = run_sources(cfg, None)
    ids_first = {e.id for e in parsed(cfg, "harbor-gazette").entries}
    edited = site.listed()[2]
    gone = site.listed()[3]
    site.publish(3)
    site.edit(edited)
    site.drop_from_listing(gone)
    [second] = run_sources(cfg, None)
    assert (second.new, second.updated) == (3, 1), second
    feed = parsed(cfg, "harbor-gazette")
    ids = [e.id for e in feed.entries]
    assert ids_first <= set(ids)  # nothing lost, ids unchanged
    assert gone.url(gazette.url) in ids  # left the listing, still in the feed
    changed = next(e for e in feed.entries if e.id == edited.url(gazette.url))
    assert changed.updated_parsed > changed.published_parsed
    assert_matches_truth(changed, site.current(edited))
    with SQLiteStore(cfg.settings.state_db) as store:
        assert store.count("harbor-gazette") == first.new + 3
    [third] = run_sources(cfg, None)
    assert (third.new, third.updated) == (0, 0)


def test_every_format_agrees(gazette: RunningServer, tmp_path: Path) -> None:
    import json

    cfg = gazette_config(gazette, tmp_path)
    run_sources(cfg, None)
    atom = parsed(cfg, "harbor-gazette", "atom")
    rss = parsed(cfg, "harbor-gazette", "rss")
    js = json.loads((cfg.settings.output_dir / "harbor-gazette.json").read_text("utf-8"))
    assert [e.link for e in atom.entries] == [e.link for e in rss.entries]
    assert [e.link for e in atom.entries] == [i["url"] for i in js["items"]]
    assert [e.title for e in atom.entries] == [i["title"] for i in js["items"]]


def test_source_source_objects_are_frozen() -> None:
    cfg = load_config(SHIPPED)
    src: Source = cfg.sources[0]
    with pytest.raises(AttributeError):
        src.id = "x"  # type: ignore[misc]


def test_robots_txt_is_remembered_between_runs(gazette: RunningServer, tmp_path: Path) -> None:
    """`run --once` from cron: the second process does not ask for robots.txt again."""
    cfg = gazette_config(gazette, tmp_path)
    run_sources(cfg, None)
    assert [r.path for r in gazette.requests() if r.path == "/robots.txt"] == ["/robots.txt"]
    gazette.clear_log()
    run_sources(cfg, None)  # a new HttpClient, as in a new process
    assert [(r.path, r.status) for r in gazette.requests()] == [("/news/", 304)]
