"""publish.py: Atom/RSS/JSON Feed rendering (parsed back with feedparser and checked with
feedcheck) and atomic writes on real files; and feedcheck itself, on hand-broken feeds."""

from __future__ import annotations

import calendar
import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from feedcheck import check_atom, check_json_feed, check_rss
from lxml import etree

from feedbridge.errors import PublishError
from feedbridge.model import Entry, ListingSpec, Settings, Source
from feedbridge.publish import (
    EMPTY_FEED_DATE,
    RENDERERS,
    FeedMeta,
    clean_text,
    entry_iri,
    feed_meta,
    html_to_text,
    publish,
    render_atom,
    render_json,
    render_rss,
    split_author,
    to_uri,
    write_atomic,
)

ATOM = "{http://www.w3.org/2005/Atom}"
T0 = datetime(2026, 7, 19, 12, 30, 15, tzinfo=UTC)
CHECKS: dict[str, Callable[[bytes], list[str]]] = {
    "atom": check_atom,
    "rss": check_rss,
    "json": check_json_feed,
}
NASTY_TITLES = [
    "Kim <Jong> & \"Un\" 'quoted'",
    "CDATA end ]]> inside <![CDATA[ x ]]>",
    "Emoji 🚀🇰🇵 and astral 𝕏",
    "RTL שלום עליכם مرحبا بالعالم mixed",
    "Control\x00chars\x01here\x0b\x0c\x1f\x7f\x85\ufffe end",
    "<b>looks like html</b> &amp; entity",
    "Tab\tand\nnewline   spaces",
]
NASTY_BODIES = [
    "<p>Body &amp; <b>bold</b> &lt;tag&gt; ]]&gt; 😀</p><p>Second paragraph</p>",
    "<p>مرحبا <a href='http://www.kcna.kp/en/a'>link</a> ]]> raw</p>",
    "<p>ctrl\x01\x02 gone\x08</p>",
    "",  # no content: the summary and the link carry the entry
]


def make_meta(**kw: Any) -> FeedMeta:
    base: dict[str, Any] = {
        "source_id": "kcna-latest",
        "title": "KCNA – Latest <news> & more",
        "description": "Latest news from KCNA",
        "language": "en",
        "home_url": "http://www.kcna.kp/en",
        "self_base": "http://127.0.0.1:8080/feeds/",
        "feed_id": "http://127.0.0.1:8080/feeds/kcna-latest.atom",
        "ttl_minutes": 60,
    }
    base.update(kw)
    return FeedMeta(**base)


def make_entries(n: int) -> list[Entry]:
    """``n`` entries, newest first, with nasty text, some edited, some with images."""
    out = []
    for i in range(n):
        published = T0 - timedelta(hours=3 * i, microseconds=123456 * (i % 2))
        url = f"http://www.kcna.kp/en/article/detail/{i:032x}"
        out.append(
            Entry(
                source_id="kcna-latest",
                key=url,
                entry_id=url if i % 5 else f"{i:010d}-{i:09d}",  # some ids are not IRIs
                url=url,
                title=f"{NASTY_TITLES[i % len(NASTY_TITLES)]} #{i}",
                published=published,
                updated=published + timedelta(minutes=10 * (i % 3)),
                content_html=NASTY_BODIES[i % len(NASTY_BODIES)],
                summary="<p>Short <i>summary</i> &amp; more</p>" if i % 4 == 3 else "",
                author=["Kim", "press@kcna.kp (KCNA Press)", None][i % 3],
                categories=("Politics", "Kim Jong Un") if i % 2 else (),
                image=f"http://www.kcna.kp/photo/{i:064x}.jpg" if i % 3 == 0 else None,
            )
        )
    return out


def expected_title(entry: Entry) -> str:
    return re.sub(r"\s+", " ", clean_text(entry.title)).strip()


def expected_id(entry: Entry) -> str:
    return entry_iri(entry.entry_id, entry.source_id)


def ts(dt: datetime) -> int:
    return int(dt.replace(microsecond=0).timestamp())


