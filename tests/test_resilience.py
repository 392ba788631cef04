"""Whole refreshes under faults (issue #4): one case per fault, each asserting what happened —
retried, capped, reported, nothing lost, other sources unaffected, the last good feed
byte-identical and the store unchanged.

Faults a site can switch on (down, bot check, 403, login wall, markup drift, latency, robots)
run against the fixture sites of ``feedbridge.samplesite``; faults that live at the socket
(connection resets, slow drip, 20 MB, truncated bodies, redirects, wrong charsets, 429) run
against ``SiteFaultServer``: the same generated site behind ``tests/faultserver.py``, with
single paths replaced by scripted misbehaviour.
"""

from __future__ import annotations

import logging
import os
import random
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

import feedparser
import pytest
from faultserver import FaultServer, Logged, Reply
from feedcheck import check_atom, check_json_feed, check_rss

from feedbridge.cli import run_sources
from feedbridge.config import load_config, rebase_origins
from feedbridge.fetch import HttpClient
from feedbridge.model import Config, Entry, RefreshResult
from feedbridge.refresh import refresh_source
from feedbridge.samplesite import (
    GenericSite,
    KcnaSite,
    KcnaWatchSite,
    LoggedRequest,
    Request,
    RunningServer,
    Site,
    origins_map,
    serve,
)
from feedbridge.store import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SHIPPED = ROOT / "config" / "feedbridge.yaml"
GAZETTE = "https://gazette.example"
SID = "harbor-gazette"
FAST = 0.005
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


# ---------------------------------------------------------------------------------------------
# Config and runs
# ---------------------------------------------------------------------------------------------


def readme_source_yaml() -> str:
    """The README's example source (the generic site's config), exactly as documented."""
    m = re.search(r"A minimal source:\n\n```yaml\n(.*?)```", README.read_text("utf-8"), re.S)
    assert m, "README lost its example source"
    return m.group(1)


def configure(
    cfg: Config,
    tmp: Path,
    *,
    settings: dict[str, Any] | None = None,
    http: dict[str, Any] | None = None,
    expect: dict[str, Any] | None = None,
    pagination: dict[str, Any] | None = None,
) -> Config:
    """Output into ``tmp``; fast politeness unless ``http`` says otherwise; overrides."""
    policy = {"min_delay": FAST, "max_concurrency": 4, **(http or {})}
    sources = []
    for s in cfg.sources:
        s = replace(s, http=replace(s.http, **policy))
        if expect:
            s = replace(s, expect=replace(s.expect, **expect))
        if pagination and s.listing.pagination is not None:
            pag = replace(s.listing.pagination, **pagination)
            s = replace(s, listing=replace(s.listing, pagination=pag))
        sources.append(s)
    values = {"output_dir": tmp / "feeds", "state_db": tmp / "state" / "fb.sqlite", "retries": 2}
    values.update(settings or {})
    return replace(cfg, sources=tuple(sources), settings=replace(cfg.settings, **values))


def gazette_config(origin: str, tmp: Path, *, allow_private: bool = True, **kw: Any) -> Config:
    path = tmp / "gazette.yaml"
    path.write_text(readme_source_yaml(), encoding="utf-8")
    cfg = rebase_origins(load_config(path), {GAZETTE: origin}, allow_private=allow_private)
    return configure(cfg, tmp, **kw)


def shipped_config(servers: dict[str, RunningServer], tmp: Path, **kw: Any) -> Config:
    return configure(rebase_origins(load_config(SHIPPED), origins_map(servers)), tmp, **kw)


def make_client(cfg: Config) -> HttpClient:
    """Retries back off in milliseconds (the timing itself is tested in test_fetch)."""
    return HttpClient(cfg.settings, backoff_base=0.01, rng=random.Random(4))


def refresh(cfg: Config, source_id: str = SID, client: HttpClient | None = None) -> RefreshResult:
    own = client is None
    client = client or make_client(cfg)
    try:
        with SQLiteStore(cfg.settings.state_db) as store:
            return refresh_source(cfg.source(source_id), cfg.settings, client, store)
    finally:
        if own:
            client.close()


@dataclass(frozen=True)
class Snapshot:
    """What a failed run must not change: feed bytes and mtimes, stored entries, validators."""

    files: dict[str, tuple[bytes, int]]
    entries: list[Entry]

    def unchanged(self, cfg: Config, source_id: str = SID) -> bool:
        return snapshot(cfg, source_id) == self


