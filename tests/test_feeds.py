"""Feed sources (feedbridge.feeds): RSS 2.0, Atom and JSON Feed listings.

Pure mapping tests on small documents, then real refreshes against feeds and article pages
served on 127.0.0.1 (partial feed content replaced by the article's full text), the
deliberately malformed kcnawatch fixture feed, and hostile payloads (billion laughs, external
entities, external DTDs) that must parse without expansion and without any network access.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedbridge.config import load_config
from feedbridge.feeds import NotAFeed, parse_feed, parse_feed_listing
from feedbridge.fetch import HttpClient
from feedbridge.model import Config, ListingSpec
from feedbridge.normalize import canonical_url, clean_text, html_to_text
from feedbridge.refresh import refresh_source
from feedbridge.samplesite import serve
from feedbridge.samplesite.kcnawatch import KcnaWatchSite
from feedbridge.store import SQLiteStore
from tests.faultserver import FaultServer, Reply

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SPEC = ListingSpec(urls=("http://feeds.example/feed",), kind="feed")

try:
    import trafilatura  # noqa: F401

    HAVE_TRAFILATURA = True
except ImportError:  # pragma: no cover
    HAVE_TRAFILATURA = False


# ---------------------------------------------------------------------------------------------
# Pure mapping
# ---------------------------------------------------------------------------------------------

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Harbour &amp; Coast</title><link>http://feeds.example/</link>
<item>
  <title>Ferry &lt;b&gt;timetable&lt;/b&gt; changes</title>
  <link>/news/1.html</link>
  <guid isPermaLink="false">urn:harbour:1</guid>
  <pubDate>Thu, 19 Nov 2026 08:15:00 +0100</pubDate>
  <dc:creator>Mira Holt</dc:creator>
  <category>Transport</category><category>Islands</category>
  <description>Short teaser.</description>
  <content:encoded><![CDATA[<p>Longer <b>content</b> with &nbsp; an entity.</p>]]></content:encoded>
  <enclosure url="/img/1.jpg" type="image/jpeg" length="10"/>
</item>
<item>
  <title>Item with a permalink guid only</title>
  <guid>http://feeds.example/news/2.html</guid>
  <author>desk@feeds.example (News Desk)</author>
  <description>&lt;p&gt;Escaped HTML summary&lt;/p&gt;</description>
</item>
<item><title>No link at all</title><guid isPermaLink="false">x-3</guid></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://feeds.example/blog/">
  <title>Tidewriter</title><id>urn:tide</id><updated>2026-11-19T10:00:00Z</updated>
  <entry>
    <title type="html">Notes &amp;amp; pictures</title>
    <id>tag:tide.example,2026:42</id>
    <link rel="self" href="/api/42"/>
    <link rel="alternate" type="text/html" href="posts/42.html"/>
    <published>2026-11-18T09:00:00+09:00</published>
    <updated>2026-11-19T10:00:00Z</updated>
    <author><name>Lena Ostrov</name></author>
    <category term="survey" label="Survey"/>
    <summary>Plain &lt; summary</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Xhtml <em>body</em></p>
    </div></content>
  </entry>
  <entry>
    <title>Only updated</title><id>http://feeds.example/blog/posts/43.html</id>
    <updated>2026-11-17</updated>
    <summary type="text">Text summary</summary>
  </entry>
</feed>"""

JSONFEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Port News",
        "items": [
            {
                "id": 7,
                "url": "/e/7",
                "title": "Fish hall <opens>",
                "content_text": "a < b",
                "date_published": "2026-11-16T09:30:00+09:00",
                "authors": [{"name": "Piet Corran"}, {"name": "Arvo Kett"}],
                "tags": ["market", ""],
                "image": "/t/7.jpg",
            },
            {"id": "8", "external_url": "http://other.example/x", "summary": "S"},
            {"id": "9", "title": "no url"},
            "not an object",
        ],
    }
).encode()


