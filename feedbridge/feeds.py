"""Pure: an existing feed (RSS 2.0/0.9x, RSS 1.0, Atom 1.0/0.3 or JSON Feed) → ListingItems.

Feed sources turn a site's own (often partial) feed into entries: each feed item becomes a
:class:`~feedbridge.model.ListingItem` keeping its id (``guid``), date, author, categories and
content/summary; ``refresh`` then fills in full text from the article pages.

Why our own XML mapping on lxml instead of feedparser: a feed is untrusted input, and we want
to *know* what the parser expands and fetches. Before any parser sees the bytes,

- the DOCTYPE (with its internal subset) is cut out, so no entity declaration, parameter
  entity or external DTD can take effect (billion laughs, external entities);
- every entity reference outside CDATA becomes a plain character (HTML named entities such
  as ``&nbsp;``) or literal text (``&unknown;`` → ``&amp;unknown;``): nothing is expanded;
- lxml runs with ``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False``
  as a second wall.

A feed that does not parse strictly is repaired (unquoted attribute values quoted, stray
``&`` escaped) and parsed with libxml2's recovery; every repair is reported in
:attr:`ParsedFeed.problems` and logged once with the URL by :func:`parse_feed_listing`.
lxml trees never leave this module.
"""

from __future__ import annotations

import html as htmllib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from html.entities import name2codepoint
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from lxml import etree

from feedbridge.errors import ExtractError
from feedbridge.listing import ListingResult, gather
from feedbridge.model import ListingItem, ListingSpec
from feedbridge.normalize import clean_text, html_to_text, parse_date
from feedbridge.pages import sniff_encoding

log = logging.getLogger(__name__)

FeedFormat = Literal["rss", "rdf", "atom", "json"]

ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
MEDIA = "http://search.yahoo.com/mrss/"
XHTML = "http://www.w3.org/1999/xhtml"
_ATOMS = (ATOM, ATOM03)

_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_DOCTYPE = re.compile(r"<!DOCTYPE(?:[^\[>]*\[.*?\]\s*>|[^>]*>)", re.S | re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.S)
_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']""")
# CDATA sections and comments are copied untouched by the text repairs.
_OPAQUE = re.compile(r"(<!\[CDATA\[.*?\]\]>|<!--.*?-->)", re.S)
_ENTITY = re.compile(r"&(?:(#[0-9]+|#[xX][0-9a-fA-F]+)|([A-Za-z_][\w.-]*));|&")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TAG = re.compile(r"<[A-Za-z_][^<>]*>")
_UNQUOTED_ATTR = re.compile(r"""(\s[A-Za-z_][\w:.-]*\s*=\s*)([^\s"'<>=`]+?)(?=\s|/?>)""")


class NotAFeed(ExtractError):
    """The body is neither an XML feed nor a JSON Feed (an HTML page, an error document …)."""