def snapshot(cfg: Config, source_id: str = SID) -> Snapshot:
    out = cfg.settings.output_dir
    files = {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.glob(f"{source_id}.*"))
        if not p.name.startswith(".")
    }
    with SQLiteStore(cfg.settings.state_db) as store:
        return Snapshot(files, store.entries(source_id))


def stored(cfg: Config, source_id: str = SID) -> list[Entry]:
    with SQLiteStore(cfg.settings.state_db) as store:
        return store.entries(source_id)


def state_of(cfg: Config, source_id: str = SID) -> Any:
    with SQLiteStore(cfg.settings.state_db) as store:
        return store.state(source_id)


def feed_links(cfg: Config, source_id: str = SID) -> list[str]:
    data = (cfg.settings.output_dir / f"{source_id}.atom").read_bytes()
    return [e.link for e in feedparser.parse(data).entries]


def check_feeds(cfg: Config, source_id: str = SID) -> None:
    checkers = {"atom": check_atom, "rss": check_rss, "json": check_json_feed}
    for fmt in cfg.settings.formats:
        data = (cfg.settings.output_dir / f"{source_id}.{fmt}").read_bytes()
        assert checkers[fmt](data) == [], (source_id, fmt)


def truth_urls(site: Site, origin: str) -> set[str]:
    return {a.url(origin) for a in site.listed()}


# ---------------------------------------------------------------------------------------------
# A fixture site behind the fault server: scripted faults on single paths
# ---------------------------------------------------------------------------------------------


class SiteFaultServer(FaultServer):
    """``FaultServer`` whose unrouted paths are answered by a generated ``Site``; ``route``
    a path to make it misbehave. Also works as an HTTP proxy (absolute request targets)."""

    def __init__(self, site: Site) -> None:
        super().__init__()
        self.site = site

    def _record(self, entry: Logged) -> Reply:
        with self._lock:
            self.log.append(entry)
            handler = self._routes.get(entry.path) or self._routes.get(entry.path.split("?")[0])
        return handler(entry) if handler else site_reply(self.site, entry)

    def hits(self, path: str) -> int:
        return len(self.requests(path))


def site_reply(site: Site, entry: Logged) -> Reply:
    """The site's own answer to a logged request."""
    path, _, query = entry.path.partition("?")
    headers = {k.lower(): v for k, v in entry.headers.items()}
    req = Request(entry.method, path, query, headers, entry.body, f"http://{entry.host}")
    resp = site.handle(req)
    return Reply(resp.status, resp.body, dict(resp.headers), content_type=None)


def then(first: list[Reply], site: Site) -> Callable[[Logged], Reply]:
    """A route that misbehaves ``len(first)`` times, then answers like the site."""
    left = list(first)
    lock = threading.Lock()

    def handler(entry: Logged) -> Reply:
        with lock:
            if left:
                return left.pop(0)
        return site_reply(site, entry)

    return handler


@pytest.fixture
def fsite(tmp_path: Path) -> Iterator[tuple[SiteFaultServer, Config]]:
    """A generic site (24 articles) behind the fault server, refreshed once (the last good
    feed); tests then publish 3 articles and break something."""
    site = GenericSite(seed=11, count=24)
    with SiteFaultServer(site) as server:
        cfg = gazette_config(server.url("").rstrip("/"), tmp_path)
        first = refresh(cfg)
        assert first.ok and first.new == 20, first  # two listing pages of ten
        server.log.clear()
        yield server, cfg


def article_path(server: SiteFaultServer, n: int = 0) -> str:
    """The path of the n-th newest listed article."""
    return server.site.listed()[n].path


# ---------------------------------------------------------------------------------------------
# Fixture sites whose switches break them
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def gazette(tmp_path: Path) -> Iterator[tuple[RunningServer, Config]]:
    with serve(GenericSite(seed=5, count=24)) as server:
        cfg = gazette_config(server.url, tmp_path)
        first = refresh(cfg)
        assert first.ok and first.new == 20, first
        server.clear_log()
        yield server, cfg


