"""Strict checkers for the feeds feedbridge writes: Atom 1.0 (RFC 4287), RSS 2.0, JSON Feed 1.1.

Each checker takes the raw bytes and returns a list of problems, one readable line each;
an empty list means the feed is valid. They are stricter than the specs where feedbridge
promises more (a self link, GMT-or-offset RFC 822 dates, no duplicate ids) and looser where a
full validator needs the network. Used by tests across the project:

    from feedcheck import check_atom, check_json_feed, check_rss  # tests/ is on sys.path
    assert check_atom(xml) == []
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
A = f"{{{ATOM}}}"

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_RFC822 = re.compile(
    r"^(?:(?P<dow>Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}(?::\d{2})? "
    r"(?:UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|[+-]\d{4})$"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_IRI_BAD = re.compile(r"[\x00-\x20<>\"{}|\\^`\x7f-\x9f]|%(?![0-9A-Fa-f]{2})")
_LANG = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_EMAIL = r"[^\s@()<>]+@[^\s@()<>]+\.[^\s@()<>]+"
_RSS_AUTHOR = re.compile(rf"^{_EMAIL}( \([^()]+\))?$")
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_XML_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_ATOM_TEXT_TYPES = ("text", "html", "xhtml")
_ATOM_FEED_CHILDREN = {
    "author", "category", "contributor", "generator", "icon", "id", "link", "logo", "rights",
    "subtitle", "title", "updated", "entry",
}  # fmt: skip
_ATOM_ENTRY_CHILDREN = {
    "author", "category", "content", "contributor", "id", "link", "published", "rights",
    "source", "summary", "title", "updated",
}  # fmt: skip
_ATOM_FEED_ONCE = ("generator", "icon", "logo", "rights", "subtitle")
_ATOM_ENTRY_ONCE = ("content", "published", "rights", "source", "summary")

_RSS_CHANNEL_CHILDREN = {
    "title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
    "pubDate", "lastBuildDate", "category", "generator", "docs", "cloud", "ttl", "image",
    "rating", "textInput", "skipHours", "skipDays", "item",
}  # fmt: skip
_RSS_ITEM_CHILDREN = {
    "title", "link", "description", "author", "category", "comments", "enclosure", "guid",
    "pubDate", "source",
}  # fmt: skip
_RSS_CHANNEL_ONCE = (
    "title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
    "pubDate", "lastBuildDate", "generator", "docs", "cloud", "ttl", "image", "rating",
    "textInput", "skipHours", "skipDays",
)  # fmt: skip
_RSS_ITEM_ONCE = (
    "title", "link", "description", "author", "comments", "enclosure", "guid", "pubDate",
    "source",
)  # fmt: skip

_JSON_TOP = {
    "version", "title", "home_page_url", "feed_url", "description", "user_comment",
    "next_url", "icon", "favicon", "authors", "language", "expired", "hubs", "items",
}  # fmt: skip
_JSON_ITEM = {
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "image",
    "banner_image",
    "date_published",
    "date_modified",
    "authors",
    "tags",
    "language",
    "attachments",
    "author",
}  # fmt: skip (``author`` is known, and reported as JSON Feed 1.0)


# ---------------------------------------------------------------------------------------------
# Shared value checks
# ---------------------------------------------------------------------------------------------


def is_iri(value: str) -> bool:
    """An absolute IRI (RFC 3987): a scheme, no spaces/controls/delimiters, sound %-escapes;
    http(s) IRIs must have a host."""
    if not _SCHEME.match(value) or _IRI_BAD.search(value):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() not in ("http", "https") or bool(parts.netloc)


def is_http_url(value: str) -> bool:
    """An absolute http(s) URL in ASCII (RSS 2.0 links are URLs, not IRIs)."""
    return value.isascii() and is_iri(value) and value.lower().startswith(("http://", "https://"))


def parse_rfc3339(value: str) -> datetime | None:
    """The datetime of an RFC 3339 timestamp with an offset, or None if it is not one."""
    if not _RFC3339.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_rfc822(value: str) -> datetime | None:
    """The datetime of an RFC 822 date (4-digit year, named or numeric zone, right weekday)."""
    m = _RFC822.match(value)
    if not m:
        return None
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if m.group("dow") and _DAYS[dt.weekday()] != m.group("dow"):
        return None
    return dt


def _parse_xml(xml: bytes, problems: list[str]) -> Any:
    """The root element, or None after recording why the bytes are not well-formed XML."""
    if not xml.lstrip().startswith(b"<?xml"):
        problems.append("no XML declaration")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as e:
        problems.append(f"not well-formed XML: {e}")
        return None


def _once(parent: Any, names: Iterable[str], where: str, ns: str = "") -> list[str]:
    """Problems for child elements that may appear at most once."""
    return [f"{where}: more than one <{n}>" for n in names if len(parent.findall(f"{ns}{n}")) > 1]


def _text(el: Any) -> str:
    return "".join(el.itertext()) if el is not None else ""


# ---------------------------------------------------------------------------------------------
# Atom
# ---------------------------------------------------------------------------------------------


def check_atom(xml: bytes) -> list[str]:
    """Problems of an Atom 1.0 document against RFC 4287 (plus feedbridge's self link)."""
    problems: list[str] = []
    root = _parse_xml(xml, problems)
    if root is None:
        return problems
    if root.tag != f"{A}feed":
        return problems + [f"root element is {root.tag}, not Atom <feed>"]
    lang = root.get(XML_LANG)
    if lang is not None and not _LANG.match(lang):
        problems.append(f"feed: xml:lang {lang!r} is not a language tag")
    problems += _atom_common(root, "feed", _ATOM_FEED_CHILDREN)
    problems += _once(root, _ATOM_FEED_ONCE, "feed", A)
    for n in ("subtitle", "rights"):
        for el in root.findall(f"{A}{n}"):
            problems += _atom_text_construct(el, f"feed <{n}>")
    selfs = [ln for ln in root.findall(f"{A}link") if ln.get("rel") == "self"]
    if not selfs:
        problems.append("feed: no <link rel='self'>")
    for ln in selfs:
        if ln.get("type") != "application/atom+xml":
            problems.append("feed: self link type is not application/atom+xml")
    feed_has_author = root.find(f"{A}author") is not None
    seen: dict[str, int] = {}
    for i, entry in enumerate(root.findall(f"{A}entry")):
        where = f"entry {i + 1}"
        problems += _atom_entry(entry, where, feed_has_author)
        # RFC 4287 allows one id twice with different <updated>; feedbridge never does that.
        ident = _text(entry.find(f"{A}id")).strip()
        if ident in seen:
            problems.append(f"{where}: same id as entry {seen[ident]}: {ident}")
        seen.setdefault(ident, i + 1)
    return problems


def _atom_common(el: Any, where: str, allowed: set[str]) -> list[str]:
    """Checks shared by <feed> and <entry>: id, title, updated, links, categories, authors."""
    problems: list[str] = []
    for child in el:
        if isinstance(child.tag, str) and child.tag.startswith(A):
            name = child.tag[len(A) :]
            if name not in allowed:
                problems.append(f"{where}: <{name}> is not an Atom element here")
    for name in ("id", "title", "updated"):
        count = len(el.findall(f"{A}{name}"))
        if count != 1:
            problems.append(f"{where}: {count} <{name}> elements, need exactly 1")
    ident = el.find(f"{A}id")
    if ident is not None and not is_iri(_text(ident).strip()):
        problems.append(f"{where}: id {_text(ident)!r} is not an absolute IRI")
    title = el.find(f"{A}title")
    if title is not None:
        problems += _atom_text_construct(title, f"{where} <title>")
        if not _text(title).strip():
            problems.append(f"{where}: empty <title>")
    for name in ("updated", "published"):
        for d in el.findall(f"{A}{name}"):
            if parse_rfc3339(_text(d).strip()) is None:
                problems.append(f"{where}: <{name}> {_text(d)!r} is not an RFC 3339 date-time")
    problems += _atom_links(el, where)
    for cat in el.findall(f"{A}category"):
        if not (cat.get("term") or "").strip():
            problems.append(f"{where}: <category> without a term")
    for person in el.findall(f"{A}author") + el.findall(f"{A}contributor"):
        if not _text(person.find(f"{A}name")).strip():
            problems.append(f"{where}: <{person.tag[len(A) :]}> without a <name>")
    return problems


def _atom_links(el: Any, where: str) -> list[str]:
    """Links need an IRI href; one alternate per (type, hreflang); types are MIME types."""
    problems: list[str] = []
    alternates: set[tuple[str | None, str | None]] = set()
    for ln in el.findall(f"{A}link"):
        href = ln.get("href")
        if not href or not is_iri(href):
            problems.append(f"{where}: <link> href {href!r} is not an absolute IRI")
        typ = ln.get("type")
        if typ is not None and not _MIME.match(typ):
            problems.append(f"{where}: <link> type {typ!r} is not a media type")
        if ln.get("rel", "alternate") == "alternate":
            key = (typ, ln.get("hreflang"))
            if key in alternates:
                problems.append(f"{where}: duplicate alternate link for type {typ!r}")
            alternates.add(key)
    return problems


def _atom_text_construct(el: Any, where: str) -> list[str]:
    """type is text/html/xhtml; text and html hold no child elements; xhtml holds one div."""
    typ = el.get("type", "text")
    if typ not in _ATOM_TEXT_TYPES:
        return [f"{where}: type {typ!r} is not text, html or xhtml"]
    children = [c for c in el if isinstance(c.tag, str)]
    if typ in ("text", "html") and children:
        return [f"{where}: type {typ} holds child elements (unescaped markup)"]
    if typ == "xhtml" and (
        len(children) != 1 or children[0].tag != "{http://www.w3.org/1999/xhtml}div"
    ):
        return [f"{where}: type xhtml must hold exactly one xhtml <div>"]
    return []


def _atom_entry(entry: Any, where: str, feed_has_author: bool) -> list[str]:
    """One entry: common checks, content/summary rules, updated ≥ published, author."""
    problems = _atom_common(entry, where, _ATOM_ENTRY_CHILDREN)
    problems += _once(entry, _ATOM_ENTRY_ONCE, where, A)
    content = entry.find(f"{A}content")
    if content is not None:
        typ = content.get("type", "text")
        if typ not in _ATOM_TEXT_TYPES and not _MIME.match(typ):
            problems.append(f"{where}: <content> type {typ!r} is not text/html/xhtml/MIME")
        elif typ in _ATOM_TEXT_TYPES:
            problems += _atom_text_construct(content, f"{where} <content>")
        if content.get("src") is not None and entry.find(f"{A}summary") is None:
            problems.append(f"{where}: <content src> without a <summary>")
    else:
        rels = [ln.get("rel", "alternate") for ln in entry.findall(f"{A}link")]
        if "alternate" not in rels:
            problems.append(f"{where}: no <content> and no alternate link")
    for s in entry.findall(f"{A}summary"):
        problems += _atom_text_construct(s, f"{where} <summary>")
    if not feed_has_author and entry.find(f"{A}author") is None:
        problems.append(f"{where}: no <author> and the feed has none")
    updated = parse_rfc3339(_text(entry.find(f"{A}updated")).strip())
    published = parse_rfc3339(_text(entry.find(f"{A}published")).strip())
    if updated and published and updated < published:
        problems.append(f"{where}: <updated> is before <published>")
    return problems


# ---------------------------------------------------------------------------------------------
# RSS 2.0
# ---------------------------------------------------------------------------------------------


def check_rss(xml: bytes) -> list[str]:
    """Problems of an RSS 2.0 document (the RSS Advisory Board spec, plus an atom:link self)."""
    problems: list[str] = []
    root = _parse_xml(xml, problems)
    if root is None:
        return problems
    if root.tag != "rss" or root.get("version") != "2.0":
        return problems + [f"root is <{root.tag} version={root.get('version')!r}>, not RSS 2.0"]
    channels = root.findall("channel")
    if len(channels) != 1:
        return problems + [f"{len(channels)} <channel> elements, need exactly 1"]
    channel = channels[0]
    problems += _rss_channel(channel)
    guids: dict[str, int] = {}
    for i, item in enumerate(channel.findall("item")):
        where = f"item {i + 1}"
        problems += _rss_item(item, where)
        guid = _text(item.find("guid")).strip()
        if guid and guid in guids:
            problems.append(f"{where}: same guid as item {guids[guid]}: {guid}")
        guids.setdefault(guid, i + 1)
    return problems


def _rss_unknown(el: Any, allowed: set[str], where: str) -> list[str]:
    """Un-namespaced children must be RSS 2.0 elements (extensions need a namespace)."""
    return [
        f"{where}: <{c.tag}> is not an RSS 2.0 element"
        for c in el
        if isinstance(c.tag, str) and not c.tag.startswith("{") and c.tag not in allowed
    ]


def _rss_channel(channel: Any) -> list[str]:
    """Required title/link/description, dates, language, ttl, the atom:link self."""
    problems = _rss_unknown(channel, _RSS_CHANNEL_CHILDREN, "channel")
    problems += _once(channel, _RSS_CHANNEL_ONCE, "channel")
    for name in ("title", "link", "description"):
        if not _text(channel.find(name)).strip():
            problems.append(f"channel: missing or empty <{name}>")
    link = _text(channel.find("link")).strip()
    if link and not is_http_url(link):
        problems.append(f"channel: <link> {link!r} is not an absolute http(s) URL")
    for name in ("pubDate", "lastBuildDate"):
        for d in channel.findall(name):
            if parse_rfc822(_text(d).strip()) is None:
                problems.append(f"channel: <{name}> {_text(d)!r} is not an RFC 822 date")
    lang = channel.find("language")
    if lang is not None and not _LANG.match(_text(lang).strip()):
        problems.append(f"channel: <language> {_text(lang)!r} is not a language tag")
    ttl = channel.find("ttl")
    if ttl is not None and not _text(ttl).strip().isdigit():
        problems.append(f"channel: <ttl> {_text(ttl)!r} is not a number of minutes")
    selfs = [ln for ln in channel.findall(f"{A}link") if ln.get("rel") == "self"]
    if not selfs:
        problems.append("channel: no <atom:link rel='self'>")
    for ln in selfs:
        if not is_http_url(ln.get("href") or ""):
            problems.append("channel: atom:link self href is not an http(s) URL")
        if ln.get("type") != "application/rss+xml":
            problems.append("channel: atom:link self type is not application/rss+xml")
    return problems


def _rss_item(item: Any, where: str) -> list[str]:
    """Title or description; link/guid/author/enclosure/pubDate/category forms."""
    problems = _rss_unknown(item, _RSS_ITEM_CHILDREN, where)
    problems += _once(item, _RSS_ITEM_ONCE, where)
    if not _text(item.find("title")).strip() and not _text(item.find("description")).strip():
        problems.append(f"{where}: neither <title> nor <description>")
    for name in ("title", "description"):
        el = item.find(name)
        if el is not None and any(isinstance(c.tag, str) for c in el):
            problems.append(f"{where}: <{name}> holds child elements (unescaped markup)")
    link = item.find("link")
    if link is not None and not is_http_url(_text(link).strip()):
        problems.append(f"{where}: <link> {_text(link)!r} is not an absolute http(s) URL")
    guid = item.find("guid")
    if guid is not None:
        value = _text(guid).strip()
        permalink = guid.get("isPermaLink", "true")
        if permalink not in ("true", "false"):
            problems.append(f"{where}: guid isPermaLink={permalink!r}")
        if not value:
            problems.append(f"{where}: empty <guid>")
        elif permalink == "true" and not is_http_url(value):
            problems.append(f"{where}: permalink guid {value!r} is not an http(s) URL")
    author = item.find("author")
    if author is not None and not _RSS_AUTHOR.match(_text(author).strip()):
        problems.append(f"{where}: <author> {_text(author)!r} is not 'email (name)'")
    pub = item.find("pubDate")
    if pub is not None and parse_rfc822(_text(pub).strip()) is None:
        problems.append(f"{where}: <pubDate> {_text(pub)!r} is not an RFC 822 date")
    for enc in item.findall("enclosure"):
        if not is_http_url(enc.get("url") or ""):
            problems.append(f"{where}: <enclosure> url is not an http(s) URL")
        if not (enc.get("length") or "").isdigit():
            problems.append(f"{where}: <enclosure> length is not a number")
        if not _MIME.match(enc.get("type") or ""):
            problems.append(f"{where}: <enclosure> type is not a media type")
    for cat in item.findall("category"):
        if not _text(cat).strip():
            problems.append(f"{where}: empty <category>")
    return problems


# ---------------------------------------------------------------------------------------------
# JSON Feed 1.1
# ---------------------------------------------------------------------------------------------


def check_json_feed(data: bytes) -> list[str]:
    """Problems of a JSON Feed 1.1 document (https://jsonfeed.org/version/1.1)."""
    try:
        feed = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        return [f"not UTF-8: {e}"]
    except json.JSONDecodeError as e:
        return [f"not JSON: {e}"]
    if not isinstance(feed, dict):
        return ["top level is not an object"]
    problems = _unknown_keys(feed, _JSON_TOP, "feed")
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"feed: version {feed.get('version')!r} is not JSON Feed 1.1")
    if not isinstance(feed.get("title"), str) or not feed["title"].strip():
        problems.append("feed: title missing or not a non-empty string")
    for key in ("home_page_url", "feed_url", "next_url", "icon", "favicon"):
        if key in feed and not (isinstance(feed[key], str) and is_iri(feed[key])):
            problems.append(f"feed: {key} {feed[key]!r} is not an absolute URL")
    for key in ("description", "user_comment"):
        if key in feed and not isinstance(feed[key], str):
            problems.append(f"feed: {key} is not a string")
    if "language" in feed and not (
        isinstance(feed["language"], str) and _LANG.match(feed["language"])
    ):
        problems.append(f"feed: language {feed['language']!r} is not a language tag")
    if "authors" in feed:
        problems += _json_authors(feed["authors"], "feed")
    items = feed.get("items")
    if not isinstance(items, list):
        return problems + ["feed: items missing or not an array"]
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        where = f"item {i + 1}"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        problems += _json_item(item, where)
        ident = item.get("id")
        if isinstance(ident, str):
            if ident in seen:
                problems.append(f"{where}: same id as item {seen[ident]}: {ident}")
            seen.setdefault(ident, i + 1)
    return problems


