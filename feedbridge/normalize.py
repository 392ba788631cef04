"""Pure normalization: dates and time zones, URLs, HTML sanitizing, entry keys and hashes.

Nothing here does I/O; ``now`` is always passed in.
"""

from __future__ import annotations

import email.utils
import hashlib
import html as htmllib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum
from functools import cache
from typing import Any, Protocol, cast
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import nh3

#: characters XML 1.0 forbids (and DEL): sites send them, feeds must not carry them
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid)$", re.I)


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def clean_text(value: str | None) -> str:
    """Plain text: entities decoded, control characters dropped, whitespace collapsed."""
    if not value:
        return ""
    return " ".join(CONTROL_CHARS.sub("", htmllib.unescape(value)).split())


# A space goes before each block tag, so text on either side is not glued together. The
# literal "<" first lets the regex engine skip ahead; a plain replacement (no group references)
# keeps re.sub on its fast path.
_BLOCK_TAG_START = re.compile(r"<(?=/?(?:p|div|br|li|h[1-6]|tr|td|blockquote)\b)", re.I)


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment, words kept apart at tags."""
    if not fragment:
        return ""
    # nh3 with no allowed tags keeps text only; block tags would glue words, so space them first
    return clean_text(_text_cleaner().clean(_BLOCK_TAG_START.sub(" <", fragment)))


def summarize(fragment: str, limit: int = 300) -> str:
    """A plain-text summary of at most ``limit`` characters, cut at a word boundary."""
    text = _leading_text(fragment, limit)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–—") + "…"


# A table moves stray text in front of itself (HTML's "foster parenting"); a template may too.
_REORDERING_TAG = re.compile(r"<(?:table|template)", re.I)


def _leading_text(fragment: str, limit: int) -> str:
    """``html_to_text(fragment)``, or a prefix of it longer than ``limit`` (all a summary needs).

    HTML is parsed as a stream, so the text of the fragment cut just before a ``<`` is a prefix
    of the text of the whole, whitespace collapsing included. The exceptions: a cut after
    ``</`` (read as text at the end of input, as a comment before ``<``), and a table (or
    template) in the head, which may pull later text in front of itself: then read it whole.
    Long article bodies are summarized from their first few kilobytes instead of all of them.
    """
    size = limit  # prose: the first paragraph or two
    while size < len(fragment):
        cut = fragment.find("<", size)
        if cut < 0:
            break
        head = fragment[:cut]
        if head.endswith("</"):  # text at the end of input, the start of a comment before "<"
            size = cut + 1
            continue
        if _REORDERING_TAG.search(head):
            break
        text = html_to_text(head)
        if len(text) > limit and _encodable(fragment, cut):
            return text
        size = 4 * cut
    return html_to_text(fragment)


def _encodable(fragment: str, start: int) -> bool:
    """Whether the rest of ``fragment`` is valid Unicode: nh3 raises on a lone surrogate, and
    the short path must fail where reading the whole fragment would."""
    if fragment.isascii():
        return True
    try:
        fragment[start:].encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


class Precision(IntEnum):
    """How much of a date the page actually said; a more precise date wins."""

    INFERRED_YEAR = 1
    DAY = 2
    TIME = 3


@dataclass(frozen=True)
class ParsedDate:
    value: datetime  # aware, UTC
    precision: Precision


_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%X", "%c", "%p")
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%c", "%x", "%s")


def parse_date(
    text: str | None, formats: Iterable[str], tz: str, now: datetime
) -> ParsedDate | None:
    """Parse ``text`` with the configured ``formats`` in time zone ``tz``; ISO 8601 and RFC 822
    when no format is given. Date-only values are placed at noon local time, so the calendar day
    survives conversion to UTC for every zone from UTC−11 to UTC+12. A format without a year
    takes the year that puts the date closest before ``now`` (a December dateline read in
    January belongs to the previous year). Returns None when nothing parses.
    """
    if not text:
        return None
    text = clean_text(text)
    zone = ZoneInfo(tz)
    fmts = tuple(formats)
    for fmt in fmts:
        parsed = _strptime(text, fmt, zone, now)
        if parsed is not None:
            return parsed
    if fmts:
        return None
    return _parse_iso(text, zone) or _parse_rfc822(text, zone)


def _strptime(text: str, fmt: str, zone: ZoneInfo, now: datetime) -> ParsedDate | None:
    has_year = any(d in fmt for d in _YEAR_DIRECTIVES)
    probe = text
    probe_fmt = fmt
    if not has_year:
        # strptime defaults to 1900, where 29 February does not exist: parse in a leap year
        probe, probe_fmt = f"2000 {text}", f"%Y {fmt}"
    try:
        dt = datetime.strptime(probe, probe_fmt)
    except ValueError:
        return None
    has_time = any(d in fmt for d in _TIME_DIRECTIVES)
    if not has_year:
        dt = _infer_year(dt, zone, now)
    precision = (
        Precision.TIME if has_time else (Precision.DAY if has_year else Precision.INFERRED_YEAR)
    )
    if dt.tzinfo is None:
        dt = dt if has_time else datetime.combine(dt.date(), time(12), tzinfo=None)
        dt = dt.replace(tzinfo=zone)
    return ParsedDate(dt.astimezone(UTC), precision)


def _infer_year(dt: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    local_now = now.astimezone(zone)
    for year in (local_now.year, local_now.year - 1):
        try:
            candidate = dt.replace(year=year)
        except ValueError:  # 29 February in a common year
            continue
        if candidate.date() <= local_now.date() + timedelta(days=1):
            return candidate
    return dt.replace(year=local_now.year - 1)


def _parse_iso(text: str, zone: ZoneInfo) -> ParsedDate | None:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            d = date.fromisoformat(text[:10])
        except ValueError:
            return None
        return ParsedDate(datetime.combine(d, time(12), tzinfo=zone).astimezone(UTC), Precision.DAY)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    precision = Precision.TIME if ("T" in text or " " in text.strip()) else Precision.DAY
    if precision is Precision.DAY:
        dt = datetime.combine(dt.date(), time(12), tzinfo=zone)
    return ParsedDate(dt.astimezone(UTC), precision)


def _parse_rfc822(text: str, zone: ZoneInfo) -> ParsedDate | None:
    """RFC 822 / 2822 dates; one without a zone (or with ``-0000``) is read in ``zone``."""
    try:
        dt = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return ParsedDate(dt.astimezone(UTC), Precision.TIME)


def best_date(*candidates: ParsedDate | None) -> ParsedDate | None:
    """The most precise candidate; on a tie, the earliest-listed (the article's)."""
    best: ParsedDate | None = None
    for c in candidates:
        if c is not None and (best is None or c.precision > best.precision):
            best = c
    return best


def publication_instant(
    date: ParsedDate | None, now: datetime, tz: str, position: int, skew_seconds: float
) -> datetime:
    """The instant an entry is published at, in UTC.

    A full timestamp is kept (clamped if in the future). A date-only value keeps its calendar
    day in ``tz``: today's items get the time we first saw them, older ones noon. ``position``
    (the item's rank on the listing, 0 = newest) is subtracted in seconds, so items of one day
    keep the site's order and no two entries of a batch share an instant (feed readers sort on
    it; the W3C validator warns on equal ``updated`` values). No date at all: first-seen time.
    """
    step = timedelta(seconds=position)
    if date is None:
        return now - step
    value = clamp_future(date.value, now, skew_seconds)
    if date.precision is Precision.TIME:
        return value
    zone = ZoneInfo(tz)
    day = value.astimezone(zone).date()
    base = now if day == now.astimezone(zone).date() else value
    start_of_day = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return max(base - step, start_of_day)


def clamp_future(dt: datetime, now: datetime, skew_seconds: float) -> datetime:
    """No date in the future beyond ``skew_seconds``: such a date becomes ``now``."""
    return now if dt > now + timedelta(seconds=skew_seconds) else dt


# ---------------------------------------------------------------------------------------------
# URLs and keys
# ---------------------------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port and fragment dropped, percent-escapes
    normalized (so ``%ed%95%9c``, ``%ED%95%9C`` and the raw UTF-8 are one URL), tracking
    parameters (``utm_*``, ``fbclid``…) removed. Everything else is kept as the site wrote
    it: the trailing slash, reserved escapes like ``%2F``, query parts without ``=``
    (``article.php?12345``), the order of parameters, IPv6 brackets."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port out of range: not ours to fix, keep the URL as written
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else f"{host}:{port}"
    )
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    path = _escapes(parts.path) or "/"
    query = "&".join(
        _escapes(p)
        for p in parts.query.split("&")
        if p and not _TRACKING_PARAMS.match(p.split("=", 1)[0])
    )
    return urlunsplit((scheme, netloc, path, query, ""))