def assert_untouched(cfg: Config, before: Snapshot, result: RefreshResult, kind: str) -> None:
    """A failed run: reported as ``kind``, and feed files and store exactly as they were."""
    assert not result.ok and result.error_kind == kind, result
    assert before.unchanged(cfg)
    state = state_of(cfg)
    assert state.consecutive_failures >= 1
    assert state.last_error and state.last_error.startswith(f"{kind}: ")
    assert state.status == ("degraded" if kind in ("blocked", "drift") else "failing")


def test_added_latency_is_waited_out_and_nothing_is_missed(
    gazette: tuple[RunningServer, Config],
) -> None:
    server, cfg = gazette
    site: Site = server.site
    new = site.publish(3)
    site.latency = 0.15
    result = refresh(cfg)
    assert result.ok and (result.new, result.errors) == (3, 0), result
    assert {a.url(server.url) for a in new} <= set(feed_links(cfg))
    assert min(r.end - r.start for r in server.requests()) >= 0.15


def test_latency_beyond_the_read_timeout_is_retried_then_reported(
    fsite: tuple[SiteFaultServer, Config],
) -> None:
    server, cfg0 = fsite
    cfg = replace(cfg0, settings=replace(cfg0.settings, read_timeout=0.2, retries=1))
    before = snapshot(cfg)
    server.site.publish(2)
    server.route("/news/", lambda e: replace(site_reply(server.site, e), delay=0.6))
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "fetch")
    assert "timed out" in (result.reason or "").lower(), result.reason
    assert server.hits("/news/") == 2  # 1 + 1 retry, logged by the server on arrival
    server.route("/news/", lambda e: site_reply(server.site, e))
    again = refresh(cfg0)
    assert again.ok and again.new == 2


def test_server_errors_fail_one_source_and_spare_the_others(tmp_path: Path) -> None:
    with serve(GenericSite(seed=5, count=24)) as bad, serve(GenericSite(seed=6, count=24)) as ok:
        path = tmp_path / "two.yaml"
        text = readme_source_yaml()
        twin = text.replace("id: harbor-gazette", "id: harbor-mirror").replace(
            GAZETTE, "https://mirror.example"
        )
        path.write_text(text + twin.split("sources:\n", 1)[1], encoding="utf-8")
        mapping = {GAZETTE: bad.url, "https://mirror.example": ok.url}
        cfg = configure(rebase_origins(load_config(path), mapping), tmp_path)
        # run_sources makes its own client (backoff base 1 s): one retry keeps this quick
        cfg = replace(cfg, settings=replace(cfg.settings, retries=1))
        assert all(r.ok for r in run_sources(cfg, None))
        before = snapshot(cfg)
        mirror_before = set(feed_links(cfg, "harbor-mirror"))
        bad.site.down = True
        bad.site.publish(2)
        fresh = ok.site.publish(2)
        bad.clear_log()
        results = {r.source_id: r for r in run_sources(cfg, None)}

        assert_untouched(cfg, before, results[SID], "fetch")
        assert "503" in (results[SID].reason or "")
        # retried: robots.txt once (then allowed), the listing 1 + 1 retry; no article
        assert [(r.path, r.status) for r in bad.requests(kind="listing")] == [("/news/", 503)] * 2
        assert bad.requests(kind="article") == []
        other = results["harbor-mirror"]
        assert other.ok and other.new == 2, other
        assert set(feed_links(cfg, "harbor-mirror")) == mirror_before | {
            a.url(ok.url) for a in fresh
        }

        bad.site.down = False
        [healed] = run_sources(cfg, [SID])
        assert healed.ok and healed.new == 2
        assert set(before_links(before)) <= set(feed_links(cfg))
        assert state_of(cfg).status == "ok" and state_of(cfg).consecutive_failures == 0


def before_links(before: Snapshot) -> list[str]:
    return [e.link for e in feedparser.parse(before.files[f"{SID}.atom"][0]).entries]


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_with_a_long_retry_after_sets_the_source_retry_after(
    fsite: tuple[SiteFaultServer, Config], form: str
) -> None:
    server, cfg = fsite
    before = snapshot(cfg)
    now = datetime.now(UTC)
    value = "3600" if form == "seconds" else formatdate(now.timestamp() + 3600, usegmt=True)
    server.route("/news/", Reply(429, "slow down", {"Retry-After": value}))
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "fetch")
    assert server.hits("/news/") == 1  # not retried: the wait is longer than we would sleep
    retry_after = state_of(cfg).retry_after
    assert retry_after is not None
    assert timedelta(minutes=58) < retry_after - now < timedelta(minutes=61)


