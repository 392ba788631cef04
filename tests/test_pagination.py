"""Pagination, all four kinds, through real refreshes against the fixture sites (issue #4).

Each kind: the first run backfills up to ``max_pages``; a later run with new articles stops
paging at the first page that brings nothing new; a run with nothing new sends one
conditional request. Pages are counted in the fixture server's request log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from faultserver import Reply
from test_resilience import (
    SID,
    SiteFaultServer,
    check_feeds,
    configure,
    gazette_config,
    readme_source_yaml,
    refresh,
    shipped_config,
    site_reply,
    stored,
)

from feedbridge.config import load_config, rebase_origins
from feedbridge.model import Config
from feedbridge.samplesite import (
    GenericSite,
    KcnaSite,
    KcnaWatchSite,
    RunningServer,
    Site,
    serve,
)
from feedbridge.samplesite.kcna import LATEST

ROOT = Path(__file__).resolve().parent.parent
KCNAWATCH_YAML = ROOT / "config" / "sources" / "kcnawatch.yaml"


def listing_requests(server: RunningServer) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in server.requests(kind="listing")]


def stored_urls(cfg: Config, source_id: str = SID) -> set[str]:
    return {e.url for e in stored(cfg, source_id)}


def newest(site: Site, origin: str, n: int) -> set[str]:
    return {a.url(origin) for a in site.listed()[:n]}


def later_runs_stop_at_the_first_page_without_news(
    server: RunningServer, cfg: Config, source_id: str, per_page: int
) -> list[list[tuple[str, str, int]]]:
    """Three later runs: 3 new (pages 1-2), a page and a bit new (pages 1-3), nothing new (one
    conditional GET). Returns the listing requests of each run."""
    site: Site = server.site
    seen = []
    for publish in (3, per_page + 2, 0):
        before = stored_urls(cfg, source_id)
        site.publish(publish)
        server.clear_log()
        result = refresh(cfg, source_id)
        assert result.ok and result.new == publish, result
        assert stored_urls(cfg, source_id) == before | newest(site, server.url, publish)
        seen.append(listing_requests(server))
    return seen


# ---------------------------------------------------------------------------------------------


@pytest.fixture
def gazette() -> Iterator[RunningServer]:
    with serve(GenericSite(seed=21, count=45)) as server:  # 5 pages of 10
        yield server


def test_rel_next(gazette: RunningServer, tmp_path: Path) -> None:
    cfg = gazette_config(gazette.url, tmp_path, pagination={"max_pages": 3})
    first = refresh(cfg)
    assert first.ok and first.new == 30, first
    assert [p for _, p, _ in listing_requests(gazette)] == [
        "/news/",
        "/news/archive/2.html",
        "/news/archive/3.html",
    ]
    assert stored_urls(cfg) == newest(gazette.site, gazette.url, 30)
    check_feeds(cfg)
    runs = later_runs_stop_at_the_first_page_without_news(gazette, cfg, SID, 10)
    assert [len(r) for r in runs] == [2, 3, 1]
    assert runs[2] == [("GET", "/news/", 304)]


def test_next_link_selector(gazette: RunningServer, tmp_path: Path) -> None:
    text = readme_source_yaml().replace(
        "pagination: {type: rel_next, max_pages: 2}",
        "pagination: {type: selector, next: 'nav.pager a.older', max_pages: 4}",
    )
    assert "type: selector" in text
    path = tmp_path / "selector.yaml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    pag = cfg.source(SID).listing.pagination
    assert pag is not None and pag.kind == "selector"
    cfg = configure(rebase_origins(cfg, {"https://gazette.example": gazette.url}), tmp_path)
    first = refresh(cfg)
    assert first.ok and first.new == 40, first
    assert [p for _, p, _ in listing_requests(gazette)] == [
        "/news/",
        *(f"/news/archive/{n}.html" for n in (2, 3, 4)),
    ]
    runs = later_runs_stop_at_the_first_page_without_news(gazette, cfg, SID, 10)
    assert [len(r) for r in runs] == [2, 3, 1]


def test_max_items_caps_a_whole_listing_not_each_page(
    gazette: RunningServer, tmp_path: Path
) -> None:
    """``max_items`` is "items taken per listing URL per run" (docs/config.md), pages included."""
    cfg = gazette_config(gazette.url, tmp_path, pagination={"max_pages": 5})
    src = cfg.source(SID)
    from dataclasses import replace

    cfg = replace(cfg, sources=(replace(src, listing=replace(src.listing, max_items=15)),))
    first = refresh(cfg)
    assert first.ok and first.new == 15, first
    assert stored_urls(cfg) == newest(gazette.site, gazette.url, 15)
    assert len(listing_requests(gazette)) == 2  # page 2 gave the last five; no page 3


def test_url_template_with_page_numbers(tmp_path: Path) -> None:
    """The shipped kcnawatch config pages through /newstream/page/N/ with a URL template."""
    path = KCNAWATCH_YAML
    with serve(KcnaWatchSite(seed=22, count=45)) as server:
        cfg = load_config(path)
        cfg = configure(rebase_origins(cfg, {"https://kcnawatch.org": server.url}), tmp_path)
        pag = cfg.source("kcnawatch").listing.pagination
        assert pag is not None and pag.url_template == f"{server.url}/newstream/page/{{page}}/"
        first = refresh(cfg, "kcnawatch")
        assert first.ok and first.new == 30, first
        assert listing_requests(server) == [
            ("GET", "/newstream/", 200),
            ("GET", "/newstream/page/2/", 200),
            ("GET", "/newstream/page/3/", 200),
        ]
        keys = {re.search(r"\d{10}-\d{9}", u).group(0) for u in stored_urls(cfg, "kcnawatch")}  # type: ignore[union-attr]
        assert keys == {a.key for a in server.site.listed()[:30]}
        check_feeds(cfg, "kcnawatch")
        runs = later_runs_stop_at_the_first_page_without_news_by_key(server, cfg)
        assert [len(r) for r in runs] == [2, 3, 1]


def later_runs_stop_at_the_first_page_without_news_by_key(
    server: RunningServer, cfg: Config
) -> list[list[tuple[str, str, int]]]:
    """As above for kcnawatch, whose listing links may lack the canonical trailing slash."""
    site: Site = server.site
    seen = []
    for publish in (3, 12, 0):
        site.publish(publish)
        server.clear_log()
        result = refresh(cfg, "kcnawatch")
        assert result.ok and result.new == publish, result
        seen.append(listing_requests(server))
    return seen


# ---------------------------------------------------------------------------------------------
# form_post: the kcna.kp list pages
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def kcna() -> Iterator[RunningServer]:
    with serve(KcnaSite(seed=23, count=70)) as server:  # "Latest": 70 items, 15 a page
        yield server


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def test_kcna_fixture_answers_an_empty_page_without_the_session(kcna: RunningServer) -> None:
    url = f"{kcna.url}/en/article/list/{LATEST}"
    with requests.Session() as s:
        page1 = s.get(url, timeout=10)
        fields = {**form_fields(page1.text), "page_num": "2"}
        assert fields["_csrf"] and "JSESSIONID" in s.cookies
        good = s.post(url, data=fields, headers={"Referer": url}, timeout=10)
        no_referer = s.post(url, data=fields, timeout=10)
    no_cookie = requests.post(url, data=fields, headers={"Referer": url}, timeout=10)
    no_token = requests.Session()
    no_token.cookies.update(page1.cookies)
    bad_token = no_token.post(
        url, data={**fields, "_csrf": "x"}, headers={"Referer": url}, timeout=10
    )
    rows = re.compile(r'<div class="article">')
    assert len(rows.findall(page1.text)) == 15
    assert len(rows.findall(good.text)) == 15
    for empty in (no_referer, no_cookie, bad_token):
        assert empty.status_code == 200 and not rows.findall(empty.text)


def test_form_post_carries_cookie_fields_and_referer(kcna: RunningServer, tmp_path: Path) -> None:
    cfg = shipped_config({"kcna": kcna}, tmp_path)
    source = cfg.source("kcna-latest")
    assert source.listing.pagination and source.listing.pagination.max_pages == 3
    listing = source.listing.urls[0]
    first = refresh(cfg, "kcna-latest")
    assert first.ok and first.new == 45, first  # 3 pages of 15: pages 2..3 came by POST
    log = kcna.requests(kind="listing")
    assert [(r.method, r.status) for r in log] == [("GET", 200), ("POST", 200), ("POST", 200)]
    session = re.search(r"JSESSIONID=(\w+)", str(kcna.requests(kind="listing")))
    assert session
    for post in log[1:]:
        assert f"JSESSIONID={session.group(1)}" in post.headers["cookie"]
        assert post.headers["referer"] == listing
        assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert stored_urls(cfg, "kcna-latest") == newest(kcna.site, kcna.url, 45)
    check_feeds(cfg, "kcna-latest")

    runs = later_runs_stop_at_the_first_page_without_news(kcna, cfg, "kcna-latest", 15)
    posts = [[m for m, _, _ in run].count("POST") for run in runs]
    assert posts == [1, 2, 0]
    assert runs[2] == [("GET", f"/en/article/list/{LATEST}", 304)]


def test_an_article_skipped_on_page_2_is_fetched_next_run(tmp_path: Path) -> None:
    """A transient failure of an article listed on page 2 holds back the validators of the
    listing it came from (page 1's URL), so the next run does not get a 304 and skip it."""
    site = GenericSite(seed=24, count=30)
    with SiteFaultServer(site) as server:
        origin = server.url("").rstrip("/")
        cfg = gazette_config(origin, tmp_path, pagination={"max_pages": 3})
        victim = site.listed()[14]  # on page 2
        server.route(victim.path, Reply(reset=True))
        first = refresh(cfg)
        assert first.ok and (first.new, first.errors) == (29, 1), first
        server.route(victim.path, lambda e: site_reply(site, e))
        second = refresh(cfg)
        assert second.ok and second.new == 1, second
        assert stored_urls(cfg) == newest(site, origin, 30)
        third = refresh(cfg)
        assert third.ok and third.new == 0 and third.requests <= 2, third  # robots + a 304