_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _escapes(part: str) -> str:
    """Percent-escapes upper-cased, escapes of unreserved characters decoded, characters a
    URI cannot hold (spaces, non-ASCII as UTF-8) escaped; reserved escapes such as ``%2F``
    stay escapes, since decoding them would change the URL's meaning."""

    def one(m: re.Match[str]) -> str:
        ch = chr(int(m.group(0)[1:], 16))
        return ch if ch in _UNRESERVED else m.group(0).upper()

    return quote(_PERCENT.sub(one, part), safe="/:@!$&'()*+,;=-._~%?")


def entry_key(kind: str, url: str, title: str, published: date | None, regex: str | None) -> str:
    """The within-source identity of an entry (see ``entry_id`` in docs/config.md)."""
    if kind == "url_regex" and regex:
        m = re.search(regex, url)
        if m:
            return m.group(1)
    if kind == "title_date":
        return f"{clean_text(title).casefold()}|{published.isoformat() if published else ''}"
    return canonical_url(url)


def content_hash(title: str, content_html: str, summary: str) -> str:
    h = hashlib.sha256()
    for part in (title, content_html, summary):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# HTML sanitizing
# ---------------------------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "picture",
        "pre",
        "q",
        "s",
        "small",
        "source",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    ]
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "source": {"srcset", "type", "media"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "ol": {"start"},
}


def sanitize_html(fragment: str) -> str:
    """Allowlist sanitizing (Ammonia via nh3): no script/style/iframe/object/embed/form, no
    event-handler attributes, only http(s)/mailto URLs. Links get rel="noopener noreferrer"."""
    if not fragment:
        return ""
    return _html_cleaner().clean(CONTROL_CHARS.sub("", fragment)).strip()


class _Cleaner(Protocol):
    def clean(self, html: str) -> str: ...


@dataclass(frozen=True)
class _CallCleaner:
    """For nh3 before 0.2.18 (no ``Cleaner``): the same options, passed on every call."""

    options: dict[str, Any]

    def clean(self, html: str) -> str:
        return str(nh3.clean(html, **self.options))


def _cleaner(**options: Any) -> _Cleaner:
    # Building Ammonia's allowlists costs more than cleaning a typical article body, so a
    # cleaner is built once per option set and reused.
    factory = getattr(nh3, "Cleaner", None)
    return cast(_Cleaner, factory(**options)) if factory else _CallCleaner(options)


@cache
def _html_cleaner() -> _Cleaner:
    return _cleaner(
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        clean_content_tags={"script", "style", "noscript", "template", "iframe", "object", "embed"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


@cache
def _text_cleaner() -> _Cleaner:
    return _cleaner(tags=set(), clean_content_tags={"script", "style"})