def test_429_with_a_short_retry_after_is_waited_then_retried(
    fsite: tuple[SiteFaultServer, Config],
) -> None:
    server, cfg = fsite
    new = server.site.publish(2)
    server.route("/news/", then([Reply(429, "slow down", {"Retry-After": "1"})], server.site))
    result = refresh(cfg)
    assert result.ok and result.new == 2, result
    first, second = server.requests("/news/")
    assert second.time - first.time >= 0.95  # the server's own clock: it was honoured
    assert {a.url(server.url("").rstrip("/")) for a in new} <= set(feed_links(cfg))
    assert state_of(cfg).retry_after is None


def test_connection_reset_on_an_article_is_retried(fsite: tuple[SiteFaultServer, Config]) -> None:
    server, cfg = fsite
    new = server.site.publish(3)
    server.route(new[1].path, then([Reply(reset=True)], server.site))
    result = refresh(cfg)
    assert result.ok and (result.new, result.errors) == (3, 0), result
    assert server.hits(new[1].path) == 2
    assert new[1].url(server.url("").rstrip("/")) in feed_links(cfg)


def test_connection_reset_every_time_on_the_listing_changes_nothing(
    fsite: tuple[SiteFaultServer, Config],
) -> None:
    server, cfg = fsite
    before = snapshot(cfg)
    server.site.publish(2)
    server.route("/news/", Reply(reset=True))
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "fetch")
    assert server.hits("/news/") == cfg.settings.retries + 1


def test_slow_drip_article_is_cut_by_the_budget_and_fetched_next_run(
    fsite: tuple[SiteFaultServer, Config],
) -> None:
    server, cfg0 = fsite
    cfg = replace(cfg0, settings=replace(cfg0.settings, refresh_budget_seconds=1.5))
    origin = server.url("").rstrip("/")
    new = server.site.publish(3)
    drip = Reply(body="<html><body>" + "x" * 5000, drip=0.05, drip_chunk=10)
    server.route(new[0].path, drip)
    result = refresh(cfg)
    assert result.ok and (result.new, result.errors) == (2, 1), result
    assert result.seconds < 1.5 + 5  # capped by the budget, not by the 25 s the drip wants
    links = set(feed_links(cfg))
    assert new[0].url(origin) not in links and {a.url(origin) for a in new[1:]} <= links
    # the listing's validators were held back, so the next run sees the item again
    server.route(new[0].path, lambda e: site_reply(server.site, e))
    again = refresh(cfg0)
    assert again.ok and again.new == 1, again
    assert new[0].url(origin) in feed_links(cfg)


@pytest.mark.parametrize("declared", [True, False])
def test_20mb_article_is_capped_and_the_rest_is_kept(
    fsite: tuple[SiteFaultServer, Config], declared: bool
) -> None:
    server, cfg = fsite
    origin = server.url("").rstrip("/")
    new = server.site.publish(3)
    server.route(new[2].path, Reply(size=20_000_000, content_length=declared))
    result = refresh(cfg)
    assert result.ok and result.errors == 1, result
    assert server.hits(new[2].path) == 1  # too large is not retried
    assert set(feed_links(cfg)) >= {a.url(origin) for a in new}
    # permanent: the entry falls back to the listing's summary, marked so ...
    big = next(e for e in stored(cfg) if e.url == new[2].url(origin))
    assert big.method == "listing" and big.title == new[2].title
    check_feeds(cfg)
    # ... and steady state is reached: no second 20 MB download, the listing answers 304
    server.log.clear()
    again = refresh(cfg)
    assert again.ok and (again.new, again.errors) == (0, 0), again
    sent = [(r.path, "If-None-Match" in r.headers) for r in server.requests()]
    assert [s for s in sent if s[0] != "/robots.txt"] == [("/news/", True)]


