"""HTTP for feed readers, people and monitoring: a small WSGI app served by waitress.

Routes (GET and HEAD only):

    /                       HTML index of every feed, with <link rel="alternate"> autodiscovery
    /feeds/<id>.atom|.rss|.json   the published files, with conditional GET and gzip
    /feeds.opml             OPML 2.0 of every feed, for importing into a reader
    /healthz                200 while every source refreshed within its bound, else 503 (JSON)
    /metrics                Prometheus text exposition

Why the feed files are not served by WhiteNoise (see docs/service.md for the long form):
WhiteNoise is made for build-time assets that never change while the process runs. Its ETag
is ``mtime-in-seconds + size``, so two versions of a feed written in one second with the same
length share a "strong" validator; it only gzips through ``.gz`` siblings that it stats apart
from the file, so a feed rewritten between the two is sent under the other's ETag; it sees new
files only in its development-only ``autorefresh`` mode; and it follows symlinks out of its
root. Serving a few small files right takes about a hundred lines here: read the file once
through one descriptor, derive every header and the gzip body from those bytes, so a
response's validators always describe exactly the bytes sent.

The app reads nothing but the output directory and a ``View`` snapshot (config, source states,
schedule) handed in by the service, so it is tested on its own with files in a temp dir.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import html
import json
import logging
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.util import application_uri
from xml.etree import ElementTree as ET

from feedbridge import __version__
from feedbridge.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from feedbridge.metrics import Metrics
from feedbridge.model import Config, Settings, Source, SourceState
from feedbridge.schedule import is_stale, period, stale_bound

log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]

CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
MEDIA_TYPES = {fmt: ctype.split(";")[0] for fmt, ctype in CONTENT_TYPES.items()}
FORMAT_LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
#: A feed file name: a source id (as config.md allows) and a known extension; nothing else.
FEED_NAME = re.compile(r"^([a-z0-9][a-z0-9._-]*)\.(atom|rss|json)$")
#: Readers may cache a feed for half the source's interval, within these bounds.
MIN_MAX_AGE, MAX_MAX_AGE = 60, 6 * 3600
TOKEN_ENV = "FEEDBRIDGE_TOKEN"


# ---------------------------------------------------------------------------------------------
# What the app shows: a snapshot handed in by the service
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """Everything the pages need, taken at request time from the running service."""

    config: Config
    states: Mapping[str, SourceState]
    started: datetime
    next_runs: Mapping[str, datetime] = field(default_factory=dict)
    running: frozenset[str] = frozenset()


# ---------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------


def cache_max_age(source: Source | None, now: datetime) -> int:
    """Seconds a reader may reuse a feed without asking: half the source's interval (a feed
    changes at most once per interval), at least a minute, at most six hours."""
    if source is None:
        return MIN_MAX_AGE
    half = period(source.schedule, now).total_seconds() / 2
    return int(min(max(half, MIN_MAX_AGE), MAX_MAX_AGE))


def accepts_gzip(accept_encoding: str) -> bool:
    """True when ``Accept-Encoding`` allows gzip (``q=0`` refuses it; ``*`` allows it)."""
    allowed: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            allowed[name.strip().lower()] = q
    if "gzip" in allowed:
        return allowed["gzip"] > 0
    if "x-gzip" in allowed:
        return allowed["x-gzip"] > 0
    return allowed.get("*", 0.0) > 0


def _opaque(tag: str) -> str:
    """The opaque part of an entity tag, for weak comparison (RFC 9110 §8.8.3.2)."""
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    etags: Iterable[str],
    last_modified: datetime,
) -> bool:
    """Whether a GET may be answered 304 (RFC 9110 §13.1.2 / §13.1.3, §13.2.2 order).

    ``If-None-Match`` wins when present: a match of any listed tag (weakly compared) against
    any representation's tag, or ``*``. Otherwise ``If-Modified-Since`` at or after the
    file's modification time (whole seconds, as HTTP dates have no more).
    """
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        ours = {_opaque(t) for t in etags}
        return any(_opaque(t) in ours for t in if_none_match.split(","))
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


def http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


def feed_path(output_dir: Path, name: str) -> Path | None:
    """The file serving ``/feeds/<name>``, or None if it must not be served.

    Only names of the form ``<source id>.<atom|rss|json>`` pass (so no ``/``, ``..``, ``%2e``
    after decoding, or absolute path can), and the real path of the file must lie directly in
    the real output directory (so a symlink cannot lead out of it).
    """
    if FEED_NAME.match(name) is None or ".." in name:
        return None
    root = os.path.realpath(output_dir)
    real = os.path.realpath(os.path.join(root, name))
    if os.path.dirname(real) != root:
        return None
    return Path(real)


def authorized(token: str | None, environ: Environ) -> tuple[bool, str | None]:
    """(allowed, token taken from the query string). With no token configured, all pass."""
    if not token:
        return True, None
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return True, None
    given = parse_qs(str(environ.get("QUERY_STRING", ""))).get("token", [])
    if given and hmac.compare_digest(given[0].encode(), token.encode()):
        return True, given[0]
    return False, None


def public_base(settings: Settings, environ: Environ) -> str:
    """The absolute URL of the feeds directory as readers should use it.

    ``base_url`` when it was set (it is what the feeds' self links say); with the default
    left in place, the URL this request came in on, so ``--port 9000`` works unconfigured.
    """
    if settings.base_url != Settings().base_url:
        return settings.base_url if settings.base_url.endswith("/") else settings.base_url + "/"
    return application_uri(environ).rstrip("/") + "/feeds/"


def health(view: View, now: datetime) -> tuple[bool, dict[str, Any]]:
    """(healthy, JSON detail): healthy while no source is stale."""
    detail: dict[str, Any] = {}
    stale: list[str] = []
    for source in view.config.sources:
        state = view.states.get(source.id)
        is_old = is_stale(now, source.schedule, state, view.started)
        if is_old:
            stale.append(source.id)
        detail[source.id] = {
            "status": state.status if state else "new",
            "stale": is_old,
            "stale_after_seconds": stale_bound(source.schedule, now).total_seconds(),
            "last_success": _iso(state.last_success if state else None),
            "consecutive_failures": state.consecutive_failures if state else 0,
            "last_error": state.last_error if state else None,
        }
    body = {
        "status": "ok" if not stale else "stale",
        "stale": stale,
        "sources": detail,
        "checked_at": _iso(now),
    }
    return not stale, body


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def render_opml(view: View, base: str, now: datetime, query: str = "") -> bytes:
    """OPML 2.0 listing one outline per source (Atom preferred), importable into readers."""
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = "feedbridge feeds"
    ET.SubElement(head, "dateCreated").text = http_date(now)
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(opml, "body")
    formats = view.config.settings.formats
    preferred = next((f for f in ("atom", "rss", "json") if f in formats), "atom")
    for source in view.config.sources:
        attrs = {
            "type": "rss",
            "text": source.title,
            "title": source.title,
            "xmlUrl": f"{base}{source.id}.{preferred}{query}",
        }
        home = source.home_url or (source.listing.urls[0] if source.listing.urls else None)
        if home:
            attrs["htmlUrl"] = home
        if source.description:
            attrs["description"] = source.description
        if source.language:
            attrs["language"] = source.language
        ET.SubElement(body, "outline", attrs)
    ET.indent(opml)
    data: bytes = ET.tostring(opml, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


# ---------------------------------------------------------------------------------------------
# Feed files: one read, every header from those bytes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedFile:
    """One version of a published file and its derived representations."""

    data: bytes
    modified: datetime
    etag: str  # strong: a hash of the bytes
    gz: bytes
    gz_etag: str


class FeedCache:
    """Small LRU of ``FeedFile`` keyed by the file's identity (inode, size, mtime_ns): a
    rewrite (feeds are replaced by rename) is a new key, so nothing stale is ever served."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, int, int, int], FeedFile] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, path: Path) -> FeedFile | None:
        """The file as it is now, or None if it is missing or not a regular file."""
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None
            key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            with self._lock:
                hit = self._items.get(key)
                if hit is not None:
                    self._items.move_to_end(key)
                    return hit
            data = fh.read()
        digest = hashlib.sha256(data).hexdigest()[:32]
        item = FeedFile(
            data=data,
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
            etag=f'"{digest}"',
            gz=gzip.compress(data, compresslevel=6, mtime=0),
            gz_etag=f'"{digest}-gz"',
        )
        with self._lock:
            self._items[key] = item
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return item


# ---------------------------------------------------------------------------------------------
# The WSGI app
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: str
    headers: list[tuple[str, str]]
    body: bytes = b""


def _text(status: str, text: str, ctype: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, [("Content-Type", ctype)], text.encode("utf-8"))


class FeedServer:
    """The WSGI application. ``view`` is called per request for a fresh snapshot."""

    def __init__(
        self,
        view: Callable[[], View],
        *,
        token: str | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._view = view
        self._token = token or None
        self._metrics = metrics or Metrics()  # counters only, if the caller keeps none
        self._clock = clock
        self._files = FeedCache()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", "") or "/")
        try:
            response = self._dispatch(method, path, environ)
        except Exception:
            log.exception("%s %s: internal error", method, path)
            response = _text("500 Internal Server Error", "internal error\n")
        headers = list(response.headers)  # waitress adds Server: feedbridge/<version>
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(response.body))))
        start_response(response.status, headers)
        log.debug("%s %s -> %s", method, path, response.status)
        return [] if method == "HEAD" else [response.body]

    # -- routing -----------------------------------------------------------------------------

    def _dispatch(self, method: str, path: str, environ: Environ) -> Response:
        if method not in ("GET", "HEAD"):
            return Response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
        allowed, query_token = authorized(self._token, environ)
        if path == "/healthz":
            return self._health(detailed=allowed)
        if not allowed:
            return Response(
                "401 Unauthorized",
                [
                    ("WWW-Authenticate", 'Bearer realm="feedbridge"'),
                    ("Content-Type", "text/plain; charset=utf-8"),
                ],
                b"a token is required: 'Authorization: Bearer <token>' or ?token=<token>\n",
            )
        query = f"?token={quote(query_token, safe='')}" if query_token else ""
        if path == "/":
            return self._index(environ, query)
        if path.startswith("/feeds/"):
            return self._feed(path[len("/feeds/") :], environ)
        if path in ("/feeds", "/index.html"):
            return Response("301 Moved Permanently", [("Location", "/" + query)])
        if path == "/feeds.opml":
            return self._opml(environ, query)
        if path == "/metrics":
            return Response(
                "200 OK", [("Content-Type", METRICS_CONTENT_TYPE)], self._metrics.render()
            )
        return _text("404 Not Found", "not found\n")

    # -- routes ------------------------------------------------------------------------------

    def _feed(self, name: str, environ: Environ) -> Response:
        view = self._view()
        path = feed_path(view.config.settings.output_dir, name)
        feed = self._files.load(path) if path is not None else None
        if path is None or feed is None:
            if path is None:
                log.warning("refused feed path %r", environ.get("PATH_INFO"))
            return _text("404 Not Found", "no such feed\n")
        match = FEED_NAME.match(name)
        assert match is not None  # feed_path checked it
        source_id, ext = match.groups()
        source = next((s for s in view.config.sources if s.id == source_id), None)
        privacy = "private" if self._token else "public"
        max_age = cache_max_age(source, self._clock())
        use_gz = accepts_gzip(str(environ.get("HTTP_ACCEPT_ENCODING", "")))
        etag = feed.gz_etag if use_gz else feed.etag
        common = [
            ("ETag", etag),
            ("Last-Modified", http_date(feed.modified)),
            ("Cache-Control", f"{privacy}, max-age={max_age}"),
            ("Vary", "Accept-Encoding"),
        ]
        if not_modified(
            environ.get("HTTP_IF_NONE_MATCH"),
            environ.get("HTTP_IF_MODIFIED_SINCE"),
            (feed.etag, feed.gz_etag),
            feed.modified,
        ):
            return Response("304 Not Modified", common)
        headers = [
            ("Content-Type", CONTENT_TYPES[ext]),
            ("X-Content-Type-Options", "nosniff"),
            *common,
        ]
        if use_gz:
            headers.append(("Content-Encoding", "gzip"))
            return Response("200 OK", headers, feed.gz)
        return Response("200 OK", headers, feed.data)

    def _health(self, detailed: bool) -> Response:
        ok, body = health(self._view(), self._clock())
        if not detailed:  # a private deployment tells strangers only yes or no
            body = {"status": body["status"], "stale_count": len(body["stale"])}
        return Response(
            "200 OK" if ok else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            json.dumps(body, indent=2).encode() + b"\n",
        )

    def _opml(self, environ: Environ, query: str) -> Response:
        view = self._view()
        base = public_base(view.config.settings, environ)
        return Response(
            "200 OK",
            [("Content-Type", "text/x-opml; charset=utf-8"), ("Cache-Control", "no-cache")],
            render_opml(view, base, self._clock(), query),
        )

    def _index(self, environ: Environ, query: str) -> Response:
        view = self._view()
        base = public_base(view.config.settings, environ)
        page = render_index(view, self._clock(), base, query)
        return Response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache")],
            page.encode("utf-8"),
        )


