"""The fixture-site core: articles as truth, mutable site state, faults, HTTP semantics.

A :class:`Site` answers :class:`Request` objects with :class:`Response` objects and does no I/O
(``server.py`` is the socket shell), so tests can also call :meth:`Site.handle` directly.

Articles are :class:`SampleArticle` values: a few stored fields (serial, key, day, revision)
and everything else — title, paragraphs, the strings that must not leak into a body —
generated lazily from the site's seed. A site of 1,000 articles costs almost nothing until a
page is asked for.

State changes (:meth:`Site.publish`, :meth:`Site.edit`, :meth:`Site.drop_from_listing`,
:meth:`Site.delete`) replace immutable snapshots under a lock, so server threads always see a
consistent site. Fault switches are plain attributes a test flips: ``down``, ``forbidden``,
``login_wall``, ``bot_check``, ``listing_markup_changed``, ``latency``, ``robots_disallow``.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from functools import cached_property
from http.cookies import SimpleCookie
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs

from feedbridge.samplesite.content import Para, plain

PathKind = Literal["listing", "article", "other"]

#: The default "today" of every site, so that a seed alone fixes every page.
DEFAULT_TODAY = date(2026, 11, 20)


def esc(text: str) -> str:
    """Escape text for an HTML text node or a double-quoted attribute."""
    return html.escape(text, quote=True)


# ---------------------------------------------------------------------------------------------
# Requests and responses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request as a site sees it.

    ``path`` is relative to where the site is mounted and still percent-encoded; ``origin`` is
    ``scheme://host[:port]`` as the client addressed it plus the mount prefix, so absolute
    links on generated pages point back at this server whatever address it was reached by.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""
    origin: str = "http://127.0.0.1"
    prefix: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @cached_property
    def params(self) -> dict[str, str]:
        """Query parameters (first value of each)."""
        return {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    @cached_property
    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body (first value of each field)."""
        text = self.body.decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}

    @cached_property
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.header("cookie") or "")
        except Exception:  # a malformed Cookie header is simply ignored, as servers do
            return {}
        return {k: m.value for k, m in jar.items()}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


@dataclass(frozen=True)
class Rendered:
    """A page a site generated, before the base adds validators and answers 304s.

    ``etag_source`` is what the ETag is computed from when the body holds per-session parts
    (kcna.kp's CSRF token) that must not defeat conditional requests.
    """

    body: str | bytes
    kind: PathKind = "other"
    content_type: str = "text/html; charset=UTF-8"
    encoding: str = "utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    etag_source: str | None = None