def test_article_truncated_mid_body_is_retried(fsite: tuple[SiteFaultServer, Config]) -> None:
    server, cfg = fsite
    origin = server.url("").rstrip("/")
    new = server.site.publish(1)
    page = site_reply(server.site, _fake_get(server, new[0].path)).body
    assert isinstance(page, bytes)
    cut = Reply(
        body=page[: len(page) // 3],
        headers={"Content-Length": str(len(page))},
        content_length=False,
    )
    server.route(new[0].path, then([cut], server.site))
    result = refresh(cfg)
    assert result.ok and (result.new, result.errors) == (1, 0), result
    assert server.hits(new[0].path) == 2
    [entry] = [e for e in stored(cfg) if e.url == new[0].url(origin)]
    assert new[0].paragraphs[-1][:40] in entry.content_html  # the whole body, not a third


def test_truncated_listing_without_items_is_drift(fsite: tuple[SiteFaultServer, Config]) -> None:
    server, cfg = fsite
    before = snapshot(cfg)
    server.site.publish(2)
    page = site_reply(server.site, _fake_get(server, "/news/")).body
    assert isinstance(page, bytes)
    cut = page[: page.index(b'<article class="teaser"')]
    server.route("/news/", Reply(body=cut, content_type="text/html; charset=ISO-8859-1"))
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "drift")
    assert "article.teaser" in (result.reason or "") and "/news/" in (result.reason or "")


def _fake_get(server: SiteFaultServer, path: str) -> Logged:
    host = f"127.0.0.1:{server.port}"
    return Logged(0.0, "GET", path, host, 0, {"Host": host}, b"", path)


def test_redirect_loop_on_the_listing_is_reported(fsite: tuple[SiteFaultServer, Config]) -> None:
    server, cfg = fsite
    before = snapshot(cfg)
    server.route("/news/", Reply(302, headers={"Location": "/news/index.html"}))
    server.route("/news/index.html", Reply(301, headers={"Location": "/news/"}))
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "fetch")
    assert "redirect loop" in (result.reason or "")
    # each hop once: a loop is not retried
    assert (server.hits("/news/"), server.hits("/news/index.html")) == (1, 1)


def test_redirect_to_a_private_address_is_refused(tmp_path: Path) -> None:
    """The site looks public (reached through the fault server acting as its proxy) and one
    article redirects to localhost: refused before any request goes there."""
    site = GenericSite(seed=12, count=12)
    with SiteFaultServer(site) as server:
        cfg = gazette_config(
            "http://news.example",
            tmp_path,
            allow_private=False,
            http={"proxy": server.url("").rstrip("/"), "allowed_hosts": ("localhost",)},
        )
        assert not cfg.source(SID).http.allow_private
        server.route("/secret", Reply(body="internal"))
        target = site.listed()[4]
        server.route(
            target.path, Reply(302, headers={"Location": server.url("/secret", "localhost")})
        )
        result = refresh(cfg)
        assert result.ok and result.errors == 1, result
        assert server.requests("/secret") == []
        assert all(r.host == "news.example" for r in server.requests())
        entries = {e.url: e for e in stored(cfg)}
        assert {a.url("http://news.example") for a in site.listed()[:10]} <= set(entries)
        # the refused article keeps what the listing said about it, marked so
        assert entries[target.url("http://news.example")].method == "listing"
        check_feeds(cfg)


def lying_about_charset(server: SiteFaultServer, paths: list[str]) -> None:
    """The site says UTF-8 and sends ISO-8859-1 on these paths."""

    def lie(entry: Logged) -> Reply:
        reply = site_reply(server.site, entry)
        reply.headers["Content-Type"] = "text/html; charset=UTF-8"
        return reply

    for path in paths:
        server.route(path, lie)


def test_wrong_declared_charset_publishes_valid_feeds(
    fsite: tuple[SiteFaultServer, Config],
) -> None:
    """Nothing breaks, nothing is lost, the feeds stay valid (the next test: and the text is
    decoded right)."""
    server, cfg = fsite
    origin = server.url("").rstrip("/")
    new = server.site.publish(4)
    lying_about_charset(server, ["/news/", *(a.path for a in new)])
    result = refresh(cfg)
    assert result.ok and result.new == 4, result
    check_feeds(cfg)
    entries = {e.url: e for e in stored(cfg)}
    for a in new:
        entry = entries[a.url(origin)]
        ascii_words = [w for w in a.paragraphs[0].split() if w.isascii() and w.isalpha()][:5]
        assert all(w in entry.content_html for w in ascii_words)


