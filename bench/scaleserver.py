"""Fixture sites at scale: thousands of sites, each on its own loopback address, one process.

One ``ThreadingHTTPServer`` per site would cost a thread per site and per connection; at 2,000
sites the fixture would be heavier than the program it measures. :class:`ScaleServer` runs a
single asyncio loop (in a daemon thread of the bench process) listening on one socket per
site, each on its own address in 127.0.0.0/8 (all loopback on Linux), so feedbridge's
per-host limits apply per site as they would on the internet.

Pages come from :class:`feedbridge.samplesite.Site` objects (their ``route``/``finish``
semantics: ETag, Last-Modified, 304). The rendered page of each path is cached per site
(:meth:`ScaleServer.warm` renders everything ahead of a timed run, so the server's share of
the two cores is a hash and a socket write per request); :meth:`ScaleServer.publish` drops a
site's cache. ``latency`` is slept with ``asyncio.sleep`` before answering, so it delays
without serialising.

Every request is recorded as a :class:`Hit` for the request-count checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedbridge.samplesite import GenericSite, Request, Response, SampleArticle, Site
from feedbridge.samplesite.site import Rendered

log = logging.getLogger(__name__)

_REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 405: "Method Not Allowed"}


class ScaleSite(GenericSite):
    """The generic newspaper with ``per_page`` teasers per listing page (20: one page holds a
    whole 20-article site; 1,000 articles make 50 pages)."""

    def __init__(self, seed: int | str = 0, count: int = 20, per_page: int = 20) -> None:
        self.per_page = per_page
        super().__init__(seed, count)

    def listing_page(self, page: int) -> list[SampleArticle]:
        return self.listed()[(page - 1) * self.per_page : page * self.per_page]

    def paths(self) -> list[str]:
        """Every page a refresh may ask for: listing pages, then articles."""
        pages = -(-len(self.listed()) // self.per_page)
        return [self.page_url(p) for p in range(1, pages + 1)] + [a.path for a in self.articles]


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    site: int
    method: str
    path: str
    kind: str  # listing | article | robots | other
    conditional: bool  # If-None-Match or If-Modified-Since was sent
    status: int
    start: float  # time.monotonic()


def loopback_host(index: int) -> str:
    """A distinct loopback address per site: 127.1.0.1, 127.1.0.2, … (62,500 of them)."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


class ScaleServer:
    """Serve ``sites[i]`` at ``origins[i]`` (its own loopback address, an ephemeral port)."""

    def __init__(self, sites: Sequence[Site], latency: float = 0.0) -> None:
        self.sites = list(sites)
        self.latency = latency
        self.origins: list[str] = []
        self.hits: list[Hit] = []
        self._cache: list[dict[str, Rendered | Response]] = [{} for _ in self.sites]
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="scale")
        self._writers: set[asyncio.StreamWriter] = set()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> ScaleServer:
        _raise_fd_limit(len(self.sites) * 2 + 1024)
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.origins = fut.result(timeout=120)
        return self

    async def _listen(self) -> list[str]:
        origins = []
        for i in range(len(self.sites)):
            host = loopback_host(i)
            server = await asyncio.start_server(functools.partial(self._serve, i), host, 0)
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
            origins.append(f"http://{host}:{port}")
        return origins

    def stop(self) -> None:
        async def close() -> None:
            for s in self._servers:
                s.close()
            for w in list(self._writers):
                w.close()
            for s in self._servers:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(s.wait_closed(), 1.0)

        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> ScaleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- site state ---------------------------------------------------------------------------

    def warm(self) -> None:
        """Render every page of every site now, outside any timed window."""
        for i, site in enumerate(self.sites):
            if not isinstance(site, ScaleSite):
                continue
            for path in site.paths():
                self._rendered(i, "GET", path, "")

    def publish(self, n: int) -> None:
        """Every site publishes ``n`` new articles; their caches are dropped."""
        for i, site in enumerate(self.sites):
            site.publish(n)
            self._cache[i] = {}

    def clear_hits(self) -> None:
        self.hits = []

    def counts(self) -> Counter[str]:
        """Requests by kind, plus ``<kind>:conditional`` and ``status:<n>`` tallies."""
        out: Counter[str] = Counter()
        for h in self.hits:
            out[h.kind] += 1
            out["total"] += 1
            out[f"status:{h.status}"] += 1
            if h.conditional:
                out[f"{h.kind}:conditional"] += 1
        return out

    # -- HTTP ---------------------------------------------------------------------------------

    def _rendered(self, i: int, method: str, path: str, query: str) -> Rendered | Response:
        key = f"{method} {path}?{query}"
        cache = self._cache[i]
        got = cache.get(key)
        if got is None:
            req = Request(method, path, query, {}, b"", self.origins[i], "")
            got = self.sites[i].route(req)
            if isinstance(got, Rendered) or got.status == 404:
                cache[key] = got
        return got

    def _answer(self, i: int, method: str, target: str, headers: dict[str, str]) -> Response:
        split = urlsplit(target)
        path = split.path or "/"
        site = self.sites[i]
        if path == "/robots.txt":
            return site.robots()
        out = self._rendered(i, method, path, split.query)
        if isinstance(out, Response):
            return out
        req = Request(method, path, split.query, headers, b"", self.origins[i], "")
        return site.finish(req, out)

    async def _serve(self, i: int, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        self._writers.add(w)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                start = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                if self.latency:
                    await asyncio.sleep(self.latency)
                response = self._answer(i, method, target, headers)
                w.write(_encode(response, method))
                await w.drain()
                path = target.split("?", 1)[0]
                self.hits.append(
                    Hit(
                        i,
                        method,
                        target,
                        "robots" if path == "/robots.txt" else self.sites[i].classify(path),
                        "if-none-match" in headers or "if-modified-since" in headers,
                        response.status,
                        start,
                    )
                )
                if headers.get("connection", "").lower() == "close":
                    return
        except Exception:  # a fixture bug must show, but must not kill the loop
            log.exception("scaleserver: site %d: request failed", i)
        finally:
            self._writers.discard(w)
            w.close()


def _encode(response: Response, method: str) -> bytes:
    status = response.status
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{k}: {v}" for k, v in response.headers]
    body = response.body if status not in (204, 304) and method != "HEAD" else b""
    if status != 304:
        lines.append(f"Content-Length: {len(response.body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


def _raise_fd_limit(wanted: int) -> None:
    """Thousands of listening sockets need more than the usual 1,024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
