"""``feedbridge preview`` as a subprocess against fixture sites on 127.0.0.1, and the selector
proposals (feedbridge.propose) on differently built listings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest

from feedbridge.listing import parse_listing
from feedbridge.model import ListingSpec, Rule, Selector, Source
from feedbridge.normalize import canonical_url, clean_text
from feedbridge.pages import decode_body
from feedbridge.preview import listing_warnings
from feedbridge.propose import propose
from feedbridge.samplesite import GenericSite, KcnaSite, KcnaWatchSite, RunningServer, serve
from feedbridge.samplesite.dump import fetch
from feedbridge.samplesite.site import Site

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def preview(config: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "feedbridge", "-q"]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run(
        [*cmd, "preview", "--width", "200", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=config.parent if config else ROOT,
        timeout=60,
    )


@pytest.fixture(scope="module")
def kcna() -> Iterator[tuple[KcnaSite, RunningServer]]:
    site = KcnaSite(seed=11, count=40)
    with serve(site) as running:
        yield site, running


def write_config(tmp: Path, url: str, items: str = "div.article", extra: str = "") -> Path:
    path = tmp / "feedbridge.yaml"
    path.write_text(
        f"""
settings: {{output_dir: {tmp / "feeds"}, state_db: {tmp / "state.sqlite"}, retries: 0}}
sources:
  - id: kcna-latest
    title: KCNA latest
    timezone: Asia/Pyongyang
    listing:
      url: {url}
      items: {items}
      fields:
        title: h5.block a
        link: h5.block a
        date: {{css: span, regex: '\\d{{4}}\\.\\d{{1,2}}\\.\\d{{1,2}}', formats: ['%Y.%m.%d']}}
    article:
      title: main article .container h1
      body: main article .container > p
      strip: ['\\s*-0-\\s*$']
    http: {{min_delay: 0.05, allow_private: true}}
{extra}""",
        encoding="utf-8",
    )
    return path


def test_preview_of_a_configured_source_shows_table_coverage_and_article(
    kcna: tuple[KcnaSite, RunningServer], tmp_path: Path
) -> None:
    site, running = kcna
    config = write_config(tmp_path, site.listing_urls(running.url)[0])
    proc = preview(config, "kcna-latest")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    first = site.listed()[0]
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("#"))
    assert lines[header].split() == ["#", "date", "title", "link"]
    assert lines[header + 2].startswith("1 ") and first.title[:30] in lines[header + 2]
    assert "coverage: title 15/15 (100%)  link 15/15 (100%)  date 15/15 (100%)" in out
    assert f"first article: {first.url(running.url)}" in out
    assert "method: selectors" in out
    assert clean_text(first.paragraphs[0])[:50] in " ".join(out.split())
    assert "-0-" not in out
    assert out.rstrip().endswith("OK")
    assert "warning:" not in out


def test_preview_json_lists_every_field_and_fetches_one_article(
    kcna: tuple[KcnaSite, RunningServer], tmp_path: Path
) -> None:
    site, running = kcna
    config = write_config(tmp_path, site.listing_urls(running.url)[0])
    running.clear_log()
    proc = preview(config, "kcna-latest", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["kind"] == "html" and data["matched"] == 15
    listed = site.listed()[:15]
    assert [i["link"] for i in data["items"]] == [a.url(running.url) for a in listed]
    assert [i["title"] for i in data["items"]] == [a.title for a in listed]
    assert data["items"][0]["date"].startswith(listed[0].day.isoformat())
    assert set(data["items"][0]) >= {"title", "link", "date", "summary", "author", "categories"}
    assert data["coverage"]["date"] == "15/15 (100%)"
    article = data["article"]
    assert article["method"] == "selectors" and article["title"] == listed[0].title
    assert clean_text(listed[0].paragraphs[-1])[:40] in article["text"]
    kinds = running.counts()
    assert kinds["listing"] == 1 and kinds["article"] == 1  # one listing page, the first article


def test_preview_exits_1_when_expectations_fail(
    kcna: tuple[KcnaSite, RunningServer], tmp_path: Path
) -> None:
    site, running = kcna
    config = write_config(tmp_path, site.listing_urls(running.url)[0], items="div.no-such-item")
    proc = preview(config, "kcna-latest")
    assert proc.returncode == 1
    assert "EXPECTATION FAILED: item selector 'div.no-such-item' matched 0 elements" in proc.stdout
    data = json.loads(preview(config, "kcna-latest", "--json").stdout)
    assert data["ok"] is False and data["problems"]


def test_preview_exits_1_when_the_article_body_is_too_short(
    kcna: tuple[KcnaSite, RunningServer], tmp_path: Path
) -> None:
    site, running = kcna
    config = write_config(
        tmp_path, site.listing_urls(running.url)[0], extra="    expect: {min_body_chars: 100000}\n"
    )
    proc = preview(config, "kcna-latest")
    assert proc.returncode == 1
    assert "EXPECTATION FAILED: article body has" in proc.stdout


def test_unknown_source_id_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    proc = preview(config, "nope")
    assert proc.returncode == 2 and "no source with id 'nope'" in proc.stderr


def test_url_with_selectors_warns_about_dates_that_do_not_parse(
    kcna: tuple[KcnaSite, RunningServer],
) -> None:
    site, running = kcna
    url = site.listing_urls(running.url)[0]
    proc = preview(
        None, url, "--items", "div.article", "--title", "h5 a", "--link", "h5 a",
        "--date", "span", "--date-regex", r"\d{4}\.\d+\.\d+", "--date-format", "%d/%m/%Y",
        "--no-article", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "url" and len(data["items"]) == 15
    # a date that does not parse is not a date: coverage says so, and so do the warnings
    assert data["coverage"]["date"] == "0/15 (0%)"
    assert all(i["date"] is None for i in data["items"])
    assert any("did not parse" in w for w in data["warnings"])
    assert data["article"] is None


def test_saved_file_mode_needs_no_network(tmp_path: Path) -> None:
    site = GenericSite(seed=2, count=12)
    url = site.listing_urls(site.canonical_origin)[0]
    resp = fetch(site, url)
    saved = tmp_path / "listing.html"
    saved.write_bytes(resp.body)
    proc = preview(
        None, "--file", str(saved), "--url", "http://127.0.0.1:9/news/",
        "--items", "article.teaser", "--title", "h2", "--link", "h2 a", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["mode"] == "file" and data["article"] is None
    links = [i["link"] for i in data["items"]]
    assert len(links) == 10 and all(u.startswith("http://127.0.0.1:9/news/story/") for u in links)


def test_preview_of_a_feed_url_reads_it_as_a_feed() -> None:
    site = KcnaWatchSite(seed=4, count=12)
    with serve(site) as running:
        proc = preview(None, f"{running.url}/newstream/feed/", "--json", "--no-article")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["kind"] == "feed" and len(data["items"]) == 10
    assert data["items"][0]["title"] == site.listed()[0].title
    assert "malformed rss feed recovered" in proc.stderr


def test_preview_without_items_proposes_selectors(tmp_path: Path) -> None:
    site = GenericSite(seed=3, count=15)
    with serve(site) as running:
        url = site.listing_urls(running.url)[0]
        proc = preview(None, url)
        data = json.loads(preview(None, url, "--json").stdout)
    assert proc.returncode == 0, proc.stderr
    assert "[1] --items 'article.teaser'" in proc.stdout
    assert "config for the best candidate" in proc.stdout
    assert data["kind"] == "proposals"
    best = data["proposals"][0]
    assert best["count"] == 10 and best["config"]["fields"]["date"]["attribute"] == "datetime"
    assert best["samples"][0]["title"] == site.listed()[0].title
    assert data["config"]["listing"]["items"] == "article.teaser"


def test_listing_warnings_name_empty_titles_foreign_hosts_and_dropped_items() -> None:
    page = (
        "<ul><li><a href='/a'>A title</a></li><li><a href='/b'></a></li>"
        "<li><a href='http://elsewhere.example/c'>C</a></li><li><a href='/a'>A again</a></li>"
        "<li>no link</li></ul>"
    )
    spec = ListingSpec(
        urls=("http://home.example/list",),
        items=Selector("css", "li"),
        fields={"title": Rule(Selector("css", "a")), "link": Rule(Selector("css", "a"))},
    )
    source = Source(id="w", title="W", listing=spec)
    result = parse_listing(page, "http://home.example/list", spec, "UTC", NOW)
    warnings = listing_warnings(source, result)
    assert "1 of 3 items have an empty title" in warnings
    assert any("links to other hosts: elsewhere.example" in w for w in warnings)
    assert any(w.startswith("2 matched elements gave no item") for w in warnings)


# ---------------------------------------------------------------------------------------------
# Proposals on differently built listings (pure)
# ---------------------------------------------------------------------------------------------


def _page(site: Site) -> tuple[str, str]:
    url = site.listing_urls(site.canonical_origin)[0]
    resp = fetch(site, url)
    text, _ = decode_body(resp.body, resp.header("content-type") or "")
    return text, url


TABLE_LISTING = """<html><body><div id="menu"><a href="/">Home</a> <a href="/a">About</a>
<a href="/c">Contact</a></div><table class="news"><tr><th>Date</th><th>Headline</th></tr>
{rows}</table><div class="pager"><a href="?p=1">1</a> <a href="?p=2">2</a> <a href="?p=3">3</a>
<a href="?p=4">4</a></div></body></html>"""


def _table_listing() -> tuple[str, str, list[str]]:
    rows = "".join(
        f"<tr><td>2026-11-{10 + n:02d}</td><td><a href='/item/{n}'>Headline number {n} about "
        f"the harbour plan</a></td></tr>"
        for n in range(1, 8)
    )
    links = [f"http://table.example/item/{n}" for n in range(1, 8)]
    return TABLE_LISTING.format(rows=rows), "http://table.example/list", links


@pytest.mark.parametrize(
    "name",
    ["kcna", "kcnawatch", "generic", "table"],
)
def test_best_proposal_extracts_the_real_item_list(name: str) -> None:
    if name == "table":
        text, url, expected = _table_listing()
    else:
        site: Site = {"kcna": KcnaSite, "kcnawatch": KcnaWatchSite, "generic": GenericSite}[name](
            seed=7, count=30
        )
        text, url = _page(site)
        per_page = {"kcna": 15, "kcnawatch": 10, "generic": 10}[name]
        hrefs = [a.listing_href for a in site.listed()[:per_page]]
        expected = [canonical_url(urljoin(url, h)) for h in hrefs]
    proposals = propose(text, url)
    assert proposals, name
    best = proposals[0]
    result = parse_listing(text, url, best.spec(url), "UTC", NOW)
    assert [canonical_url(i.url) for i in result.items] == expected
    assert len(expected) >= 7
    assert all(i.title for i in result.items)
    assert all(i.published is not None for i in result.items), best.date
    assert all(best.score > p.score for p in proposals[1:])


def test_navigation_menus_rank_below_the_item_list() -> None:
    text, url = _page(KcnaSite(seed=1, count=20))
    proposals = propose(text, url)
    assert proposals[0].items == "div.article"
    assert all(p.score < proposals[0].score / 10 for p in proposals[1:])


def test_no_repeated_links_no_proposal() -> None:
    assert (
        propose("<html><body><p>Hello <a href='/x'>one link</a></p></body></html>", "http://x/")
        == []
    )