def test_wrong_declared_charset_keeps_the_accents(fsite: tuple[SiteFaultServer, Config]) -> None:
    server, cfg = fsite
    origin = server.url("").rstrip("/")
    new = server.site.publish(4)
    lying_about_charset(server, ["/news/", *(a.path for a in new)])
    assert refresh(cfg).ok
    entries = {e.url: e for e in stored(cfg)}
    for a in new:
        assert "\ufffd" not in entries[a.url(origin)].title + entries[a.url(origin)].content_html
        assert entries[a.url(origin)].title == a.title


def test_bot_check_page_is_blocked_and_changes_nothing(
    gazette: tuple[RunningServer, Config],
) -> None:
    server, cfg = gazette
    before = snapshot(cfg)
    server.site.publish(2)
    server.site.bot_check = True
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "blocked")
    assert "bot" in (result.reason or "").lower() and "/news/" in (result.reason or "")
    assert len(server.requests(kind="listing")) == 1  # a block is not retried


def test_403_is_blocked_and_not_retried(gazette: tuple[RunningServer, Config]) -> None:
    server, cfg = gazette
    before = snapshot(cfg)
    server.site.forbidden = True
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "blocked")
    assert "403" in (result.reason or "")
    assert len(server.requests(kind="listing")) == 1


def test_login_redirect_is_blocked_without_following_it(
    gazette: tuple[RunningServer, Config],
) -> None:
    server, cfg = gazette
    before = snapshot(cfg)
    server.site.login_wall = True
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "blocked")
    assert "free-member-form" in (result.reason or "")
    assert not any("free-member-form" in r.path for r in server.requests())


def test_listing_markup_drift_names_selector_and_url_and_stores_nothing(
    gazette: tuple[RunningServer, Config],
) -> None:
    server, cfg = gazette
    before = snapshot(cfg)
    server.site.publish(2)
    server.site.listing_markup_changed = True
    result = refresh(cfg)
    assert_untouched(cfg, before, result, "drift")
    reason = result.reason or ""
    assert "'article.teaser'" in reason and f"{server.url}/news/" in reason, reason
    assert "matched 0" in reason
    assert server.requests(kind="article") == []


def test_notice_entry_appears_once_and_goes_after_recovery(
    gazette: tuple[RunningServer, Config],
) -> None:
    server, cfg0 = gazette
    cfg = configure(cfg0, cfg0.settings.output_dir.parent, expect={"notice_entry": True})
    good = set(feed_links(cfg))
    server.site.listing_markup_changed = True
    for _ in range(2):
        result = refresh(cfg)
        assert result.error_kind == "drift"
        feed = feedparser.parse((cfg.settings.output_dir / f"{SID}.atom").read_bytes())
        notices = [e for e in feed.entries if e.title.startswith("[feedbridge]")]
        assert len(notices) == 1, [e.title for e in feed.entries]
        assert "layout changed" in notices[0].title
        assert good <= {e.link for e in feed.entries}  # nothing lost
        check_feeds(cfg)
    server.site.listing_markup_changed = False  # back as it was: the listing answers 304
    result = refresh(cfg)
    assert result.ok, result
    assert set(feed_links(cfg)) == good
    assert not any(e.is_notice for e in stored(cfg))
    check_feeds(cfg)


# ---------------------------------------------------------------------------------------------
# Request counting and politeness, measured by the fixture server
# ---------------------------------------------------------------------------------------------


def test_steady_state_costs_one_conditional_request_per_listing(tmp_path: Path) -> None:
    """The shipped kcna.kp and kcnawatch.org configs, twice, nothing changed in between: the
    second run sends one conditional GET per listing (answered 304), no POST for page 2, no
    article, and (one client, robots.txt cached) nothing else."""
    servers = {
        "kcna": serve(KcnaSite(seed=9, count=40)),
        "kcnawatch": serve(KcnaWatchSite(seed=9, count=25)),
    }
    try:
        cfg = shipped_config(servers, tmp_path)
        ids = [s.id for s in cfg.sources]
        assert ids == ["kcna-latest", "kcna-kim-jong-un", "kcna-top", "kcnawatch"]
        with make_client(cfg) as client, SQLiteStore(cfg.settings.state_db) as store:
            first = [refresh_source(s, cfg.settings, client, store) for s in cfg.sources]
            assert all(r.ok and r.new > 0 for r in first), first
            sent_first = {n: len(s.requests()) for n, s in servers.items()}
            for s in servers.values():
                s.clear_log()
            second = [refresh_source(s, cfg.settings, client, store) for s in cfg.sources]
        assert [(r.ok, r.new, r.updated, r.errors, r.requests) for r in second] == [
            (True, 0, 0, 0, 1)
        ] * 4, second
        kcna, watch = servers["kcna"], servers["kcnawatch"]
        listings = [s.id for s in cfg.sources if s.id.startswith("kcna-")]
        got = [(r.method, r.path, r.status, "if-none-match" in r.headers) for r in kcna.requests()]
        assert len(got) == len(listings) == 3
        assert all(g[0] == "GET" and g[2] == 304 and g[3] for g in got), got
        got = [(r.method, r.path, r.status) for r in watch.requests()]
        assert got == [("GET", "/newstream/", 304)]
        # the first run paged kcna by POST (max_pages 3) and fetched every article once
        assert sent_first["kcna"] > 3 and sent_first["kcnawatch"] > 10
    finally:
        for s in servers.values():
            s.stop()


