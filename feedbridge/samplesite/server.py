"""The socket shell: serve fixture sites on a loopback address, log every request.

``serve(site)`` starts a ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) in a daemon thread
and returns a :class:`RunningServer` whose ``url`` is the origin, e.g.
``http://127.0.0.1:40123``. Several sites can share one server, each mounted at a path
prefix: ``serve({"/a": site_a, "/b": site_b})`` (``""`` mounts at the root); the origin of
a mounted site is ``server.site_url("/a")``. One server per site keeps each site its own
origin (and its own politeness key), which is what most tests want.

Every request is logged as a :class:`LoggedRequest` with monotonic start/end times, so tests
can measure concurrency and spacing from the server's side.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from feedbridge.samplesite.site import NOT_FOUND, PathKind, Request, Response, Site

log = logging.getLogger(__name__)

LOGGED_HEADERS = (
    "host",
    "user-agent",
    "if-none-match",
    "if-modified-since",
    "referer",
    "cookie",
    "content-type",
    "accept-encoding",
)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the server saw it. ``start``/``end`` are ``time.monotonic()``."""

    start: float
    end: float
    method: str
    path: str  # full path with query, as sent
    headers: Mapping[str, str]  # the LOGGED_HEADERS that were present
    status: int
    kind: PathKind
    site: str  # mount prefix ("" for the root)
    client: tuple[str, int]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, addr: tuple[str, int], owner: RunningServer) -> None:
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.owner = owner
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-response are normal in fault tests: no traceback."""
        log.debug("samplesite: connection from %s failed", client_address, exc_info=True)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "samplesite/1.0"
    timeout = 30
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silent: the request log is the record."""

    def _serve(self) -> None:
        start = time.monotonic()
        owner = self.server.owner
        split = urlsplit(self.path)
        prefix, site = owner.mount_for(split.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        kind: PathKind = "other"
        if site is None:
            response = owner.root_response(split.path)
        else:
            if site.latency > 0:
                time.sleep(site.latency)
            rel = split.path[len(prefix) :] or "/"
            host = headers.get("host") or f"{owner.host}:{owner.port}"
            req = Request(
                self.command, rel, split.query, headers, body, f"http://{host}{prefix}", prefix
            )
            kind = site.classify(rel)
            try:
                response = site.handle(req)
            except Exception as e:  # a bug in a fixture must show up as a 500, not a hang
                response = Response(
                    500, f"samplesite error: {e!r}".encode(), (("Content-Type", "text/plain"),)
                )
        if owner.stopping:
            self.close_connection = True
            return
        self._write(response)
        owner.log(
            LoggedRequest(
                start,
                time.monotonic(),
                self.command,
                self.path,
                {k: headers[k] for k in LOGGED_HEADERS if k in headers},
                response.status,
                kind,
                prefix,
                self.client_address[:2],
            )
        )

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304 and response.status >= 200:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)
        self.wfile.flush()


class RunningServer:
    """A started fixture server. Use as a context manager or call :meth:`stop`."""

    def __init__(self, sites: Mapping[str, Site], host: str, port: int) -> None:
        for prefix in sites:
            if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
                raise ValueError(f"mount prefix must be '' or '/name', not {prefix!r}")
        self.sites = dict(sites)
        self._mounts = sorted(self.sites.items(), key=lambda kv: -len(kv[0]))
        self.request_log: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self.stopping = False
        self._httpd = _Server((host, port), self)
        self.host = host
        self.port: int = self._httpd.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"samplesite-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def site(self) -> Site:
        """The site mounted at the root (or the only site)."""
        if "" in self.sites:
            return self.sites[""]
        if len(self.sites) == 1:
            return next(iter(self.sites.values()))
        raise KeyError("several sites are mounted; use server.sites[prefix]")

    def site_url(self, prefix: str = "") -> str:
        """The origin of the site mounted at ``prefix`` (``url`` + prefix)."""
        if prefix not in self.sites:
            raise KeyError(prefix)
        return self.url + prefix

    def mount_for(self, path: str) -> tuple[str, Site | None]:
        for prefix, site in self._mounts:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return prefix, site
        return "", None

    def root_response(self, path: str) -> Response:
        """Answers for paths no site owns: a combined robots.txt, else 404."""
        if path == "/robots.txt":
            # one group: robots parsers read only the first group that names their agent
            rules = [rule for prefix, site in self._mounts for rule in site.robots_rules(prefix)]
            text = "\n".join(["User-agent: *", *(rules or ["Disallow:"])]) + "\n"
            return Response(200, text.encode(), (("Content-Type", "text/plain"),))
        return NOT_FOUND

    def log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self.request_log.append(entry)

    def requests(
        self, kind: PathKind | None = None, site: str | None = None
    ) -> list[LoggedRequest]:
        """A snapshot of the log, optionally only one path kind and/or one mount."""
        with self._log_lock:
            return [
                r
                for r in self.request_log
                if (kind is None or r.kind == kind) and (site is None or r.site == site)
            ]

    def counts(self, site: str | None = None) -> Counter[str]:
        """Requests per path kind: ``listing``, ``article``, ``other``."""
        return Counter(r.kind for r in self.requests(site=site))

    def clear_log(self) -> None:
        with self._log_lock:
            self.request_log.clear()

    def stop(self) -> None:
        """Stop accepting, close kept-alive connections, release the port."""
        if self.stopping:
            return
        self.stopping = True
        self._httpd.shutdown()
        with self._httpd.sockets_lock:
            open_now = list(self._httpd.open_sockets)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RunningServer {self.url} sites={list(self.sites)}>"


def serve(
    sites: Mapping[str, Site] | Site, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    """Serve one site (at the root) or several (mounted at path prefixes) on ``host:port``.

    ``port=0`` picks a free port. Any loopback address works (``127.0.0.2``, ``::1``), so
    tests can give sites distinct hosts for per-host politeness.
    """
    mapping = {"": sites} if isinstance(sites, Site) else sites
    return RunningServer(mapping, host, port)
