"""The fixture sites behave like SITES.md says and agree with their own truth.

Everything goes through real HTTP on 127.0.0.1 (requests against ``serve``), except a few
checks of pure helpers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.robotparser
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest
import requests
from lxml import etree, html

from feedbridge.samplesite import (
    GenericSite,
    KcnaSite,
    KcnaWatchSite,
    RunningServer,
    SampleArticle,
    Site,
    demo_sites,
    origins_map,
    serve,
)
from feedbridge.samplesite.dump import write_cases
from feedbridge.samplesite.kcna import KJU, LATEST, TOP

LIST = f"/en/article/list/{LATEST}"


def text_of(el: html.HtmlElement) -> str:
    """Element text the way a correct extractor reads it: all text nodes, spaces collapsed."""
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def parse(resp: requests.Response, encoding: str | None = None) -> html.HtmlElement:
    return html.fromstring(resp.content.decode(encoding or resp.encoding or "utf-8"))


@pytest.fixture
def kcna() -> Iterator[tuple[KcnaSite, RunningServer]]:
    site = KcnaSite(seed=7, count=40)
    with serve(site) as server:
        yield site, server


@pytest.fixture
def watch() -> Iterator[tuple[KcnaWatchSite, RunningServer]]:
    site = KcnaWatchSite(seed=7, count=40)
    with serve(site) as server:
        yield site, server


@pytest.fixture
def gazette() -> Iterator[tuple[GenericSite, RunningServer]]:
    site = GenericSite(seed=7, count=25)
    with serve(site) as server:
        yield site, server


# ---------------------------------------------------------------------------------------------
# content and truth
# ---------------------------------------------------------------------------------------------


def test_same_seed_same_site_and_other_seed_differs() -> None:
    a, b, c = KcnaSite(seed=3, count=30), KcnaSite(seed=3, count=30), KcnaSite(seed=4, count=30)
    assert [x.title for x in a.articles] == [x.title for x in b.articles]
    assert a.articles[5].paragraphs == b.articles[5].paragraphs
    assert [x.key for x in a.articles] != [x.key for x in c.articles]
    assert [x.title for x in a.articles] != [x.title for x in c.articles]


def test_generation_is_lazy_and_titles_unique_at_scale() -> None:
    site = KcnaSite(seed=1, count=1000)
    assert not any("story" in a.__dict__ for a in site.articles)  # no body generated yet
    titles = [a.title for a in site.articles]
    assert len(set(titles)) == 1000
    assert site.articles[0].day == site.today and site.articles[-1].day < site.today


@pytest.mark.parametrize("factory", [KcnaSite, KcnaWatchSite, GenericSite])
def test_forbidden_strings_never_in_the_expected_body(factory: type[Site]) -> None:
    for seed in range(3):
        site = factory(seed=seed, count=30)
        for a in site.articles:
            assert a.paragraphs and all(a.paragraphs)
            for bad in a.must_not:
                assert bad not in a.text, (a.key, bad)


def test_kcna_dateline_variants_and_leader_names() -> None:
    site = KcnaSite(seed=2, count=80)
    firsts = [a.paragraphs[0] for a in site.articles]
    assert any(re.match(r"Pyongyang, November \d+ \(KCNA\) -- \S", p) for p in firsts)
    assert any(re.match(r"Pyongyang, November \d+ \(KCNA\) --[A-Z]", p) for p in firsts)
    assert any(re.match(r"Pyongyang, November \d+ \(KCNA\) — \S", p) for p in firsts)
    leader = next(a for a in site.articles if KJU in site.categories_of(a))
    assert "Kim Jong Un inspected" in leader.text


# ---------------------------------------------------------------------------------------------
# kcna.kp
# ---------------------------------------------------------------------------------------------


def test_kcna_list_page_matches_truth(kcna: tuple[KcnaSite, RunningServer]) -> None:
    site, server = kcna
    resp = requests.get(server.url + LIST, timeout=5)
    assert resp.status_code == 200 and "JSESSIONID" in resp.cookies
    doc = parse(resp)
    items = doc.cssselect("div.article")
    truth = site.listing_page(LATEST, 1)
    assert len(items) == 15 == len(truth)
    for el, a in zip(items, truth, strict=True):
        link = el.cssselect("h5.block a")[0]
        assert link.get("href") == a.path and text_of(link) == a.title
        stamp = re.search(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", text_of(el.cssselect("span")[0]))
        assert stamp and date(*map(int, stamp.groups())) == a.published
    assert "[2026.11.20.]" in resp.text  # not zero-padded
    assert any(len(el.cssselect("span nobr")) > 1 for el in items)  # an extra <nobr> somewhere
    total = len(site.in_category(LATEST))
    assert f"var total={total}; cur_page=1; per_page=15; page_cnt={-(-total // 15)};" in resp.text


def test_kcna_article_page(kcna: tuple[KcnaSite, RunningServer]) -> None:
    site, server = kcna
    a = next(x for x in site.articles if x.story.captions and "gallery" in x.info.flags)
    resp = requests.get(a.url(server.url), timeout=5)
    doc = parse(resp)
    assert doc.findtext(".//title") == f"KCNA | {a.title}"
    h1 = doc.cssselect("main article .container h1")[0]
    assert h1.get("class", "").startswith("text-center") and text_of(h1) == a.title
    body = [text_of(p) for p in doc.cssselect("main article .container > p")]
    body = [re.sub(r"\s*-0-\s*$", "", t) for t in body]
    assert [t for t in body if t] == list(a.paragraphs)
    assert doc.cssselect("div.photo p") and doc.cssselect("a[href*='/gallery/detail/']")
    assert "<span class='fSpecCs'>Kim Jong Un</span>" in resp.text or "Kim" not in a.text
    assert not re.search(r"\d{4}\.\d{1,2}\.\d{1,2}", resp.text)  # no date on the page
    naive = "".join(t.strip() for t in doc.cssselect("main article .container > p")[0].itertext())
    if "Kim Jong Un" in a.paragraphs[0]:
        assert "Kim Jong Un" + "inspected" in naive  # joining stripped nodes glues words


def test_kcna_same_article_in_two_categories(kcna: tuple[KcnaSite, RunningServer]) -> None:
    site, server = kcna
    latest = requests.get(server.url + LIST, timeout=5).text
    kju = requests.get(f"{server.url}/en/article/list/{KJU}", timeout=5).text
    shared = [a for a in site.in_category(KJU)[:5] if a in site.listing_page(LATEST, 1)]
    assert shared and all(a.path in latest and a.path in kju for a in shared)
    assert requests.get(f"{server.url}/en/article/list/{TOP}", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/en/article/list/{'0' * 32}", timeout=5).status_code == 404


def _form(doc: html.HtmlElement) -> dict[str, str]:
    form = doc.cssselect("form#article_form")[0]
    assert form.get("method") == "POST"
    return {i.get("name"): i.get("value") for i in form.cssselect("input[type=hidden]")}


def test_kcna_pagination_by_post_needs_session_csrf_and_referer(
    kcna: tuple[KcnaSite, RunningServer],
) -> None:
    site, server = kcna
    url = server.url + LIST
    with requests.Session() as s:
        first = s.get(url, timeout=5)
        fields = _form(parse(first))
        assert set(fields) == {"_csrf", "page_num", "cnt_per_page", "keyword"}
        assert fields["cnt_per_page"] == "15" and fields["keyword"] == ""
        page2 = s.post(url, data={**fields, "page_num": "2"}, headers={"Referer": url}, timeout=5)
        hrefs = [a.get("href") for a in parse(page2).cssselect("div.article h5.block a")]
        assert hrefs == [a.path for a in site.listing_page(LATEST, 2)] and len(hrefs) == 15
        no_referer = s.post(url, data={**fields, "page_num": "2"}, timeout=5)
        bad_token = s.post(
            url, data={**fields, "_csrf": "x", "page_num": "2"}, headers={"Referer": url}, timeout=5
        )
    no_cookie = requests.post(
        url, data={**fields, "page_num": "2"}, headers={"Referer": url}, timeout=5
    )
    for resp in (no_referer, bad_token, no_cookie):
        assert resp.status_code == 200
        assert parse(resp).cssselect("div.article") == []


def test_kcna_listing_304_across_sessions(kcna: tuple[KcnaSite, RunningServer]) -> None:
    site, server = kcna
    first = requests.get(server.url + LIST, timeout=5)
    again = requests.get(
        server.url + LIST, headers={"If-None-Match": first.headers["ETag"]}, timeout=5
    )
    assert again.status_code == 304  # a new session's CSRF token does not change the ETag
    site.publish(1)
    changed = requests.get(
        server.url + LIST, headers={"If-None-Match": first.headers["ETag"]}, timeout=5
    )
    assert changed.status_code == 200 and site.articles[0].path in changed.text


# ---------------------------------------------------------------------------------------------
# state changes and conditional requests
# ---------------------------------------------------------------------------------------------


def test_conditional_get_and_edit(kcna: tuple[KcnaSite, RunningServer]) -> None:
    site, server = kcna
    a = site.articles[3]
    first = requests.get(a.url(server.url), timeout=5)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert (
        requests.get(a.url(server.url), headers={"If-None-Match": etag}, timeout=5).status_code
        == 304
    )
    assert (
        requests.get(
            a.url(server.url), headers={"If-Modified-Since": modified}, timeout=5
        ).status_code
        == 304
    )
    edited = site.edit(a)
    assert edited.revision == 1 and edited.title == a.title and edited.text != a.text
    after = requests.get(a.url(server.url), headers={"If-None-Match": etag}, timeout=5)
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert edited.paragraphs[-1] in text_of(parse(after))
    since = requests.get(a.url(server.url), headers={"If-Modified-Since": modified}, timeout=5)
    assert since.status_code == 200  # Last-Modified moved forward with the change


def test_publish_drop_delete(gazette: tuple[GenericSite, RunningServer]) -> None:
    site, server = gazette
    before = site.articles[0]
    new = site.publish(2)
    assert site.articles[:3] == [*new, before] and new[0].published > before.published
    listing = requests.get(server.url + "/news/", timeout=5).text
    assert all(f"{a.key}.html" in listing for a in new)
    site.drop_from_listing(new[0])
    listing = requests.get(server.url + "/news/", timeout=5).text
    assert f"{new[0].key}.html" not in listing and f"{new[1].key}.html" in listing
    assert requests.get(new[0].url(server.url), timeout=5).status_code == 200
    site.delete(new[1])
    assert requests.get(new[1].url(server.url), timeout=5).status_code == 404
    assert new[1] not in site.articles


# ---------------------------------------------------------------------------------------------
# kcnawatch.org
# ---------------------------------------------------------------------------------------------


def test_kcnawatch_listing_and_links(watch: tuple[KcnaWatchSite, RunningServer]) -> None:
    site, server = watch
    resp = requests.get(server.url + "/newstream/", timeout=5)
    items = parse(resp).cssselect(".article-desc")
    truth = site.listing_page(1)
    assert len(items) == 10 == len(truth)
    for el, a in zip(items, truth, strict=True):
        link = el.cssselect("h4 a")[0]
        assert link.get("href") == a.listing_href and text_of(link) == a.title
        shown = datetime.strptime(text_of(el.cssselect("p span")[0]), "%B %d, %Y").date()
        assert shown == a.published
        assert re.fullmatch(r"/newstream/\d{10}-\d{9}/[^/]+/?", a.listing_href)
    assert any(not a.listing_href.endswith("/") for a in truth)
    for path in ("/newstream/page/2/", "/newstream/?page=2"):
        page2 = parse(requests.get(server.url + path, timeout=5)).cssselect(".article-desc h4 a")
        assert [e.get("href") for e in page2] == [a.listing_href for a in site.listing_page(2)]
    # a link without its slash redirects to the canonical URL
    bare = next(a for a in site.articles if "no-slash" in a.info.flags)
    r = requests.get(server.url + bare.listing_href, allow_redirects=False, timeout=5)
    assert r.status_code == 301 and r.headers["Location"] == bare.url(server.url)


def test_kcnawatch_ajax_listing(watch: tuple[KcnaWatchSite, RunningServer]) -> None:
    site, server = watch
    url = server.url + "/wp-admin/admin-ajax.php?action=get_cat_by_source&from=2&to=5&id=1"
    links = html.fragments_fromstring(requests.get(url, timeout=5).text)
    hrefs = [el.cssselect("h4 a")[0].get("href") for el in links]
    assert hrefs == [a.listing_href for a in site.by_source(1)[2:5]] and len(hrefs) == 3
    assert all(site.is_kcna(a) for a in site.by_source(1))


def test_gzip_when_switched_on(gazette: tuple[GenericSite, RunningServer]) -> None:
    site, server = gazette
    plain = requests.get(server.url + "/news/", timeout=5)
    assert "Content-Encoding" not in plain.headers
    site.gzip = True
    packed = requests.get(server.url + "/news/", timeout=5)
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.content == plain.content and packed.headers["ETag"] == plain.headers["ETag"]


def test_kcnawatch_korean_slug(watch: tuple[KcnaWatchSite, RunningServer]) -> None:
    site, server = watch
    ko = next(a for a in site.articles if "korean" in a.info.flags)
    assert "%" in ko.path and re.search(r"[\uac00-\ud7a3]", ko.title)
    resp = requests.get(ko.url(server.url), timeout=5)
    assert resp.status_code == 200 and text_of(parse(resp).cssselect("h1")[0]) == ko.title


@pytest.mark.parametrize("inside", [False, True])
def test_kcnawatch_article(watch: tuple[KcnaWatchSite, RunningServer], inside: bool) -> None:
    site, server = watch
    a = next(
        x for x in site.articles if site.is_kcna(x) and ("teasers-inside" in x.info.flags) == inside
    )
    doc = parse(requests.get(a.url(server.url), timeout=5))
    assert len(doc.cssselect("h1")) == 1 and text_of(doc.cssselect("h1")[0]) == a.title
    meta = text_of(doc.xpath("//*[starts-with(normalize-space(text()), 'Date:')]")[0])
    assert meta.startswith(f"Date: {a.published:%d/%m/%Y} | Source: KCNA.kp (En) | Read original")
    header_date = text_of(doc.cssselect(".site-date")[0])
    assert re.fullmatch(r"\w+ \d\d, \d{4}\w{3} \d\d, \d{4}", header_date)
    assert f"{a.published:%B %d, %Y}" not in header_date  # a decoy
    content = doc.cssselect("div.article-content")[0]
    assert bool(content.cssselect(".more-from")) == inside
    assert doc.cssselect(".more-from li.teaser")
    for block in content.cssselect(".more-from"):
        block.drop_tree()
    paras = [text_of(p) for p in content.cssselect("p")]
    assert paras[-2].endswith(" -0-") and paras[-1] == site.carried_line(a)
    paras = [re.sub(r"\s*-0-\s*$", "", p) for p in paras[:-1]]
    assert paras == list(a.paragraphs)
    assert not any(bad in " ".join(paras) for bad in a.must_not)


def test_kcnawatch_feed_is_malformed_but_lenient_parsers_cope(
    watch: tuple[KcnaWatchSite, RunningServer],
) -> None:
    site, server = watch
    resp = requests.get(server.url + "/newstream/feed/", timeout=5)
    assert resp.headers["X-Samplesite-Malformed"] == "unquoted-attribute"
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)
    parsed = feedparser.parse(resp.content)
    assert parsed.bozo
    assert [e.title for e in parsed.entries] == [a.title for a in site.listing_page(1)]
    assert parsed.entries[0].link == site.listing_page(1)[0].url(server.url)


# ---------------------------------------------------------------------------------------------
# the generic site
# ---------------------------------------------------------------------------------------------


def test_generic_charset_only_in_header(gazette: tuple[GenericSite, RunningServer]) -> None:
    site, server = gazette
    a = next(x for x in site.articles if re.search("[éü£«]", x.title + x.text))
    resp = requests.get(a.url(server.url), timeout=5)
    assert resp.headers["Content-Type"] == "text/html; charset=ISO-8859-1"
    assert b"charset" not in resp.content.lower()
    with pytest.raises(UnicodeDecodeError):
        resp.content.decode("utf-8")
    doc = parse(resp, "iso-8859-1")
    assert text_of(doc.cssselect("h1.headline")[0]) == a.title
    body = doc.cssselect("div.story-body")[0]
    for junk in body.cssselect("script, .share-buttons, .embed"):
        junk.drop_tree()
    assert [text_of(p) for p in body.cssselect("p")] == list(a.paragraphs)
    assert doc.cssselect("time")[0].get("datetime") == a.published.isoformat()
    raw = resp.content
    assert b"javascript:" in raw and b"onclick=" in raw and b"onerror=" in raw
    assert b"<iframe" in raw and b"<script>" in raw and b'class="comments"' in raw
    assert b"&#8217;" in raw or b"&#8212;" in raw or b"&#8211;" in raw  # non-Latin-1 as refs


def test_generic_relative_links_and_rel_next(gazette: tuple[GenericSite, RunningServer]) -> None:
    site, server = gazette
    url, seen, hrefs = server.url + "/news/", [], set()
    while url:
        resp = requests.get(url, timeout=5)
        doc = parse(resp, "iso-8859-1")
        for el in doc.cssselect("article.teaser"):
            href = el.cssselect("h2 a")[0].get("href")
            hrefs.add(href.split("story/")[0])
            seen.append(urljoin(url, href))
            img = el.cssselect("img")[0]
            assert img.get("data-src") and img.get("srcset") and "placeholder" in img.get("src")
        nxt = doc.xpath("//link[@rel='next']/@href")
        url = urljoin(url, nxt[0]) if nxt else ""
    assert seen == [a.url(server.url) for a in site.listed()]
    assert hrefs == {"", "/news/", "../"}  # relative, root-relative and parent-relative


# ---------------------------------------------------------------------------------------------
# faults, robots, server
# ---------------------------------------------------------------------------------------------


def test_faults(watch: tuple[KcnaWatchSite, RunningServer]) -> None:
    site, server = watch
    a = site.articles[0]
    site.down, site.retry_after = True, 30
    for path in ("/newstream/", a.path, "/robots.txt"):
        r = requests.get(server.url + path, timeout=5)
        assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    site.down = False
    site.bot_check = True
    r = requests.get(server.url + a.path, timeout=5)
    assert r.status_code == 200 and "<title>Just a moment...</title>" in r.text
    assert "challenge-platform" in r.text and a.title not in r.text
    site.bot_check = False
    site.forbidden = True
    assert requests.get(server.url + a.path, timeout=5).status_code == 403
    site.forbidden = False
    site.login_wall = True
    r = requests.get(server.url + a.path, allow_redirects=False, timeout=5)
    assert r.status_code == 302 and "/free-member-form/" in r.headers["Location"]
    site.login_wall = False
    assert requests.get(server.url + a.path, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("factory", "path", "selector"),
    [
        (KcnaSite, LIST, "div.article h5.block a"),
        (KcnaWatchSite, "/newstream/", ".article-desc h4 a"),
        (GenericSite, "/news/", "article.teaser a"),
    ],
)
def test_listing_markup_changed(factory: type[Site], path: str, selector: str) -> None:
    site = factory(seed=1, count=20)
    with serve(site) as server:
        assert parse(requests.get(server.url + path, timeout=5), "latin-1").cssselect(selector)
        site.listing_markup_changed = True
        resp = requests.get(server.url + path, timeout=5)
        assert resp.status_code == 200 and site.articles[0].key in resp.text
        assert parse(resp, "latin-1").cssselect(selector) == []


def test_latency_and_request_log(kcna: tuple[KcnaSite, RunningServer]) -> None:
    site, server = kcna
    site.latency = 0.2
    requests.get(server.url + LIST, headers={"User-Agent": "probe/1"}, timeout=5)
    requests.get(site.articles[0].url(server.url), timeout=5)
    requests.get(server.url + "/photo/" + "0" * 64, timeout=5)
    log = server.requests()
    assert [r.kind for r in log] == ["listing", "article", "other"]
    assert all(r.end - r.start >= 0.2 for r in log)
    assert log[0].headers["user-agent"] == "probe/1" and log[0].status == 200
    assert server.counts() == {"listing": 1, "article": 1, "other": 1}


def test_robots(gazette: tuple[GenericSite, RunningServer]) -> None:
    site, server = gazette
    rp = urllib.robotparser.RobotFileParser()
    rp.parse(requests.get(server.url + "/robots.txt", timeout=5).text.splitlines())
    assert rp.can_fetch("feedbridge", server.url + "/news/")
    site.robots_disallow = ["/news/story/"]
    rp = urllib.robotparser.RobotFileParser()
    rp.parse(requests.get(server.url + "/robots.txt", timeout=5).text.splitlines())
    assert rp.can_fetch("feedbridge", server.url + "/news/")
    assert not rp.can_fetch("feedbridge", site.articles[0].url(server.url))


def test_other_loopback_address_and_mounts() -> None:
    a, b = GenericSite(seed=1, count=5), GenericSite(seed=2, count=5)
    with serve({"/a": a, "/b": b}, host="127.0.0.2") as server:
        assert server.url.startswith("http://127.0.0.2:")
        for prefix, site in (("/a", a), ("/b", b)):
            origin = server.site_url(prefix)
            resp = requests.get(site.listing_urls(origin)[0], timeout=5)
            first = parse(resp, "latin-1").cssselect("article.teaser h2 a")[0]
            assert urljoin(resp.url, first.get("href")) == site.articles[0].url(origin)
        a.robots_disallow = ["/news/story/"]
        rp = urllib.robotparser.RobotFileParser()
        rp.parse(requests.get(server.url + "/robots.txt", timeout=5).text.splitlines())
        assert not rp.can_fetch("feedbridge", a.articles[0].url(server.site_url("/a")))
        assert rp.can_fetch("feedbridge", b.articles[0].url(server.site_url("/b")))
        assert server.counts(site="/a")["listing"] == 1


def test_stop_closes_kept_alive_connections() -> None:
    site = GenericSite(seed=1, count=5)
    server = serve(site)
    with requests.Session() as s:
        assert s.get(server.url + "/news/", timeout=5).status_code == 200
        server.stop()
        with pytest.raises(requests.ConnectionError):
            s.get(server.url + "/news/", timeout=5)


# ---------------------------------------------------------------------------------------------
# dump and CLI
# ---------------------------------------------------------------------------------------------


def test_dump_writes_paired_cases(tmp_path: Path) -> None:
    written = write_cases(tmp_path, seed=5)
    expected = sorted(tmp_path.glob("*.expected.json"))
    names = {p.name.removesuffix(".expected.json") for p in expected}
    assert {
        "kcna-list",
        "kcna-article",
        "kcnawatch-list",
        "kcnawatch-article",
        "generic-list",
        "generic-article",
    } <= names
    assert len(written) == 2 * len(expected)
    for meta_path in expected:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        page = (tmp_path / meta["page"]).read_bytes().decode(meta["charset"])
        if meta["kind"] == "article":
            doc_text = text_of(html.fromstring(page))
            assert all(p in doc_text for p in meta["paragraphs"])
            assert meta["title"] in doc_text
        else:
            assert meta["items"] and all(i["href"] in page for i in meta["items"])
            assert all(i["url"].startswith(("http://", "https://")) for i in meta["items"])


def test_demo_sites_and_origins_map() -> None:
    sites = demo_sites(seed=1, count=5)
    servers = {name: serve(site) for name, site in sites.items()}
    try:
        mapping = origins_map(servers)
        assert mapping["http://www.kcna.kp"] == servers["kcna"].url
        assert mapping["https://kcnawatch.org"] == servers["kcnawatch"].url
    finally:
        for s in servers.values():
            s.stop()


def test_cli_serve_prints_origins() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedbridge.samplesite", "serve", "--count", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        origins = dict(re.match(r"(\w+)\s+(http://\S+)", line).groups() for line in lines)  # type: ignore[union-attr]
        assert set(origins) == {"kcna", "kcnawatch", "generic"}
        resp = requests.get(origins["generic"] + "/news/", timeout=5)
        assert resp.status_code == 200 and 'article class="teaser"' in resp.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sample_article_expected_json_roundtrips() -> None:
    a: SampleArticle = KcnaSite(seed=1, count=3).articles[0]
    data = json.loads(json.dumps(a.expected("http://www.kcna.kp")))
    assert data["url"] == "http://www.kcna.kp" + a.path and data["date"] == a.day.isoformat()
    assert "-0-" in data["must_not_contain"] and data["paragraphs"] == list(a.paragraphs)