def peak_in_flight(log: list[LoggedRequest], slack: float = 0.01) -> int:
    """Most requests the server was handling at once; each interval is shortened by ``slack``
    at its end (server and client share one process, so the server may note a request's end a
    moment after the client has already started the next one)."""
    events = sorted(
        [(r.start, 1) for r in log] + [(max(r.start, r.end - slack), -1) for r in log],
        key=lambda e: (e[0], e[1]),
    )
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def test_politeness_limits_hold_during_a_30_article_refresh(tmp_path: Path) -> None:
    min_delay, limit = 0.05, 2
    site = GenericSite(seed=8, count=30)
    site.latency = 0.1  # long enough for requests to overlap if the client let them
    with serve(site) as server:
        cfg = gazette_config(
            server.url,
            tmp_path,
            http={"min_delay": min_delay, "max_concurrency": limit},
            pagination={"max_pages": 3},
        )
        result = refresh(cfg)
        log = sorted(server.requests(), key=lambda r: r.start)
    assert result.ok and result.new == 30, result
    assert len([r for r in log if r.kind == "article"]) == 30
    assert len([r for r in log if r.kind == "listing"]) == 3
    gaps = [b.start - a.start for a, b in zip(log, log[1:], strict=False)]
    assert min(gaps) >= min_delay - 0.01, sorted(gaps)[:3]
    assert peak_in_flight(log) == limit  # reached, never exceeded


def test_robots_disallowed_article_is_not_fetched_and_the_log_says_why(
    gazette: tuple[RunningServer, Config], caplog: pytest.LogCaptureFixture
) -> None:
    """One page the site asks us not to fetch: it keeps its listing summary (nothing is
    fetched from it), the other new articles get full text, and the log names the reason."""
    server, cfg = gazette
    new = server.site.publish(3)
    server.site.robots_disallow = [new[1].path]
    with caplog.at_level(logging.WARNING):
        result = refresh(cfg)  # a new client: robots.txt is read afresh
    assert not any(r.path == new[1].path for r in server.requests())
    assert result.ok and result.new == 3 and result.errors == 1, result
    entries = {e.url: e for e in stored(cfg)}
    assert entries[new[1].url(server.url)].method == "listing"
    assert entries[new[0].url(server.url)].method == "selectors"
    logged = [r.getMessage() for r in caplog.records if "robots.txt" in r.getMessage()]
    assert any(new[1].url(server.url) in m and "disallowed" in m for m in logged), logged


def test_robots_disallowed_listing_blocks_the_source_and_changes_nothing(
    gazette: tuple[RunningServer, Config],
) -> None:
    server, cfg = gazette
    before = snapshot(cfg)
    server.site.publish(3)
    server.site.robots_disallow = ["/news/"]
    result = refresh(cfg)
    assert not any(r.path == "/news/" for r in server.requests())
    assert_untouched(cfg, before, result, "blocked")
    assert "robots.txt" in (result.reason or "") and "/news/" in (result.reason or "")
    assert "robots.txt" in (state_of(cfg).last_error or "")


# ---------------------------------------------------------------------------------------------
# Done when: a hostile site, the real command, one line per problem
# ---------------------------------------------------------------------------------------------