def parse(data: bytes) -> Any:
    result = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert result.bozo == 0, result.get("bozo_exception")
    return result


def titles(fmt: str, data: bytes) -> list[str]:
    """Entry titles as a reader sees them (feedparser 6.0 does not read JSON Feed)."""
    if fmt == "json":
        return [item["title"] for item in json.loads(data)["items"]]
    return [e.title for e in parse(data).entries]


# ---------------------------------------------------------------------------------------------
# Rendering: round trip through feedparser and the strict checkers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 60])
def test_atom_round_trip(n: int) -> None:
    entries = make_entries(n)
    data = render_atom(make_meta(), entries)
    assert check_atom(data) == []
    feed = parse(data)
    assert feed.version == "atom10"
    assert feed.feed.title == "KCNA – Latest <news> & more"
    assert feed.feed.id == "http://127.0.0.1:8080/feeds/kcna-latest.atom"
    assert feed.feed.language == "en"
    links = {(ln.rel, ln.get("type")): ln.href for ln in feed.feed.links}
    assert links[("self", "application/atom+xml")] == (
        "http://127.0.0.1:8080/feeds/kcna-latest.atom"
    )
    assert links[("alternate", "text/html")] == "http://www.kcna.kp/en"
    assert len(feed.entries) == n
    for entry, got in zip(entries, feed.entries, strict=True):
        assert got.title == expected_title(entry)
        assert got.title_detail.type == "text/plain"
        assert got.id == expected_id(entry)
        assert got.link == entry.url
        assert calendar.timegm(got.published_parsed) == ts(entry.published)
        assert calendar.timegm(got.updated_parsed) == ts(max(entry.updated, entry.published))
        if entry.content_html:
            assert got.content[0].value == clean_text(entry.content_html)
            assert got.content[0].type == "text/html"
        assert got.summary == html_to_text(entry.summary) or html_to_text(entry.content_html)
        assert got.summary_detail.type == "text/plain"
        if entry.author:
            assert got.author_detail.name == split_author(entry.author)[0]
        assert [t.term for t in got.get("tags", [])] == list(entry.categories)
    feed_updated = calendar.timegm(feed.feed.updated_parsed)
    if n:
        assert feed_updated == max(ts(max(e.updated, e.published)) for e in entries)
    else:
        assert feed_updated == ts(EMPTY_FEED_DATE)


@pytest.mark.parametrize("n", [0, 1, 60])
def test_rss_round_trip(n: int) -> None:
    entries = make_entries(n)
    data = render_rss(make_meta(), entries)
    assert check_rss(data) == []
    feed = parse(data)
    assert feed.version == "rss20"
    assert feed.feed.title == "KCNA – Latest <news> & more"
    assert feed.feed.link == "http://www.kcna.kp/en"
    assert feed.feed.description == "Latest news from KCNA"
    assert len(feed.entries) == n
    for entry, got in zip(entries, feed.entries, strict=True):
        assert got.title == expected_title(entry)
        assert got.link == entry.url
        assert got.id == expected_id(entry)
        assert calendar.timegm(got.published_parsed) == ts(entry.published)
        if entry.content_html:
            assert got.description == clean_text(entry.content_html)
        if entry.author:
            assert got.author == split_author(entry.author)[0] or got.author == entry.author
        assert [t.term for t in got.get("tags", [])] == list(entry.categories)