def _unknown_keys(obj: dict[str, Any], allowed: set[str], where: str) -> list[str]:
    """Keys outside the spec must be extensions, which start with an underscore."""
    return [
        f"{where}: unknown key {k!r} (extensions start with '_')"
        for k in obj
        if k not in allowed and not k.startswith("_")
    ]


def _json_authors(authors: Any, where: str) -> list[str]:
    if not isinstance(authors, list):
        return [f"{where}: authors is not an array"]
    return [
        f"{where}: author {a!r} has none of name, url, avatar"
        for a in authors
        if not isinstance(a, dict)
        or not any(isinstance(a.get(k), str) for k in ("name", "url", "avatar"))
    ]


def _json_item(item: dict[str, Any], where: str) -> list[str]:
    """id (string), content, URLs, dates, authors, tags."""
    problems = _unknown_keys(item, _JSON_ITEM, where)
    if not isinstance(item.get("id"), str) or not item["id"]:
        problems.append(f"{where}: id missing or not a non-empty string")
    if not isinstance(item.get("content_html"), str) and not isinstance(
        item.get("content_text"), str
    ):
        problems.append(f"{where}: neither content_html nor content_text")
    for key in ("title", "summary", "content_html", "content_text"):
        if key in item and not isinstance(item[key], str):
            problems.append(f"{where}: {key} is not a string")
    for key in ("url", "external_url", "image", "banner_image"):
        if key in item and not (isinstance(item[key], str) and is_iri(item[key])):
            problems.append(f"{where}: {key} {item[key]!r} is not an absolute URL")
    for key in ("date_published", "date_modified"):
        if key in item and not (isinstance(item[key], str) and parse_rfc3339(item[key])):
            problems.append(f"{where}: {key} {item[key]!r} is not an RFC 3339 date-time")
    published = parse_rfc3339(str(item.get("date_published", "")))
    modified = parse_rfc3339(str(item.get("date_modified", "")))
    if published and modified and modified < published:
        problems.append(f"{where}: date_modified is before date_published")
    if "authors" in item:
        problems += _json_authors(item["authors"], where)
    if "author" in item:
        problems.append(f"{where}: 'author' is JSON Feed 1.0; 1.1 uses 'authors'")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        problems.append(f"{where}: tags is not an array of non-empty strings")
    for key, value in item.items():
        if isinstance(value, str) and _XML_BAD_CHARS.search(value):
            problems.append(f"{where}: {key} holds control characters")
    return problems