def write_yaml(tmp: Path, origins: dict[str, str], http: str) -> Path:
    """A config file of README-example sources, one per id → placeholder origin."""
    body = readme_source_yaml().split("sources:\n", 1)[1]
    sources = "".join(
        body.replace("id: harbor-gazette", f"id: {sid}").replace(GAZETTE, origin)
        + f"    http: {http}\n"
        for sid, origin in origins.items()
    )
    path = tmp / "feedbridge.yaml"
    path.write_text(
        f"settings:\n  output_dir: {tmp / 'feeds'}\n  state_db: {tmp / 'state.sqlite'}\n"
        f"sources:\n{sources}",
        encoding="utf-8",
    )
    return path


def feedbridge_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FEEDBRIDGE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "feedbridge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def test_hostile_sites_get_one_line_each_and_the_last_good_feeds_stay(tmp_path: Path) -> None:
    min_delay = 0.05
    with serve(GenericSite(seed=1, count=14)) as a, serve(GenericSite(seed=2, count=14)) as b:
        path = write_yaml(
            tmp_path,
            {"checked": "https://a.example", "drifted": "https://b.example"},
            f"{{min_delay: {min_delay}, max_concurrency: 2}}",
        )
        args = [
            *("--config", str(path)),
            *("--override-origin", f"https://a.example={a.url}"),
            *("--override-origin", f"https://b.example={b.url}"),
            *("run", "--once"),
        ]
        healthy = feedbridge_cli(*args)
        assert healthy.returncode == 0, healthy.stderr
        feeds = {p.name: p.read_bytes() for p in (tmp_path / "feeds").iterdir()}
        assert len(feeds) == 6
        a.site.publish(2)
        b.site.publish(2)
        a.site.bot_check = True
        b.site.listing_markup_changed = True
        hostile = feedbridge_cli(*args)
        logs = {"checked": a.requests(), "drifted": b.requests()}

    assert hostile.returncode == 1, hostile.stderr  # every source failed
    lines = dict(line.split(": ", 1) for line in hostile.stdout.strip().splitlines())
    assert set(lines) == {"checked", "drifted"}, hostile.stdout
    assert lines["checked"].startswith("FAILED (blocked)")
    assert f"{a.url}/news/" in lines["checked"] and "bot" in lines["checked"].lower()
    assert lines["drifted"].startswith("FAILED (drift)")
    assert f"{b.url}/news/" in lines["drifted"] and "'article.teaser'" in lines["drifted"]
    assert "matched 0 elements" in lines["drifted"]
    # the last good feeds, byte for byte
    assert {p.name: p.read_bytes() for p in (tmp_path / "feeds").iterdir()} == feeds
    # politeness over both runs, per host, from the servers' logs
    for log in logs.values():
        log = sorted(log, key=lambda r: r.start)
        gaps = [y.start - x.start for x, y in zip(log, log[1:], strict=False)]
        # The server stamps a request when it starts handling it; on a loaded machine one
        # request can be handled late, which shortens the gap after it and lengthens the one
        # before. So: no gap far below the delay, and no two neighbouring gaps below twice it.
        assert min(gaps) >= min_delay * 0.4, sorted(gaps)[:3]
        pairs = [x + y for x, y in zip(gaps, gaps[1:], strict=False)]
        assert min(pairs) >= 2 * min_delay - 0.015, sorted(pairs)[:3]
        assert peak_in_flight(log) <= 2


def test_skipped_article_behind_a_redirected_listing_is_fetched_next_run(tmp_path: Path) -> None:
    """The configured listing URL redirects; an article fails for good this run. The held-back
    validators are those of the configured URL, so the next run is not a blind 304."""
    site = GenericSite(seed=13, count=8)
    with SiteFaultServer(site) as server:
        origin = server.url("").rstrip("/")
        cfg = gazette_config(origin, tmp_path)
        src = cfg.source(SID)
        listing = replace(src.listing, urls=(f"{origin}/latest",))
        cfg = replace(cfg, sources=(replace(src, listing=listing),))
        server.route("/latest", Reply(301, headers={"Location": "/news/"}))
        victim = site.listed()[3]
        server.route(victim.path, Reply(reset=True))
        first = refresh(cfg)
        assert first.ok and (first.new, first.errors) == (7, 1), first
        server.route(victim.path, lambda e: site_reply(site, e))
        second = refresh(cfg)
        assert second.ok and second.new == 1, second
        assert {e.url for e in stored(cfg)} == truth_urls(site, origin)