@dataclass(frozen=True)
class FeedRow:
    """One item of the feed document: the ListingItem (None without a usable http(s) link)
    and the listing field names that had a value (for coverage)."""

    item: ListingItem | None
    found: tuple[str, ...]


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed document yields, in document order, before ``max_items`` and dedupe.

    ``problems`` lists the repairs that were needed (empty for a well-formed feed).
    """

    url: str
    format: FeedFormat
    title: str
    rows: tuple[FeedRow, ...]
    unparsed_dates: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def items(self) -> tuple[ListingItem, ...]:
        return tuple(r.item for r in self.rows if r.item is not None)

    @property
    def recovered(self) -> bool:
        return bool(self.problems)


def parse_feed_listing(
    content: bytes, url: str, spec: ListingSpec, tz: str, now: datetime
) -> ListingResult:
    """The items of a feed listing, as a :class:`ListingResult` like an HTML listing gives.

    ``matched`` counts the feed's items (so ``expect.min_items`` works); ``coverage`` counts
    title, link, date, summary, author, categories and image. A recovered feed is logged once
    (warning) with its URL and the repairs. Raises :class:`NotAFeed` when the body is no feed.
    """
    feed = parse_feed(content, url, tz, now)
    if feed.problems:
        log.warning(
            "%s: malformed %s feed recovered: %s", url, feed.format, "; ".join(feed.problems)
        )
    rows = feed.rows[: spec.max_items]
    items, coverage = gather((row.item, row.found) for row in rows)
    return ListingResult(
        url=url,
        items=items,
        matched=len(rows),
        coverage=coverage,
        unparsed_dates=feed.unparsed_dates,
    )


def parse_feed(content: bytes, url: str, tz: str, now: datetime) -> ParsedFeed:
    """Parse any supported feed format (sniffed from the body, not the Content-Type)."""
    text = _decode(content)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return _parse_json(stripped, url, tz, now)
    root, problems = parse_xml(text, url)
    return _parse_xml_feed(root, url, tz, now, problems)


# ---------------------------------------------------------------------------------------------
# Safe, lenient XML
# ---------------------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    """Text of a feed body: BOM → XML declaration → UTF-8 (XML's default) → detection."""
    head = content[:1024]
    declared = _XML_DECL_ENCODING.search(head)
    if not content.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) and declared is None:
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            pass
    encoding = sniff_encoding(content, "")
    text = content.decode(encoding, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def _parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=recover,
    )


def parse_xml(text: str, url: str) -> tuple[etree._Element, tuple[str, ...]]:
    """Parse untrusted XML text without expanding or fetching anything.

    Returns the root and the repairs that were needed. Raises :class:`NotAFeed` when even
    recovery yields no element.
    """
    problems: list[str] = []
    text = _XML_DECL.sub("", text, count=1)
    if _CONTROL.search(text):
        problems.append("removed control characters that XML forbids")
        text = _CONTROL.sub("", text)
    if _DOCTYPE.search(text):
        problems.append("ignored the DOCTYPE (DTDs and entity declarations are never used)")
        text = _DOCTYPE.sub("", text)
    text = _outside_opaque(text, lambda s: _neutralize_entities(s, problems))
    data = text.encode("utf-8")
    try:
        root = etree.fromstring(data, _parser(recover=False), base_url=url)
    except etree.XMLSyntaxError as e:
        problems.append(f"not well-formed ({e.msg})")
        repaired = _outside_opaque(text, lambda s: _quote_attributes(s, problems))
        parser = _parser(recover=True)
        try:
            root = etree.fromstring(repaired.encode("utf-8"), parser, base_url=url)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            raise NotAFeed(url, f"not XML and not recoverable ({e.msg})") from e
        if len(parser.error_log):
            problems.append(f"libxml2 recovery: {parser.error_log[0].message}")
    return root, tuple(dict.fromkeys(problems))


def _outside_opaque(text: str, fix: Callable[[str], str]) -> str:
    """Apply ``fix`` to the text between CDATA sections and comments."""
    parts = _OPAQUE.split(text)
    return "".join(p if i % 2 else fix(p) for i, p in enumerate(parts))


def _neutralize_entities(text: str, problems: list[str]) -> str:
    """No entity is ever expanded by the parser: HTML named entities become characters,
    unknown ones and stray ampersands literal text."""

    def repl(m: re.Match[str]) -> str:
        numeric, name = m.group(1), m.group(2)
        if numeric:
            return m.group(0)
        if name is None:
            problems.append("escaped a bare '&'")
            return "&amp;"
        if name in _XML_ENTITIES:
            return m.group(0)
        if name in name2codepoint:
            return f"&#{name2codepoint[name]};"
        problems.append(f"undeclared entity &{name}; kept as text, not expanded")
        return f"&amp;{name};"

    return _ENTITY.sub(repl, text)