def test_rss_items_keep_guid_date_author_categories_content_and_image() -> None:
    feed = parse_feed(RSS, "http://feeds.example/feed", "UTC", NOW)
    assert feed.format == "rss" and feed.title == "Harbour & Coast" and not feed.problems
    first, second = feed.items
    assert first.url == "http://feeds.example/news/1.html"
    assert first.title == "Ferry timetable changes"
    assert first.guid == "urn:harbour:1"
    assert first.published == datetime(2026, 11, 19, 7, 15, tzinfo=UTC)
    assert first.date_precision == 3
    assert first.author == "Mira Holt"
    assert first.categories == ("Transport", "Islands")
    assert first.summary_html == "<p>Longer <b>content</b> with &nbsp; an entity.</p>"
    assert first.image == "http://feeds.example/img/1.jpg"
    assert second.url == "http://feeds.example/news/2.html"
    assert second.author == "News Desk"
    assert second.summary_html == "<p>Escaped HTML summary</p>"
    assert second.published is None


def test_rss_listing_counts_items_without_links_and_coverage() -> None:
    result = parse_feed_listing(RSS, "http://feeds.example/feed", SPEC, "UTC", NOW)
    assert result.matched == 3 and len(result.items) == 2
    assert result.coverage["title"] == 3
    assert result.coverage["link"] == 2
    assert result.coverage["date"] == 1


def test_atom_entries_resolve_xml_base_and_prefer_published() -> None:
    feed = parse_feed(ATOM, "http://feeds.example/atom.xml", "UTC", NOW)
    a, b = feed.items
    assert feed.format == "atom"
    assert a.url == "http://feeds.example/blog/posts/42.html"
    assert a.title == "Notes & pictures"
    assert a.guid == "tag:tide.example,2026:42"
    assert a.published == datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
    assert a.author == "Lena Ostrov" and a.categories == ("Survey",)
    assert a.summary_html == "<p>Xhtml <em>body</em></p>"
    assert b.url == "http://feeds.example/blog/posts/43.html"  # the id is a URL
    assert b.published is not None and b.date_precision == 2
    assert b.summary_html == "Text summary"


def test_json_feed_items() -> None:
    feed = parse_feed(JSONFEED, "http://feeds.example/feed.json", "UTC", NOW)
    assert feed.format == "json" and feed.title == "Port News"
    a, b = feed.items
    assert a.url == "http://feeds.example/e/7" and a.guid == "7"
    assert a.title == "Fish hall <opens>"
    assert a.summary_html == "a &lt; b"
    assert a.author == "Piet Corran, Arvo Kett" and a.categories == ("market",)
    assert a.image == "http://feeds.example/t/7.jpg"
    assert a.published == datetime(2026, 11, 16, 0, 30, tzinfo=UTC)
    assert b.url == "http://other.example/x" and b.guid == "8"
    assert len(feed.rows) == 3 and "skipped items that are not JSON objects" in feed.problems


@pytest.mark.parametrize(
    "body",
    [b"<html><body><p>Not a feed</p></body></html>", b"{not json", b'{"items": 3}', b""],
)
def test_non_feeds_raise_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeed):
        parse_feed(body, "http://feeds.example/x", "UTC", NOW)


def test_latin1_feed_with_declared_encoding() -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel><item><title>Caf\xe9 \xa3</title>'
        "<link>http://feeds.example/c</link></item></channel></rss>"
    ).encode("latin-1")
    (item,) = parse_feed(body, "http://feeds.example/f", "UTC", NOW).items
    assert item.title == "Café £"


# ---------------------------------------------------------------------------------------------
# Malformed and hostile feeds
# ---------------------------------------------------------------------------------------------