# ---------------------------------------------------------------------------------------------
# The index page
# ---------------------------------------------------------------------------------------------

_CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b6470;--bg:#f6f7f9;--card:#fff;
--line:#d9dde3;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--new:#57606a;--link:#0a58ca}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--muted:#9aa4b1;--bg:#101318;
--card:#181c22;--line:#2d333b;--link:#6ea8fe}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
header,main,footer{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0}
.summary{color:var(--muted);margin:0}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr));
list-style:none;padding:0;margin:0}
.feed{background:var(--card);border:1px solid var(--line);border-radius:.6rem;padding:1rem;
display:flex;flex-direction:column;gap:.5rem;min-width:0}
.feed h2{font-size:1.15rem;margin:0;overflow-wrap:anywhere}
.feed .id{color:var(--muted);font-size:.85rem;font-family:ui-monospace,monospace}
.badge{display:inline-block;border-radius:1rem;padding:0 .6rem;font-size:.8rem;font-weight:600;
color:#fff;vertical-align:middle}
.ok{background:var(--ok)}.degraded,.stale{background:var(--warn)}.failing{background:var(--bad)}
.new{background:var(--new)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:0;font-size:.92rem}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.error{color:var(--bad)}
.links{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:auto}
.links a{border:1px solid var(--line);border-radius:.4rem;padding:.3rem .7rem;
text-decoration:none;color:var(--link);font-weight:600}
.links a.missing{color:var(--muted);border-style:dashed}
.url{font:.8rem ui-monospace,monospace;color:var(--muted);overflow-wrap:anywhere}
a{color:var(--link)}
footer{color:var(--muted);font-size:.85rem}
"""


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    secs = int((now - then).total_seconds())
    future = secs < 0
    secs = abs(secs)
    if secs < 90:
        amount = f"{secs} s"
    elif secs < 90 * 60:
        amount = f"{round(secs / 60)} min"
    elif secs < 36 * 3600:
        amount = f"{round(secs / 3600)} h"
    else:
        amount = f"{round(secs / 86400)} days"
    return f"in {amount}" if future else f"{amount} ago"


def _when(now: datetime, then: datetime | None) -> str:
    """``<time>`` with the exact UTC time as a tooltip and a relative text."""
    if then is None:
        return "never"
    exact = then.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f'<time datetime="{html.escape(_iso(then) or "")}" title="{exact}">'
        f"{html.escape(_ago(now, then))}</time>"
    )


def _card(view: View, source: Source, now: datetime, base: str, query: str) -> str:
    e = html.escape
    state = view.states.get(source.id) or SourceState(source_id=source.id)
    stale = is_stale(now, source.schedule, state, view.started)
    status = state.status
    badges = f'<span class="badge {e(status)}">{e(status)}</span>'
    if stale:
        badges += ' <span class="badge stale">stale</span>'
    if source.id in view.running:
        badges += ' <span class="badge new">refreshing</span>'
    links, urls = [], []
    out = view.config.settings.output_dir
    for fmt in view.config.settings.formats:
        name = f"{source.id}.{fmt}"
        missing = not (out / name).is_file()
        cls = ' class="missing" title="not published yet"' if missing else ""
        links.append(
            f'<a href="feeds/{e(quote(name))}{e(query)}" type="{MEDIA_TYPES[fmt]}"'
            f"{cls}>{FORMAT_LABELS[fmt]}</a>"
        )
        urls.append(f"{base}{name}{query}")
    rows = [
        ("Last success", _when(now, state.last_success)),
        ("Last attempt", _when(now, state.last_attempt)),
        ("Entries", str(state.entry_count)),
    ]
    if source.id in view.running:
        rows.append(("Next run", "refreshing now"))
    elif source.id in view.next_runs:
        rows.append(("Next run", _when(now, view.next_runs[source.id])))
    if state.consecutive_failures:
        rows.append(("Failures", f"{state.consecutive_failures} in a row"))
    if state.last_error:
        rows.append(("Last error", f'<span class="error">{e(state.last_error)}</span>'))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    home = source.home_url or (source.listing.urls[0] if source.listing.urls else "")
    title = f'<a href="{e(home)}" rel="noopener">{e(source.title)}</a>' if home else e(source.title)
    return (
        f'<li class="feed" id="feed-{e(source.id)}" data-source="{e(source.id)}" '
        f'data-status="{e(status)}" data-stale="{str(stale).lower()}">'
        f"<h2>{title} {badges}</h2>"
        f'<div class="id">{e(source.id)}</div>'
        + (f"<p>{e(source.description)}</p>" if source.description else "")
        + f"<dl>{dl}</dl>"
        f'<div class="links">{"".join(links)}</div>'
        f'<div class="url">{e(urls[0]) if urls else ""}</div>'
        "</li>"
    )


def render_index(view: View, now: datetime, base: str, query: str = "") -> str:
    """The HTML index: one card per feed; autodiscovery links in the head; no JavaScript."""
    e = html.escape
    sources = view.config.sources
    alternates = []
    for source in sources:
        for fmt in view.config.settings.formats:
            label = e(f"{source.title} ({FORMAT_LABELS[fmt]})")
            alternates.append(
                f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" title="{label}" '
                f'href="feeds/{e(quote(source.id))}.{fmt}{e(query)}">'
            )
    stale = sum(is_stale(now, s.schedule, view.states.get(s.id), view.started) for s in sources)
    ok = sum((view.states.get(s.id) or SourceState(s.id)).status == "ok" for s in sources)
    summary = f"{len(sources)} feeds · {ok} ok · {stale} stale"
    cards = "".join(_card(view, s, now, base, query) for s in sources)
    empty = "" if sources else "<p>No sources are configured.</p>"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>feedbridge: {len(sources)} feeds</title>
{chr(10).join(alternates)}
<link rel="outline" type="text/x-opml" title="All feeds (OPML)" href="feeds.opml{e(query)}">
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>feedbridge</h1>
<p class="summary" id="summary">{e(summary)}</p>
</header>
<main>
{empty}<ul class="grid" id="feeds">{cards}</ul>
</main>
<footer>
<a href="feeds.opml{e(query)}">All feeds as OPML</a> ·
<a href="healthz">Health</a> · <a href="metrics{e(query)}">Metrics</a> ·
feedbridge {e(__version__)} · page made {e(now.strftime("%Y-%m-%d %H:%M:%S UTC"))}
</footer>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------
# Serving
# ---------------------------------------------------------------------------------------------


class HttpServer:
    """waitress in a background thread (the main thread keeps signals and the scheduler)."""

    def __init__(self, app: FeedServer, host: str, port: int, threads: int = 8) -> None:
        from waitress.server import create_server

        self._server = create_server(
            app, host=host, port=port, threads=threads, ident=f"feedbridge/{__version__}"
        )
        self.host = host
        self.port = int(getattr(self._server, "effective_port", port))
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Closes every socket from inside the server's own loop (closing them from another
        thread would pull them out from under its ``select``), so the loop ends."""
        from waitress import wasyncore

        server: Any = self._server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._thread.join(timeout)
        server.task_dispatcher.shutdown(timeout=timeout)


def token_from_env(env: Mapping[str, str] = os.environ) -> str | None:
    """The access token from ``FEEDBRIDGE_TOKEN`` (unset or empty: no token)."""
    return env.get(TOKEN_ENV) or None