def _quote_attributes(text: str, problems: list[str]) -> str:
    """Quote unquoted attribute values inside start tags (``href=http://x/ rel="self"``)."""

    def fix_tag(m: re.Match[str]) -> str:
        tag = m.group(0)
        fixed = _UNQUOTED_ATTR.sub(lambda a: f'{a.group(1)}"{htmllib.escape(a.group(2))}"', tag)
        if fixed != tag:
            problems.append(f"quoted an unquoted attribute value in {_clip(tag)}")
        return fixed

    return _TAG.sub(fix_tag, text)


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# ---------------------------------------------------------------------------------------------
# RSS and Atom mapping
# ---------------------------------------------------------------------------------------------


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el: etree._Element) -> str:
    return etree.QName(el).namespace or "" if isinstance(el.tag, str) else ""


def _kids(
    el: etree._Element, name: str, ns: Iterable[str] | None = None
) -> Iterator[etree._Element]:
    """Children named ``name`` (local name), in any namespace unless ``ns`` is given."""
    wanted = tuple(ns) if ns is not None else None
    for child in el:
        if _local(child) == name and (wanted is None or _ns(child) in wanted):
            yield child


def _kid(el: etree._Element, name: str, ns: Iterable[str] | None = None) -> etree._Element | None:
    return next(_kids(el, name, ns), None)


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def _parse_xml_feed(
    root: etree._Element, url: str, tz: str, now: datetime, problems: tuple[str, ...]
) -> ParsedFeed:
    kind = _local(root).lower()
    if kind == "rss":
        channel = _kid(root, "channel")
        container = channel if channel is not None else root
        elements = list(_kids(container, "item"))
        if channel is not None and not elements:
            elements = list(_kids(root, "item"))  # RSS 0.9x put items beside the channel
        fmt: FeedFormat = "rss"
        title = _text(_kid(container, "title"))
        read: Callable[[etree._Element, str], _Raw] = _rss_item
    elif kind == "rdf":
        channel = _kid(root, "channel")
        elements = list(_kids(root, "item"))
        fmt, title, read = (
            "rdf",
            _text(_kid(channel, "title")) if channel is not None else "",
            _rss_item,
        )
    elif kind == "feed":
        elements = list(_kids(root, "entry"))
        fmt, title, read = "atom", _text(_kid(root, "title")), _atom_entry
    else:
        raise NotAFeed(url, f"not an RSS, Atom or JSON feed (root element <{_local(root)}>)")
    raws = [read(el, url) for el in elements]
    return _finish(url, fmt, html_to_text(title), raws, tz, now, problems)


@dataclass(frozen=True)
class _Raw:
    """One feed item's values as strings, before dates are parsed (private)."""

    link: str = ""
    guid: str = ""
    title: str = ""
    date: str = ""
    summary_html: str = ""
    author: str = ""
    categories: tuple[str, ...] = ()
    image: str = ""


def _rss_item(el: etree._Element, url: str) -> _Raw:
    base = el.base or url
    link = _text(_kid(el, "link", ("", "http://purl.org/rss/1.0/")))
    atom_link = _atom_link(el, base)
    guid_el = _kid(el, "guid")
    guid = _text(guid_el) or el.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about", "")
    if not link and guid_el is not None and guid_el.get("isPermaLink", "true").lower() != "false":
        link = guid if _is_url(guid) else ""
    link = urljoin(base, link) if link else atom_link
    content = _text(_kid(el, "encoded", (CONTENT,)))
    description = _text(_kid(el, "description"))
    date = next(
        (
            t
            for t in (
                _text(_kid(el, "pubDate")),
                _text(_kid(el, "date", (DC,))),
                _text(_kid(el, "issued", (DCTERMS,))),
                _text(_kid(el, "published", _ATOMS)),
                _text(_kid(el, "updated", _ATOMS)),
                _text(_kid(el, "modified", (DCTERMS,))),
            )
            if t
        ),
        "",
    )
    author = _text(_kid(el, "creator", (DC,))) or _rss_author(_text(_kid(el, "author", ("",))))
    cats = [_text(c) for c in _kids(el, "category", ("",))]
    cats += [_text(c) for c in _kids(el, "subject", (DC,))]
    return _Raw(
        link=link,
        guid=guid,
        title=_text(_kid(el, "title")),
        date=date,
        summary_html=content or description,
        author=author,
        categories=tuple(c for c in cats if c),
        image=_image(el, base),
    )