MALFORMED = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>Broken</title>
<atom:link href=http://feeds.example/feed/ rel="self" type="application/rss+xml" />
<item><title>Caf&eacute; &amp; R&D &copy; &madeup;</title><link>http://feeds.example/a?x=1&y=2</link>
<description>Teaser &nbsp; text</description></item>
<item><title>Second</title><link>http://feeds.example/b</link></item>
</channel></rss>"""


def test_malformed_feed_is_recovered_and_logged_with_url(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="feedbridge.feeds"):
        result = parse_feed_listing(MALFORMED, "http://feeds.example/feed/", SPEC, "UTC", NOW)
    a, b = result.items
    assert a.title == "Café & R&D © &madeup;"
    assert a.url == "http://feeds.example/a?x=1&y=2"
    assert b.url == "http://feeds.example/b"
    (record,) = [r for r in caplog.records if "recovered" in r.getMessage()]
    msg = record.getMessage()
    assert "http://feeds.example/feed/" in msg
    assert "unquoted attribute" in msg and "&madeup;" in msg


def test_well_formed_feed_is_not_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="feedbridge.feeds"):
        parse_feed_listing(RSS, "http://feeds.example/feed", SPEC, "UTC", NOW)
    assert not caplog.records


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>Laughs &lol9;</title><link>http://feeds.example/lol</link>
<description>&lol9;&lol9;</description></item></channel></rss>"""


def _hostile(port: int) -> dict[str, bytes]:
    origin = f"http://127.0.0.1:{port}"
    return {
        "external entity": f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{origin}/xxe-entity">]>
<rss version="2.0"><channel><item><title>Leak &xxe;</title>
<link>http://feeds.example/x</link></item></channel></rss>""".encode(),
        "parameter entity": f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{origin}/xxe-param"> %remote;]>
<rss version="2.0"><channel><item><title>Param</title>
<link>http://feeds.example/x</link></item></channel></rss>""".encode(),
        "external dtd": f"""<?xml version="1.0"?>
<!DOCTYPE rss SYSTEM "{origin}/xxe-dtd">
<rss version="2.0"><channel><item><title>Dtd &ent;</title>
<link>http://feeds.example/x</link></item></channel></rss>""".encode(),
        "xinclude": f"""<?xml version="1.0"?>
<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude"><channel><item>
<title>Incl</title><link>http://feeds.example/x</link>
<description><xi:include href="{origin}/xxe-include" parse="text"/></description>
</item></channel></rss>""".encode(),
    }


def test_billion_laughs_is_not_expanded() -> None:
    feed = parse_feed(BILLION_LAUGHS, "http://feeds.example/lol", "UTC", NOW)
    (item,) = feed.items
    assert item.title == "Laughs &lol9;"
    assert item.summary_html is not None and len(item.summary_html) < 100
    assert any("DOCTYPE" in p for p in feed.problems)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def test_external_entities_and_dtds_cause_no_network_access(server: FaultServer) -> None:
    for path in ("/xxe-entity", "/xxe-param", "/xxe-dtd", "/xxe-include"):
        server.route(path, Reply(200, "SECRET-FROM-NETWORK", content_type="text/plain"))
    for name, body in _hostile(server.port).items():
        feed = parse_feed(body, "http://feeds.example/f", "UTC", NOW)
        (item,) = feed.items
        assert "SECRET" not in (item.title or "") + (item.summary_html or ""), name
    assert server.requests() == []