def html_response(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(
        status, text.encode("utf-8"), (("Content-Type", "text/html; charset=UTF-8"),) + headers
    )


NOT_FOUND = html_response(
    404,
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    "<body><h1>Not Found</h1><p>The page you requested does not exist.</p></body></html>",
)


# ---------------------------------------------------------------------------------------------
# Articles (the truth)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Info:
    """What does not change when an article is edited."""

    title: str
    topic: str = ""
    categories: tuple[str, ...] = ()
    author: str | None = None
    flags: frozenset[str] = frozenset()
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    """The body of one revision. ``paragraphs`` are segments as rendered (no end marker)."""

    paragraphs: tuple[Para, ...]
    summary: str = ""
    captions: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampleArticle:
    """One article of a fixture site and its truth: what a correct pipeline must produce.

    ``paragraphs`` is the body as plain text, one string per paragraph, without the
    ``-0-`` end marker, captions or teasers; ``must_not`` lists strings a correct body never
    contains (captions, navigation, teasers, decoy dates, scripts). Editing an article gives a
    new value with a higher ``revision``; the old value keeps describing the old page.
    """

    site: Site = field(compare=False, repr=False)
    serial: int
    key: str
    day: date
    slot: int = 0
    revision: int = 0

    @cached_property
    def info(self) -> Info:
        return self.site.describe(self)

    @cached_property
    def story(self) -> Story:
        return self.site.compose(self)

    @property
    def title(self) -> str:
        return self.info.title

    @property
    def categories(self) -> tuple[str, ...]:
        return self.info.categories

    @property
    def author(self) -> str | None:
        return self.info.author

    @property
    def published(self) -> date | datetime:
        """A ``date`` (in the site's timezone) where the site shows only dates."""
        return self.site.published(self)

    @property
    def timezone(self) -> str:
        return self.site.timezone

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(plain(p) for p in self.story.paragraphs)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def summary(self) -> str:
        return self.story.summary

    @property
    def path(self) -> str:
        """The canonical path, relative to the site's origin."""
        return self.site.article_path(self)

    @property
    def listing_href(self) -> str:
        """The href exactly as listing pages write it (may be relative or lack a slash)."""
        return self.site.listing_href(self)

    def url(self, origin: str) -> str:
        return origin.rstrip("/") + self.path

    @property
    def must_not(self) -> tuple[str, ...]:
        return self.site.must_not(self)

    def expected(self, origin: str) -> dict[str, Any]:
        """The truth as JSON-ready data (the ``*.expected.json`` of an article case)."""
        pub = self.published
        return {
            "url": self.url(origin),
            "title": self.title,
            "date": pub.isoformat(),
            "timezone": self.timezone,
            "author": self.author,
            "categories": list(self.categories),
            "paragraphs": list(self.paragraphs),
            "must_contain": [p[:60].strip() for p in self.paragraphs],
            "must_not_contain": list(self.must_not),
            "revision": self.revision,
        }


# ---------------------------------------------------------------------------------------------
# The site
# ---------------------------------------------------------------------------------------------

_BOT_CHECK = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="390"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1>Checking your browser before accessing the site.</h1>
<div id="challenge-stage"></div><div id="cf-chl-widget-sample"></div>
<noscript>Enable JavaScript and cookies to continue</noscript></div></div>
<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=samplesite"></script>
</body></html>"""

_MEMBER_FORM = """<!DOCTYPE html><html><head><title>Free member registration</title></head>
<body><h1>Members only</h1><p>Please sign up for a free membership to read this content.</p>
<form method="post" action="/wp-login.php"><input name="log"><input name="pwd" type="password">
<button>Log in</button></form></body></html>"""


class Site:
    """Base of the fixture sites: articles, state changes, faults and HTTP semantics.

    Subclasses give the markup: :meth:`route` (pages), :meth:`describe` / :meth:`compose`
    (article content), :meth:`article_path`, :meth:`must_not` and :meth:`listing_urls`.
    """

    name: ClassVar[str] = "site"
    timezone: ClassVar[str] = "UTC"
    #: the real site's origin, used for dumped cases and shipped-config rebasing
    canonical_origin: ClassVar[str] = "http://site.invalid"
    per_day: ClassVar[int] = 10

    def __init__(self, seed: int | str = 0, count: int = 50, today: date = DEFAULT_TODAY) -> None:
        self.seed = seed
        self.today = today
        # fault switches, flipped by tests
        self.down = False
        self.retry_after: int | None = None
        self.forbidden = False
        self.login_wall = False
        self.bot_check = False
        self.listing_markup_changed = False
        self.latency = 0.0
        self.robots_disallow: list[str] = []
        self.robots_status = 200
        #: gzip bodies for clients that accept it (off by default: plain bytes are easier to
        #: assert on; turn on to test decompression and size limits)
        self.gzip = False

        self._lock = threading.RLock()
        # (articles newest first, key → article), replaced as a whole on every change
        self._snapshot: tuple[tuple[SampleArticle, ...], dict[str, SampleArticle]] = ((), {})
        self._hidden: frozenset[str] = frozenset()  # dropped from listings
        self._deleted: frozenset[str] = frozenset()  # gone entirely (404)
        self._validators: dict[str, tuple[str, float]] = {}
        self._backfill(count)

    # -- articles ---------------------------------------------------------------------------

    def _backfill(self, count: int) -> None:
        """Create the initial ``count`` articles, ``per_day`` a day back from ``today``."""
        made = []
        for serial in range(count):
            back = count - 1 - serial
            day = self.today - timedelta(days=back // self.per_day)
            slot = self.per_day - 1 - back % self.per_day
            made.append(SampleArticle(self, serial, self.make_key(serial), day, slot))
        made.reverse()
        self._set_articles(tuple(made))

    def _set_articles(self, articles: tuple[SampleArticle, ...]) -> None:
        # one reference swap, so a server thread never sees the list and the index disagree
        self._snapshot = (articles, {a.key: a for a in articles})

    @property
    def _articles(self) -> tuple[SampleArticle, ...]:
        return self._snapshot[0]

    @property
    def _by_key(self) -> dict[str, SampleArticle]:
        return self._snapshot[1]

    @property
    def articles(self) -> list[SampleArticle]:
        """Every article that has a page, newest first (the truth)."""
        deleted = self._deleted
        return [a for a in self._articles if a.key not in deleted]

    def listed(self) -> list[SampleArticle]:
        """Articles that listings show, newest first."""
        gone = self._hidden | self._deleted
        return [a for a in self._articles if a.key not in gone]

    def article(self, key: str) -> SampleArticle | None:
        """The current revision of the article with this key, or None (unknown or deleted)."""
        a = self._by_key.get(key)
        return None if a is None or a.key in self._deleted else a

    def current(self, article: SampleArticle | str) -> SampleArticle:
        key = article if isinstance(article, str) else article.key
        found = self._by_key.get(key)
        if found is None:
            raise KeyError(f"{self.name}: no article {key!r}")
        return found

    def publish(self, n: int = 1) -> list[SampleArticle]:
        """Add ``n`` new articles dated ``self.today``; returns them newest first."""
        with self._lock:
            newest = self._articles[0] if self._articles else None
            serial = newest.serial + 1 if newest else 0
            slot = newest.slot + 1 if newest and newest.day == self.today else 0
            new = [
                SampleArticle(self, s, self.make_key(s), self.today, slot + i)
                for i, s in enumerate(range(serial, serial + n))
            ]
            new.reverse()
            self._set_articles(tuple(new) + self._articles)
            return new

    def edit(self, article: SampleArticle | str) -> SampleArticle:
        """Change an article's body (title and date stay); returns the new revision."""
        with self._lock:
            old = self.current(article)
            new = replace(old, revision=old.revision + 1)
            self._set_articles(tuple(new if a.key == old.key else a for a in self._articles))
            return new

    def drop_from_listing(self, article: SampleArticle | str) -> None:
        """Remove an article from every listing; its page stays."""
        with self._lock:
            self._hidden = self._hidden | {self.current(article).key}

    def restore_to_listing(self, article: SampleArticle | str) -> None:
        with self._lock:
            self._hidden = self._hidden - {self.current(article).key}

    def delete(self, article: SampleArticle | str) -> None:
        """Remove an article entirely: listings drop it and its page answers 404."""
        with self._lock:
            self._deleted = self._deleted | {self.current(article).key}

    # -- to be provided by each site -----------------------------------------------------------

    def make_key(self, serial: int) -> str:
        raise NotImplementedError

    def describe(self, article: SampleArticle) -> Info:
        raise NotImplementedError

    def compose(self, article: SampleArticle) -> Story:
        raise NotImplementedError

    def published(self, article: SampleArticle) -> date | datetime:
        return article.day

    def article_path(self, article: SampleArticle) -> str:
        raise NotImplementedError

    def listing_href(self, article: SampleArticle) -> str:
        return self.article_path(article)

    def must_not(self, article: SampleArticle) -> tuple[str, ...]:
        return ()

    def listing_urls(self, origin: str) -> list[str]:
        raise NotImplementedError

    def classify(self, path: str) -> PathKind:
        return "other"

    def route(self, req: Request) -> Rendered | Response:
        raise NotImplementedError

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        """Answer one request: faults first, then the page, then validators and 304s."""
        if self.down:
            extra = (("Retry-After", str(self.retry_after)),) if self.retry_after else ()
            return html_response(
                503, "<html><body><h1>503 Service Unavailable</h1></body></html>", extra
            )
        if req.path == "/robots.txt":
            return self.robots()
        if self.forbidden:
            return html_response(403, "<html><body><h1>403 Forbidden</h1></body></html>")
        if req.path.startswith("/free-member-form"):
            return self.finish(req, Rendered(_MEMBER_FORM))
        if self.login_wall:
            target = f"{req.origin}/free-member-form/?redirect_to={req.prefix}{req.path}"
            return html_response(302, "", (("Location", target),))
        if self.bot_check:
            return html_response(
                200, _BOT_CHECK, (("Server", "cloudflare"), ("cf-mitigated", "challenge"))
            )
        out = self.route(req)
        return out if isinstance(out, Response) else self.finish(req, out)

    def robots(self) -> Response:
        if self.robots_status != 200:
            return Response(self.robots_status, b"", (("Content-Type", "text/plain"),))
        return Response(200, self.robots_txt().encode(), (("Content-Type", "text/plain"),))

    def robots_txt(self, prefix: str = "") -> str:
        rules = self.robots_rules(prefix) or ["Disallow:"]
        return "\n".join(["User-agent: *", *rules]) + "\n"

    def robots_rules(self, prefix: str = "") -> list[str]:
        """``Disallow:`` lines for this site mounted at ``prefix``."""
        return [f"Disallow: {prefix}{p}" for p in self.robots_disallow]

    def finish(self, req: Request, page: Rendered) -> Response:
        """Encode, attach ETag and Last-Modified, and answer 304 when the client has it."""
        body = (
            page.body
            if isinstance(page.body, bytes)
            else page.body.encode(page.encoding, "xmlcharrefreplace")
        )
        source = page.etag_source.encode("utf-8") if page.etag_source is not None else body
        etag = '"' + hashlib.sha1(source).hexdigest()[:20] + '"'
        modified = (
            self._last_modified(f"{req.path}?{req.query}", etag)
            if req.method in ("GET", "HEAD")
            else float(int(time.time()))
        )
        headers = (
            ("Content-Type", page.content_type),
            ("ETag", etag),
            ("Last-Modified", formatdate(modified, usegmt=True)),
        ) + page.headers
        if req.method in ("GET", "HEAD") and _not_modified(req, etag, modified):
            return Response(304, b"", headers[1:])
        if self.gzip and "gzip" in (req.header("accept-encoding") or ""):
            body = gzip.compress(body, mtime=0)
            headers += (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding"))
        return Response(200, body, headers)

    def _last_modified(self, key: str, etag: str) -> float:
        """When this URL's content last changed, as far as this server has seen.

        Wall-clock seconds at first sight and at each change (at least one second later than
        the previous value, so a client's If-Modified-Since never hides a change).
        """
        with self._lock:
            seen = self._validators.get(key)
            if seen and seen[0] == etag:
                return seen[1]
            now = float(int(time.time()))
            stamp = max(now, seen[1] + 1) if seen else now
            self._validators[key] = (etag, stamp)
            return stamp


def _not_modified(req: Request, etag: str, modified: float) -> bool:
    inm = req.header("if-none-match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = req.header("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return modified <= since
    return False