def _rss_author(value: str) -> str:
    """``editor@example.org (Jane Doe)`` → ``Jane Doe``; a bare address stays as it is."""
    m = re.match(r"^\s*\S+@\S+\s*\((.+)\)\s*$", value)
    return m.group(1).strip() if m else value


def _atom_entry(el: etree._Element, url: str) -> _Raw:
    base = el.base or url
    guid = _text(_kid(el, "id", _ATOMS))
    link = _atom_link(el, base) or (guid if _is_url(guid) else "")
    content = _atom_text(_kid(el, "content", _ATOMS))
    summary = _atom_text(_kid(el, "summary", _ATOMS))
    date = next(
        (
            t
            for t in (
                _text(_kid(el, "published", _ATOMS)),
                _text(_kid(el, "issued", _ATOMS)),
                _text(_kid(el, "updated", _ATOMS)),
                _text(_kid(el, "modified", _ATOMS)),
                _text(_kid(el, "date", (DC,))),
            )
            if t
        ),
        "",
    )
    author_el = _kid(el, "author", _ATOMS)
    author = _text(_kid(author_el, "name", _ATOMS)) if author_el is not None else ""
    cats = [c.get("label") or c.get("term") or _text(c) for c in _kids(el, "category", _ATOMS)]
    title_el = _kid(el, "title", _ATOMS)
    title = _atom_text(title_el)
    return _Raw(
        link=link,
        guid=guid,
        title=title,
        date=date,
        summary_html=content or summary,
        author=author or _text(_kid(el, "creator", (DC,))),
        categories=tuple(c.strip() for c in cats if c and c.strip()),
        image=_image(el, base),
    )


def _atom_link(el: etree._Element, base: str) -> str:
    """The entry's alternate link (HTML preferred), absolute."""
    best = ""
    for link in _kids(el, "link", _ATOMS):
        href = (link.get("href") or "").strip()
        rel = link.get("rel", "alternate")
        if not href or rel != "alternate":
            continue
        if link.get("type", "text/html") in ("text/html", "application/xhtml+xml"):
            return str(urljoin(link.base or base, href))
        best = best or str(urljoin(link.base or base, href))
    return best


def _atom_text(el: etree._Element | None) -> str:
    """An Atom text construct as HTML: ``html`` as is, ``xhtml`` serialized, ``text`` escaped."""
    if el is None or el.get("src"):
        return ""
    kind = (el.get("type") or "text").lower()
    if kind in ("html", "text/html"):
        return _text(el)
    if kind in ("xhtml", "application/xhtml+xml"):
        div = _kid(el, "div")
        holder = div if div is not None else el
        return _xhtml_inner(holder)
    if kind in ("text", "text/plain"):
        text = _text(el)
        return htmllib.escape(text, quote=False) if text else ""
    return ""  # other media types (base64 payloads) are not article text


def _xhtml_inner(holder: etree._Element) -> str:
    clone = etree.fromstring(etree.tostring(holder))
    for node in clone.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(clone)
    parts = [htmllib.escape(clone.text or "", quote=False)]
    parts += [etree.tostring(c, encoding="unicode", method="html") for c in clone]
    return "".join(parts).strip()


def _image(el: etree._Element, base: str) -> str:
    for enc in _kids(el, "enclosure"):
        if (enc.get("type") or "").startswith("image/") and enc.get("url"):
            return str(urljoin(base, enc.get("url", "")))
    for enc in _kids(el, "link", _ATOMS):
        if enc.get("rel") == "enclosure" and (enc.get("type") or "").startswith("image/"):
            return str(urljoin(base, enc.get("href", "")))
    for name in ("content", "thumbnail"):
        for media in _kids(el, name, (MEDIA,)):
            medium = media.get("medium") or (media.get("type") or "").split("/")[0]
            if media.get("url") and (name == "thumbnail" or medium == "image"):
                return str(urljoin(base, media.get("url", "")))
    return ""