@pytest.mark.parametrize("n", [0, 1, 60])
def test_json_round_trip(n: int) -> None:
    entries = make_entries(n)
    data = render_json(make_meta(), entries)
    assert check_json_feed(data) == []
    assert b"\\u" not in data  # UTF-8, no ASCII escaping
    feed = json.loads(data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "http://127.0.0.1:8080/feeds/kcna-latest.json"
    assert feed["home_page_url"] == "http://www.kcna.kp/en"
    assert feed["language"] == "en"
    assert len(feed["items"]) == n
    for entry, got in zip(entries, feed["items"], strict=True):
        assert got["id"] == expected_id(entry)
        assert got["url"] == entry.url
        assert got["title"] == expected_title(entry)
        assert got.get("content_html", "") == clean_text(entry.content_html)
        assert datetime.fromisoformat(got["date_published"]) == entry.published.replace(
            microsecond=0
        )
        assert got["date_modified"] >= got["date_published"]
        assert got.get("tags", []) == list(entry.categories)


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_rendering_is_deterministic(fmt: str) -> None:
    render = RENDERERS[fmt][1]
    first = render(make_meta(), make_entries(20))
    again = render(make_meta(), [replace(e) for e in make_entries(20)])
    assert first == again
    assert render(make_meta(), []) == render(make_meta(), [])


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_control_characters_are_removed(fmt: str) -> None:
    entry = replace(
        make_entries(1)[0],
        title="a\x00b\x01c\x1fd\ud800e\uffff",
        content_html="<p>x\x02y</p>",
        author="K\x03im",
        categories=("c\x04at",),
    )
    data = RENDERERS[fmt][1](make_meta(title="T\x05itle"), [entry])
    for bad in ("\x00", "\x01", "\x02", "\x03", "\x04", "\x05", "\x1f"):
        assert bad.encode() not in data
    assert CHECKS[fmt](data) == []
    assert titles(fmt, data) == ["abcde"]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_entries_keep_the_given_order(fmt: str) -> None:
    entries = make_entries(5)
    shuffled = [entries[2], entries[0], entries[4], entries[1], entries[3]]
    got = parse(RENDERERS[fmt][1](make_meta(), shuffled)).entries
    assert [e.link for e in got] == [e.url for e in shuffled]
    assert [e.id for e in got] == [expected_id(e) for e in shuffled]
    assert [e.title for e in got] == [expected_title(e) for e in shuffled]


def test_updated_is_never_before_published() -> None:
    entry = replace(make_entries(1)[0], updated=T0 - timedelta(days=2))
    atom = parse(render_atom(make_meta(), [entry])).entries[0]
    assert atom.updated_parsed == atom.published_parsed
    item = json.loads(render_json(make_meta(), [entry]))["items"][0]
    assert item["date_modified"] == item["date_published"]


def test_empty_feed_has_a_fixed_date_not_now() -> None:
    root = etree.fromstring(render_atom(make_meta(), []))
    assert root.findtext(f"{ATOM}updated") == "2000-01-01T00:00:00+00:00"
    rss = etree.fromstring(render_rss(make_meta(), []))
    assert rss.findtext("channel/lastBuildDate") == "Sat, 01 Jan 2000 00:00:00 GMT"


def test_atom_entry_links_keep_rel_and_type_with_an_image() -> None:
    """feedgen issue #135: with an enclosure, entry links lost rel/type (duplicate alternates)."""
    jpeg = replace(make_entries(1)[0], image="http://www.kcna.kp/photo/a.JPG")
    untyped = replace(
        make_entries(2)[1], image="http://www.kcna.kp/photo/" + "ab" * 32, categories=()
    )
    root = etree.fromstring(render_atom(make_meta(), [jpeg, untyped]))
    entries = root.findall(f"{ATOM}entry")
    links = [[dict(ln.attrib) for ln in e.findall(f"{ATOM}link")] for e in entries]
    assert links[0] == [
        {"rel": "alternate", "type": "text/html", "href": jpeg.url},
        {"rel": "enclosure", "href": "http://www.kcna.kp/photo/a.JPG", "type": "image/jpeg"},
    ]
    assert links[1][1] == {"rel": "enclosure", "href": untyped.image}
    rss = etree.fromstring(render_rss(make_meta(), [jpeg, untyped]))
    encl = [i.find("enclosure") for i in rss.findall("channel/item")]
    assert encl[0].attrib == {"url": jpeg.image, "length": "0", "type": "image/jpeg"}
    assert encl[1] is None  # RSS requires a type; none is guessed for an extensionless URL


def test_rss_channel_link_guid_author_and_dates() -> None:
    e0, e1, e2 = make_entries(3)
    e1 = replace(e1, author="press@kcna.kp (KCNA Press)")
    e2 = replace(e2, author="Choe Son Hui")
    root = etree.fromstring(render_rss(make_meta(), [e0, e1, e2]))
    channel = root.find("channel")
    assert channel.findtext("link") == "http://www.kcna.kp/en"  # the alternate, not self
    self_link = channel.find(f"{ATOM}link")
    assert self_link.attrib == {
        "href": "http://127.0.0.1:8080/feeds/kcna-latest.rss",
        "rel": "self",
        "type": "application/rss+xml",
    }
    assert channel.findtext("ttl") == "60"
    items = channel.findall("item")
    assert items[0].find("guid").get("isPermaLink") == "false"  # a urn: id
    assert items[1].find("guid").get("isPermaLink") == "true"  # the URL itself
    assert items[1].findtext("author") == "press@kcna.kp (KCNA Press)"
    assert items[2].findtext("author") is None
    assert items[2].findtext("{http://purl.org/dc/elements/1.1/}creator") == "Choe Son Hui"
    for item in items:
        assert item.findtext("pubDate").endswith(" GMT")


def test_rss_escapes_plain_text_with_hex_references() -> None:
    entry = replace(make_entries(1)[0], title="A < B & C")
    data = render_rss(make_meta(title="X & Y"), [entry])
    assert b"<title>A &#x3C; B &#x26; C</title>" in data
    assert b"<title>X &#x26; Y</title>" in data
    assert parse(data).entries[0].title == "A < B & C"


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_entry_without_url_title_or_content_is_still_valid(fmt: str) -> None:
    bare = replace(
        make_entries(1)[0], url="", content_html="", title="", summary="", entry_id="x y"
    )
    data = RENDERERS[fmt][1](make_meta(), [bare])
    assert CHECKS[fmt](data) == []
    assert titles(fmt, data) == ["x y"]


def test_duplicate_ids_are_left_out() -> None:
    e = make_entries(2)
    dup = replace(e[1], entry_id=e[0].entry_id, title="dup")
    for fmt, (_, render) in RENDERERS.items():
        data = render(make_meta(), [e[0], dup])
        assert CHECKS[fmt](data) == [], fmt
        assert titles(fmt, data) == [expected_title(e[0])]


def test_entry_ids_become_valid_iris() -> None:
    assert entry_iri("http://x.org/a b", "s") == "http://x.org/a%20b"
    assert entry_iri("http://x.org/한", "s") == "http://x.org/%ED%95%9C"
    assert entry_iri("1234567890-123456789", "kcna") == "urn:feedbridge:kcna:1234567890-123456789"
    assert entry_iri("title|2026-07-19 ~x", "s") == "urn:feedbridge:s:title%7C2026-07-19%20%7Ex"
    assert to_uri("http://bücher.de/x?q=1%zz") == "http://xn--bcher-kva.de/x?q=1%25zz"
    assert to_uri("http://x.org/a%20b") == "http://x.org/a%20b"  # idempotent


def test_summary_is_plain_text_and_short() -> None:
    html = "<p>One</p><p>Two<br>three</p><script>evil()</script>" + "<p>word </p>" * 200
    text = html_to_text(html)
    assert text.startswith("One Two three word")
    assert "evil" not in text and "<" not in text
    assert len(text) <= 300 and text.endswith("…")
    entry = replace(make_entries(1)[0], summary="", content_html=html)
    root = etree.fromstring(render_atom(make_meta(), [entry]))
    summary = root.find(f"{ATOM}entry/{ATOM}summary")
    assert summary.get("type") == "text" and summary.text == text


def test_split_author_forms() -> None:
    assert split_author("a@b.org (Al B)") == ("Al B", "a@b.org")
    assert split_author("Al B <a@b.org>") == ("Al B", "a@b.org")
    assert split_author("a@b.org") == ("a@b.org", "a@b.org")
    assert split_author("  Kim   Jong ") == ("Kim Jong", None)
    assert split_author(None) == (None, None)


def test_feed_meta_from_source_and_settings() -> None:
    source = Source(
        id="kcna-latest",
        title="KCNA",
        listing=ListingSpec(urls=("http://www.kcna.kp/en/article/list/a666",)),
    )
    meta = feed_meta(source, Settings(base_url="https://feeds.example.org/f"))
    assert meta.self_base == "https://feeds.example.org/f/"
    assert meta.feed_id == "https://feeds.example.org/f/kcna-latest.atom"
    assert meta.home_url == "http://www.kcna.kp/en/article/list/a666"
    assert meta.ttl_minutes == 60
    # RSS needs a non-empty description even when the source has none.
    channel = etree.fromstring(render_rss(meta, [])).find("channel")
    assert channel.findtext("description")
    assert check_rss(render_rss(meta, [])) == []


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def test_write_atomic_writes_skips_unchanged_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "f.atom"
    assert write_atomic(path, b"one") is True
    assert path.read_bytes() == b"one"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    assert write_atomic(path, b"one") is False
    assert path.stat().st_mtime_ns == 1_000_000_000_000_000_000
    assert write_atomic(path, b"two") is True
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.atom"]


def test_write_atomic_crash_before_rename_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.rss"
    path.write_bytes(b"old")

    def crash(src: str, dst: str) -> None:
        assert Path(src).read_bytes() == b"new"  # the data was written before the rename
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(PublishError, match="f.rss"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.rss"]


def test_publish_writes_changed_formats_only(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    entries = make_entries(3)
    written = publish(make_meta(), entries, out, ["atom", "rss", "json"])
    names = ["kcna-latest.atom", "kcna-latest.rss", "kcna-latest.json"]
    assert [p.name for p in written] == names
    assert check_atom((out / names[0]).read_bytes()) == []
    assert check_rss((out / names[1]).read_bytes()) == []
    assert check_json_feed((out / names[2]).read_bytes()) == []
    assert publish(make_meta(), entries, out, ["atom", "rss", "json"]) == []
    changed = [replace(entries[0], title="new title"), *entries[1:]]
    assert len(publish(make_meta(), changed, out, ["atom", "rss"])) == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


def test_publish_unknown_format_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="'opml'"):
        publish(make_meta(), make_entries(1), tmp_path / "o", ["atom", "opml"])
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------------------------------
# feedcheck: every rule catches a hand-broken feed
# ---------------------------------------------------------------------------------------------

GOOD_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>http://example.org/f.atom</id>
  <title type="text">Feed</title>
  <updated>2026-07-19T00:00:00Z</updated>
  <author><name>Feed</name></author>
  <link rel="self" type="application/atom+xml" href="http://example.org/f.atom"/>
  <link rel="alternate" type="text/html" href="http://example.org/"/>
  <subtitle>Sub</subtitle>
  <entry>
    <id>http://example.org/1</id>
    <title type="text">One</title>
    <link rel="alternate" type="text/html" href="http://example.org/1"/>
    <link rel="enclosure" type="image/png" href="http://example.org/1.png"/>
    <published>2026-07-17T12:00:00Z</published>
    <updated>2026-07-18T01:00:00+09:00</updated>
    <summary type="text">S</summary>
    <content type="html">&lt;p&gt;x&lt;/p&gt;</content>
    <category term="c"/>
  </entry>
  <entry>
    <id>urn:feedbridge:s:2</id>
    <title>Two</title>
    <link href="http://example.org/2"/>
    <updated>2026-07-17T00:00:00Z</updated>
  </entry>
</feed>
"""

ATOM_BREAKS = [
    ("not well-formed", "<title>Two</title>", "<title>Two</titel>"),
    ("XML declaration", '<?xml version="1.0" encoding="utf-8"?>', ""),
    ("not Atom", 'xmlns="http://www.w3.org/2005/Atom"', 'xmlns="http://purl.org/atom/ns#"'),
    ("not a language tag", 'xml:lang="en"', 'xml:lang="en us"'),
    ("2 <id>", "<id>http://example.org/f.atom</id>", "<id>urn:a:b</id><id>urn:a:c</id>"),
    ("0 <title>", '<title type="text">Feed</title>', ""),
    ("0 <updated>", "<updated>2026-07-17T00:00:00Z</updated>", ""),
    ("not an absolute IRI", "<id>http://example.org/1</id>", "<id>1</id>"),
    ("not an absolute IRI", "<id>http://example.org/1</id>", "<id>http://example.org/a b</id>"),
    ("not an RFC 3339", "2026-07-17T00:00:00Z", "2026-07-17 00:00:00"),
    ("not an RFC 3339", "2026-07-17T00:00:00Z", "2026-07-17T00:00:00"),
    ("not an RFC 3339", "<published>2026-07-17T12:00:00Z", "<published>Fri, 17 Jul 2026"),
    ("no <link rel='self'>", 'rel="self" type', 'rel="related" type'),
    ("self link type", 'type="application/atom+xml"', 'type="application/rss+xml"'),
    ("no <author>", "<author><name>Feed</name></author>", ""),
    (
        "without a <name>",
        "<author><name>Feed</name></author>",
        "<author><uri>urn:x:y</uri></author>",
    ),
    ("duplicate alternate", 'rel="enclosure" type="image/png"', 'rel="alternate" type="text/html"'),
    (
        "duplicate alternate",
        '<link href="http://example.org/2"/>',
        '<link href="http://example.org/2"/><link href="http://example.org/3"/>',
    ),
    ("not a media type", 'type="image/png"', 'type="png"'),
    ("href", 'href="http://example.org/1.png"', 'href="1.png"'),
    ("is not text, html or xhtml", '<title type="text">One', '<title type="CDATA">One'),
    ("<content> type", '<content type="html">', '<content type="CDATA">'),
    (
        "holds child elements",
        '<summary type="text">S</summary>',
        '<summary type="text"><b>S</b></summary>',
    ),
    ("holds child elements", "&lt;p&gt;x&lt;/p&gt;", "<p>x</p>"),
    ("xhtml <div>", '<summary type="text">S</summary>', '<summary type="xhtml">S</summary>'),
    (
        "no <content> and no alternate",
        '<link href="http://example.org/2"/>',
        '<link rel="related" href="http://example.org/2"/>',
    ),
    ("<updated> is before <published>", "2026-07-18T01:00:00+09:00", "2026-07-17T11:00:00Z"),
    ("more than one <content>", "<content type", "<content>a</content><content type"),
    (
        "more than one <subtitle>",
        "<subtitle>Sub</subtitle>",
        "<subtitle>a</subtitle><subtitle>b</subtitle>",
    ),
    (
        "<description> is not an Atom element",
        "<subtitle>Sub</subtitle>",
        "<description>x</description>",
    ),
    ("same id as entry 1", "<id>urn:feedbridge:s:2</id>", "<id>http://example.org/1</id>"),
    ("without a term", '<category term="c"/>', '<category label="c"/>'),
    ("empty <title>", "<title>Two</title>", "<title> </title>"),
    ("<content src> without a <summary>", '<summary type="text">S</summary>', ""),
]


def test_good_atom_is_clean() -> None:
    assert check_atom(GOOD_ATOM.encode()) == []


@pytest.mark.parametrize(("problem", "old", "new"), ATOM_BREAKS)
def test_check_atom_catches(problem: str, old: str, new: str) -> None:
    assert old in GOOD_ATOM
    broken = GOOD_ATOM.replace(old, new, 1)
    if problem.startswith("<content src>"):
        broken = broken.replace(
            '<content type="html">&lt;p&gt;x&lt;/p&gt;</content>',
            '<content src="http://example.org/c" type="text/html"/>',
        )
    problems = check_atom(broken.encode())
    assert any(problem in p for p in problems), problems


GOOD_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Feed</title>
    <link>http://example.org/</link>
    <description>Desc</description>
    <atom:link href="http://example.org/f.rss" rel="self" type="application/rss+xml"/>
    <language>en-us</language>
    <lastBuildDate>Sun, 19 Jul 2026 00:00:00 GMT</lastBuildDate>
    <ttl>60</ttl>
    <item>
      <title>One</title>
      <link>http://example.org/1</link>
      <description>&lt;p&gt;x&lt;/p&gt;</description>
      <guid isPermaLink="true">http://example.org/1</guid>
      <pubDate>Sat, 18 Jul 2026 09:00:00 +0900</pubDate>
      <author>a@example.org (A)</author>
      <category>c</category>
      <enclosure url="http://example.org/1.png" length="0" type="image/png"/>
    </item>
    <item>
      <title>Two</title>
      <guid isPermaLink="false">urn:feedbridge:s:2</guid>
      <dc:creator>Kim</dc:creator>
    </item>
  </channel>
</rss>
"""

RSS_BREAKS = [
    ("not well-formed", "<title>Two</title>", "<title>Two & three</title>"),
    ("not RSS 2.0", 'version="2.0"', 'version="0.91"'),
    ("<channel> elements", "</channel>", "</channel><channel/>"),
    ("empty <description>", "<description>Desc</description>", "<description> </description>"),
    ("missing or empty <title>", "<title>Feed</title>", ""),
    ("missing or empty <link>", "<link>http://example.org/</link>", ""),
    ("not an absolute http(s) URL", "<link>http://example.org/</link>", "<link>/home</link>"),
    (
        "not an absolute http(s) URL",
        "<link>http://example.org/1</link>",
        "<link>http://example.org/한</link>",
    ),
    ("not an RFC 822 date", "Sun, 19 Jul 2026", "2026-07-19T00:00:00Z"),
    ("not an RFC 822 date", "Sun, 19 Jul 2026", "Mon, 19 Jul 2026"),
    ("not an RFC 822 date", "Sat, 18 Jul 2026 09:00:00 +0900", "Sat, 18 Jul 26 09:00:00 +0900"),
    ("not an RFC 822 date", "Sat, 18 Jul 2026 09:00:00 +0900", "Sat, 18 Jul 2026 09:00:00 KST"),
    ("not a language tag", "<language>en-us</language>", "<language>en_US</language>"),
    ("not a number of minutes", "<ttl>60</ttl>", "<ttl>hourly</ttl>"),
    ("no <atom:link rel='self'>", 'rel="self"', 'rel="alternate"'),
    ("self type", 'type="application/rss+xml"', 'type="application/atom+xml"'),
    ("self href", 'href="http://example.org/f.rss"', 'href="f.rss"'),
    ("neither <title> nor <description>", "<title>Two</title>", ""),
    ("holds child elements", "&lt;p&gt;x&lt;/p&gt;", "<p>x</p>"),
    ("permalink guid", '<guid isPermaLink="false">', "<guid>"),
    ("isPermaLink", 'isPermaLink="false"', 'isPermaLink="no"'),
    ("empty <guid>", "urn:feedbridge:s:2</guid>", "</guid>"),
    ("is not 'email (name)'", "<author>a@example.org (A)</author>", "<author>A</author>"),
    ("enclosure> length", 'length="0"', 'length="unknown"'),
    ("enclosure> type", 'type="image/png"', 'type=""'),
    ("enclosure> url", 'url="http://example.org/1.png"', 'url="1.png"'),
    (
        "more than one <enclosure>",
        "<enclosure",
        '<enclosure url="http://example.org/2.png" length="0" type="image/png"/><enclosure',
    ),
    ("more than one <title>", "<title>Two</title>", "<title>Two</title><title>2</title>"),
    (
        "<creator> is not an RSS 2.0 element",
        "<dc:creator>Kim</dc:creator>",
        "<creator>Kim</creator>",
    ),
    ("empty <category>", "<category>c</category>", "<category></category>"),
    ("same guid", "urn:feedbridge:s:2", "http://example.org/1"),
]


def test_good_rss_is_clean() -> None:
    assert check_rss(GOOD_RSS.encode()) == []


@pytest.mark.parametrize(("problem", "old", "new"), RSS_BREAKS)
def test_check_rss_catches(problem: str, old: str, new: str) -> None:
    assert old in GOOD_RSS
    problems = check_rss(GOOD_RSS.replace(old, new, 1).encode())
    assert any(problem in p for p in problems), problems


GOOD_JSON: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Feed",
    "home_page_url": "http://example.org/",
    "feed_url": "http://example.org/f.json",
    "language": "en",
    "items": [
        {
            "id": "http://example.org/1",
            "url": "http://example.org/1",
            "title": "One",
            "content_html": "<p>x</p>",
            "date_published": "2026-07-18T00:00:00Z",
            "date_modified": "2026-07-18T01:00:00Z",
            "authors": [{"name": "A"}],
            "tags": ["c"],
            "image": "http://example.org/1.png",
        },
        {"id": "urn:feedbridge:s:2", "content_text": "", "_ext": {"any": 1}},
    ],
}


def _broken_json(path: tuple[Any, ...], value: Any) -> bytes:
    """GOOD_JSON with the key at ``path`` set to ``value`` (deleted when value is ...)."""
    doc = json.loads(json.dumps(GOOD_JSON))
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc).encode()