# ---------------------------------------------------------------------------------------------
# Real refreshes: feed listings served on loopback, full text from the article pages
# ---------------------------------------------------------------------------------------------

ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body><nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/about/">About us</a></nav>
<main><article><h1>{title}</h1>
<div class="story">{paras}</div>
<div class="share">Share this story on every network</div>
</article>
<aside class="related"><h2>Related</h2><ul><li><a href="/r/1">Unrelated teaser headline one</a></li>
<li><a href="/r/2">Unrelated teaser headline two</a></li></ul></aside></main>
<footer>Copyright Loopback Harbour News</footer></body></html>"""


def _sentences(n: int) -> list[str]:
    words = ("harbour", "council", "ferry", "bridge", "market", "survey", "tide", "quay")
    return [
        f"Paragraph {i} says the {words[i % 8]} {words[(i * 3) % 8]} plan moves ahead "
        f"after the {words[(i + 5) % 8]} vote, and residents were told about step {i}."
        for i in range(n)
    ]


def _serve_site(server: FaultServer) -> dict[str, list[str]]:
    """Three articles and the same three as RSS, Atom and JSON Feed with teaser content."""
    origin = server.url("")
    bodies: dict[str, list[str]] = {}
    rss_items, atom_entries, json_items = [], [], []
    for n in (1, 2, 3):
        paras = _sentences(4 + n)
        title = f"Harbour story number {n}"
        bodies[f"/news/{n}.html"] = paras
        html = ARTICLE.format(title=title, paras="".join(f"<p>{p}</p>" for p in paras))
        server.route(f"/news/{n}.html", Reply(200, html))
        link = f"{origin}/news/{n}.html"
        teaser = f"Teaser {n} only."
        rss_items.append(
            f"<item><title>{title}</title><link>{link}</link><guid isPermaLink='false'>id-{n}"
            f"</guid><pubDate>Thu, {10 + n} Nov 2026 08:00:00 +0000</pubDate>"
            f"<author>desk@x.example (Desk {n})</author><category>Cat{n}</category>"
            f"<description>{teaser}</description></item>"
        )
        atom_entries.append(
            f"<entry><title>{title}</title><id>tag:x,2026:{n}</id>"
            f"<link rel='alternate' href='{link}'/>"
            f"<updated>2026-11-{10 + n:02d}T08:00:00Z</updated>"
            f"<author><name>Desk {n}</name></author><summary>{teaser}</summary></entry>"
        )
        json_items.append(
            {
                "id": f"id-{n}",
                "url": link,
                "title": title,
                "summary": teaser,
                "date_published": f"2026-11-{10 + n:02d}T08:00:00Z",
                "authors": [{"name": f"Desk {n}"}],
                "tags": [f"Cat{n}"],
            }
        )
    server.route(
        "/feed.rss",
        Reply(
            200,
            f"<?xml version='1.0'?><rss version='2.0'><channel><title>Loop</title>"
            f"{''.join(rss_items)}</channel></rss>",
            content_type="application/rss+xml",
        ),
    )
    server.route(
        "/feed.atom",
        Reply(
            200,
            f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Loop</title>"
            f"<id>urn:loop</id><updated>2026-11-13T08:00:00Z</updated>{''.join(atom_entries)}"
            "</feed>",
            content_type="application/atom+xml",
        ),
    )
    server.route(
        "/feed.json",
        Reply(
            200,
            json.dumps(
                {
                    "version": "https://jsonfeed.org/version/1.1",
                    "title": "Loop",
                    "items": json_items,
                }
            ),
            content_type="application/feed+json",
        ),
    )
    return bodies


SOURCE = """
  - id: {id}
    title: Loop {id}
    listing: {{url: '{url}', type: feed}}
{article}    http: {{min_delay: 0.01, max_concurrency: 2, allow_private: true}}
"""


def _config(tmp: Path, sources: list[tuple[str, str, str]]) -> Config:
    text = f"""
settings:
  output_dir: {tmp / "feeds"}
  state_db: {tmp / "state.sqlite"}
  formats: [atom, json]
  retries: 0
