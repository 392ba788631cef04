"""Refresh policy corner cases found in review, each against a real loopback site, a real
SQLite file and real feed files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from staticsite import StaticSite, static_site

from feedbridge.cli import run_sources
from feedbridge.config import load_config
from feedbridge.model import Config
from feedbridge.store import SQLiteStore


def listing(n_items: int, start: int = 1, next_href: str | None = None) -> bytes:
    items = "".join(
        f"<li><a href='/p/{k}.html'>Post {k}</a><span>2026-11-{10 + k % 15:02d}</span></li>"
        for k in range(start, start + n_items)
    )
    nxt = f"<a rel='next' href='{next_href}'>older</a>" if next_href else ""
    return f"<html><body><ul>{items}</ul>{nxt}</body></html>".encode()


def post(k: int) -> bytes:
    return (
        f"<html><body><h1>Post {k}</h1><div class='b'><p>Body {k}.</p></div></body></html>".encode()
    )


def pages(n: int) -> dict[str, tuple[int, str, bytes]]:
    out = {f"/p/{k}.html": (200, "text/html", post(k)) for k in range(1, 40)}
    out["/list.html"] = (200, "text/html", listing(n))
    return out


def config(tmp: Path, origin: str, ids: tuple[str, ...] = ("blog",), extra: str = "") -> Config:
    sources = "".join(
        f"""  - id: {sid}
    title: Blog {sid}
    listing:
      url: {origin}/list.html
      items: li
      fields: {{title: a, link: a, date: {{css: span, formats: ['%Y-%m-%d']}}}}
{extra}    article: {{title: h1, body: div.b}}
    http: {{min_delay: 0.001, allow_private: true}}
"""
        for sid in ids
    )
    path = tmp / "fb.yaml"
    path.write_text(
        f"settings:\n  output_dir: {tmp / 'feeds'}\n  state_db: {tmp / 'fb.sqlite'}\n"
        f"  formats: [atom]\nsources:\n{sources}",
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
def site() -> Iterator[StaticSite]:
    with static_site(pages(3)) as s:
        yield s


def entries_in_feed(cfg: Config, sid: str) -> int:
    return len(feedparser.parse((cfg.settings.output_dir / f"{sid}.atom").read_bytes()).entries)


def test_a_failed_publish_is_made_good_by_the_next_run(site: StaticSite, tmp_path: Path) -> None:
    cfg = config(tmp_path, site.url)
    [first] = run_sources(cfg, None)
    assert first.ok and entries_in_feed(cfg, "blog") == 3
    # the feed file cannot be replaced (a directory stands in its way): publishing fails
    feed = cfg.settings.output_dir / "blog.atom"
    saved = feed.read_bytes()
    feed.unlink()
    feed.mkdir()
    site.pages["/list.html"] = (200, "text/html", listing(4))
    [failed] = run_sources(cfg, None)
    assert not failed.ok and failed.error_kind == "publish", failed
    feed.rmdir()
    feed.write_bytes(saved)
    # nothing new on the site, but the stored 4th entry must reach the feed now
    [again] = run_sources(cfg, None)
    assert again.ok and entries_in_feed(cfg, "blog") == 4, again


def test_two_sources_on_one_listing_url_do_not_share_validators(
    site: StaticSite, tmp_path: Path
) -> None:
    """A new source (or a renamed one) on a URL another source already polls gets the full
    listing, not the other source's 304 and an empty feed."""
    one = config(tmp_path, site.url, ("first",))
    run_sources(one, None)
    both = config(tmp_path, site.url, ("first", "second"))
    results = {r.source_id: r for r in run_sources(both, None)}
    assert results["second"].new == 3, results
    assert entries_in_feed(both, "second") == 3


def test_missing_page_ends_paging_quietly(tmp_path: Path) -> None:
    """A template page past the end answers 404: that is the end of the listing, not an error
    that would make every later run page everything again."""
    with static_site(pages(3)) as s:
        s.pages["/list-2.html"] = (200, "text/html", listing(3, start=4))
        extra = (
            "      pagination: {type: template, url_template: '"
            + s.url
            + "/list-{page}.html', max_pages: 4}\n"
        )
        cfg = config(tmp_path, s.url, extra=extra)
        [first] = run_sources(cfg, None)
        assert first.ok and first.new == 6 and first.errors == 0, first
        s.hits.clear()
        [second] = run_sources(cfg, None)
        assert second.ok and second.errors == 0
        assert "/list-3.html" not in s.hits  # no resume mark: the listing was not re-paged


def test_store_keeps_count_in_step(site: StaticSite, tmp_path: Path) -> None:
    cfg = config(tmp_path, site.url)
    run_sources(cfg, None)
    with SQLiteStore(cfg.settings.state_db) as store:
        assert store.state("blog").entry_count == store.count("blog") == 3


def test_reextract_after_fixing_a_selector(site: StaticSite, tmp_path: Path) -> None:
    """A body selector that matched nothing left listing summaries; after the fix,
    `run --once --reextract` brings the full text to the entries already stored."""
    broken = config(tmp_path, site.url)
    src = broken.sources[0]
    assert src.article is not None and src.article.body is not None
    from dataclasses import replace

    from feedbridge.model import Selector

    wrong = replace(src.article.body, selector=Selector("css", "div.nope"))
    broken_cfg = replace(broken, sources=(replace(src, article=replace(src.article, body=wrong)),))
    [first] = run_sources(broken_cfg, None)
    assert first.ok and first.new == 3 and first.errors == 3  # fell back to summaries
    [plain] = run_sources(broken, None)
    assert (plain.new, plain.updated) == (0, 0)  # a normal run does not revisit them
    [fixed] = run_sources(broken, None, reextract=True)
    assert (fixed.new, fixed.updated) == (0, 3), fixed
    with SQLiteStore(broken.settings.state_db) as store:
        assert {e.method for e in store.entries("blog")} == {"selectors"}
        assert all("Body" in e.content_html for e in store.entries("blog"))


def test_a_bug_costs_one_source_one_run(
    site: StaticSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception inside a refresh (a bug: no local site can cause one on
    purpose, hence the patch) fails that source as "internal" and keeps its last feed."""
    cfg = config(tmp_path, site.url, ("blog", "other"))
    run_sources(cfg, None)
    before = (cfg.settings.output_dir / "blog.atom").read_bytes()
    site.pages["/list.html"] = (200, "text/html", listing(4))
    from feedbridge import refresh

    real = refresh.make_entry

    def flaky(source, *args, **kwargs):  # type: ignore[no-untyped-def]
        if source.id == "blog":
            raise RuntimeError("boom")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(refresh, "make_entry", flaky)
    results = {r.source_id: r for r in run_sources(cfg, None)}
    assert not results["blog"].ok and results["blog"].error_kind == "internal"
    assert "boom" in (results["blog"].reason or "")
    assert results["other"].ok and results["other"].new == 1
    assert (cfg.settings.output_dir / "blog.atom").read_bytes() == before
    with SQLiteStore(cfg.settings.state_db) as store:
        assert store.state("blog").status == "failing"