JSON_BREAKS = [
    ("is not JSON Feed 1.1", ("version",), "https://jsonfeed.org/version/1"),
    ("title missing", ("title",), ...),
    ("home_page_url", ("home_page_url",), "/"),
    ("language", ("language",), "en us"),
    ("unknown key 'link'", ("link",), "http://example.org/"),
    ("items missing", ("items",), ...),
    ("id missing", ("items", 0, "id"), ...),
    ("id missing", ("items", 0, "id"), 1),
    ("neither content_html nor content_text", ("items", 1, "content_text"), ...),
    ("url", ("items", 0, "url"), "1.html"),
    ("image", ("items", 0, "image"), "a b"),
    ("date_published", ("items", 0, "date_published"), "Sat, 18 Jul 2026 00:00:00 GMT"),
    ("date_modified is before", ("items", 0, "date_modified"), "2026-07-17T00:00:00Z"),
    ("authors is not an array", ("items", 0, "authors"), {"name": "A"}),
    ("has none of name", ("items", 0, "authors"), [{"email": "a@b.c"}]),
    ("JSON Feed 1.0", ("items", 0, "author"), {"name": "A"}),
    ("tags", ("items", 0, "tags"), "c"),
    ("same id", ("items", 1, "id"), "http://example.org/1"),
    ("title is not a string", ("items", 0, "title"), 5),
    ("control characters", ("items", 0, "title"), "a\x01b"),
]


def test_good_json_feed_is_clean() -> None:
    assert check_json_feed(json.dumps(GOOD_JSON).encode()) == []


@pytest.mark.parametrize(("problem", "path", "value"), JSON_BREAKS)
def test_check_json_feed_catches(problem: str, path: tuple[Any, ...], value: Any) -> None:
    problems = check_json_feed(_broken_json(path, value))
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("data", "problem"),
    [(b"\xff{}", "not UTF-8"), (b"{'a': 1}", "not JSON"), (b"[]", "not an object")],
)
def test_check_json_feed_rejects_non_feeds(data: bytes, problem: str) -> None:
    assert any(problem in p for p in check_json_feed(data))


def test_stale_temp_files_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    import os

    from feedbridge.publish import remove_stale_temps

    target = tmp_path / "src.atom"
    old = tmp_path / ".src.atom.abc123.tmp"
    young = tmp_path / ".src.atom.def456.tmp"
    other = tmp_path / ".other.atom.zzz.tmp"
    for p in (old, young, other):
        p.write_bytes(b"partial")
    os.utime(old, (1, 1))
    os.utime(other, (1, 1))
    assert remove_stale_temps(target) == 1
    assert not old.exists() and young.exists() and other.exists()