def _is_url(value: str) -> bool:
    return urlsplit(value).scheme in ("http", "https") and bool(urlsplit(value).netloc)


# ---------------------------------------------------------------------------------------------
# JSON Feed
# ---------------------------------------------------------------------------------------------


def _parse_json(text: str, url: str, tz: str, now: datetime) -> ParsedFeed:
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise NotAFeed(url, f"not a JSON Feed: invalid JSON ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise NotAFeed(url, "not a JSON Feed: no 'items' list")
    problems: list[str] = []
    version = str(doc.get("version", ""))
    if not version.startswith("https://jsonfeed.org/version/"):
        problems.append(f"unknown JSON Feed version {version!r}")
    raws = [_json_item(i, url) for i in doc["items"] if isinstance(i, dict)]
    if len(raws) < len(doc["items"]):
        problems.append("skipped items that are not JSON objects")
    return _finish(url, "json", clean_text(_s(doc.get("title"))), raws, tz, now, tuple(problems))


def _s(value: Any) -> str:
    """A JSON value as a string (ids may be numbers); containers give ''."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def _list(item: dict[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    return value if isinstance(value, list) else []


def _json_item(item: dict[str, Any], url: str) -> _Raw:
    link = _s(item.get("url")) or _s(item.get("external_url"))
    content = _s(item.get("content_html"))
    if not content and _s(item.get("content_text")):
        content = htmllib.escape(_s(item.get("content_text")), quote=False)
    summary = htmllib.escape(_s(item.get("summary")), quote=False)
    authors = _list(item, "authors")
    if not authors and isinstance(item.get("author"), dict):  # JSON Feed 1.0
        authors = [item["author"]]
    names = [_s(a.get("name")) for a in authors if isinstance(a, dict) and _s(a.get("name"))]
    tags = _list(item, "tags")
    image = _s(item.get("image")) or _s(item.get("banner_image"))
    return _Raw(
        link=urljoin(url, link) if link else "",
        guid=_s(item.get("id")),
        title=htmllib.escape(_s(item.get("title")), quote=False),
        date=_s(item.get("date_published")) or _s(item.get("date_modified")),
        summary_html=content or summary,
        author=", ".join(names),
        categories=tuple(t for t in (_s(t) for t in tags) if t),
        image=urljoin(url, image) if image else "",
    )


# ---------------------------------------------------------------------------------------------
# Common
# ---------------------------------------------------------------------------------------------


def _finish(
    url: str,
    fmt: FeedFormat,
    title: str,
    raws: list[_Raw],
    tz: str,
    now: datetime,
    problems: tuple[str, ...],
) -> ParsedFeed:
    rows: list[FeedRow] = []
    unparsed: list[str] = []
    for raw in raws:
        parsed = parse_date(raw.date, (), tz, now) if raw.date else None
        if raw.date and parsed is None:
            unparsed.append(raw.date)
        item_title = html_to_text(raw.title)
        values = {
            "title": item_title,
            "link": raw.link,
            "date": parsed,
            "summary": raw.summary_html,
            "author": raw.author,
            "categories": raw.categories,
            "image": raw.image,
        }
        found = tuple(k for k, v in values.items() if v)
        if not _is_url(raw.link):
            rows.append(FeedRow(None, found))
            continue
        item = ListingItem(
            url=raw.link,
            listing_url=url,
            title=item_title or None,
            published=parsed.value if parsed else None,
            summary_html=raw.summary_html or None,
            author=clean_text(raw.author) or None,
            categories=tuple(dict.fromkeys(clean_text(c) for c in raw.categories)),
            image=raw.image or None,
            guid=raw.guid or None,
            date_precision=int(parsed.precision) if parsed else 0,
        )
        rows.append(FeedRow(item, found))
    return ParsedFeed(
        url=url,
        format=fmt,
        title=title,
        rows=tuple(rows),
        unparsed_dates=tuple(unparsed),
        problems=problems,
    )