sources:
""" + "".join(SOURCE.format(id=i, url=u, article=a) for i, u, a in sources)
    path = tmp / "feedbridge.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def _refresh_all(config: Config) -> SQLiteStore:
    store = SQLiteStore(config.settings.state_db)
    with HttpClient(config.settings) as client:
        for source in config.sources:
            result = refresh_source(source, config.settings, client, store, now=NOW)
            assert result.ok, result.reason
    return store


SELECTORS = "    article: {body: div.story p}\n"


def test_rss_atom_and_json_feed_sources_get_full_text(server: FaultServer, tmp_path: Path) -> None:
    bodies = _serve_site(server)
    config = _config(
        tmp_path,
        [
            ("rss", server.url("/feed.rss"), SELECTORS),
            ("atom", server.url("/feed.atom"), SELECTORS),
            ("json", server.url("/feed.json"), SELECTORS),
        ],
    )
    store = _refresh_all(config)
    try:
        for sid in ("rss", "atom", "json"):
            entries = {e.url: e for e in store.entries(sid)}
            assert len(entries) == 3, sid
            for n in (1, 2, 3):
                entry = entries[server.url(f"/news/{n}.html")]
                assert entry.title == f"Harbour story number {n}"
                assert entry.published == datetime(2026, 11, 10 + n, 8, 0, tzinfo=UTC)
                assert entry.author == f"Desk {n}"
                assert entry.method == "selectors"
                for para in bodies[f"/news/{n}.html"]:
                    assert para in entry.content_html, (sid, n)
                assert "Teaser" not in entry.content_html
                assert "Share this story" not in entry.content_html
            if sid != "atom":
                assert entries[server.url("/news/2.html")].categories == ("Cat2",)
        assert (config.settings.output_dir / "json.json").exists()
        published = json.loads((config.settings.output_dir / "rss.json").read_text())
        assert "Paragraph 0 says" in published["items"][0]["content_html"]
    finally:
        store.close()
    assert len(server.requests("/feed.rss")) == 1
    assert len(server.requests("/news/1.html")) == 3  # once per source


@pytest.mark.skipif(not HAVE_TRAFILATURA, reason="trafilatura not installed (feedbridge[fulltext])")
def test_feed_source_without_body_selector_uses_generic_extraction(
    server: FaultServer, tmp_path: Path
) -> None:
    bodies = _serve_site(server)
    config = _config(tmp_path, [("atom-generic", server.url("/feed.atom"), "")])
    store = _refresh_all(config)
    try:
        entries = store.entries("atom-generic")
        assert len(entries) == 3
        for entry in entries:
            assert entry.method == "generic"
            path = "/" + entry.url.split("/", 3)[3]
            for para in bodies[path]:
                assert para in entry.content_html
            for junk in ("Unrelated teaser", "About us", "Copyright Loopback", "Teaser "):
                assert junk not in entry.content_html
    finally:
        store.close()


def test_malformed_kcnawatch_feed_is_recovered_in_a_real_refresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    site = KcnaWatchSite(seed=3, count=12)
    with serve(site) as running:
        feed_url = f"{running.url}/newstream/feed/"
        article = (
            "    article:\n      body: div.article-content > p\n"
            "      strip: ['\\s*-0-\\s*$', '^www\\.kcna\\.kp \\(.*\\)$']\n"
        )
        config = _config(tmp_path, [("watch", feed_url, article)])
        with caplog.at_level(logging.WARNING, logger="feedbridge.feeds"):
            store = _refresh_all(config)
        try:
            entries = {e.url: e for e in store.entries("watch")}
        finally:
            store.close()
    listed = site.listed()
    assert entries and len(entries) == min(len(listed), len(entries))
    expected = {canonical_url(a.url(running.url)): a for a in listed}
    for url, entry in entries.items():
        truth = expected[canonical_url(url)]
        assert truth.title == entry.title
        text = html_to_text(entry.content_html)
        assert clean_text(truth.paragraphs[0])[:60] in text
        assert clean_text(truth.paragraphs[-1])[-60:] in text
        assert "More From" not in entry.content_html
    warnings = [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()]
    assert warnings and feed_url in warnings[0] and "unquoted attribute" in warnings[0]


def test_hostile_feed_in_a_real_refresh_makes_no_extra_requests(
    server: FaultServer, tmp_path: Path
) -> None:
    hostile = _hostile(server.port)["external entity"].replace(
        b"http://feeds.example/x", server.url("/news/1.html").encode()
    )
    server.route("/evil.rss", Reply(200, hostile, content_type="application/rss+xml"))
    server.route("/xxe-entity", Reply(200, "SECRET", content_type="text/plain"))
    _serve_site(server)
    config = _config(tmp_path, [("evil", server.url("/evil.rss"), SELECTORS)])
    store = _refresh_all(config)
    try:
        (entry,) = store.entries("evil")
    finally:
        store.close()
    assert "SECRET" not in entry.title and "Paragraph 0 says" in entry.content_html
    assert server.requests("/xxe-entity") == []
