"""HTTP for feedbridge: the only module that talks to the network.

``HttpClient`` (one per process) holds what sources share: per-host limiters, the robots.txt
cache, settings. ``SourceSession`` (one per source refresh) holds what a source owns: its
headers, cookies, proxy, TLS setting, allowed hosts and a deadline. Every request goes through
the same path::

    check URL (scheme, host) → robots.txt → [resolve + address check → host slot → send →
    read body (capped, deadline)] with retries → redirect? (by hand, each hop re-checked)
    → status → decode → block detection → Page

Errors (from :mod:`feedbridge.errors`): ``UnsafeURLError`` (scheme/host/address),
``BlockedError`` (401/403, login redirect, bot-check page, robots.txt), ``ResponseTooLarge``,
``FetchError`` for the rest, with ``status`` and ``retry_after`` when the site said so.

The pure parts live beside it: :mod:`feedbridge.pages` (charset sniffing, block detection,
re-exported here), :mod:`feedbridge.politeness` (host limiters, retry timing) and
:mod:`feedbridge.robots` (robots.txt cache).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import threading
import time
import urllib.request
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_netrc_auth

from feedbridge import __version__
from feedbridge.errors import (
    BlockedError,
    FetchError,
    ResponseTooLarge,
    RobotsDisallowed,
    UnsafeURLError,
)
from feedbridge.model import HttpPolicy, Page, Settings, Source, Validators
from feedbridge.pages import decode_body, detect_block, looks_like_login, mime_type
from feedbridge.politeness import HostLimiters, backoff_delay, parse_retry_after
from feedbridge.robots import RobotsBacking, RobotsCache

log = logging.getLogger(__name__)

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
ERROR_BODY_BYTES = 65_536  # enough of an error page to say what it was
READ_CHUNK = 65_536
MAX_CRAWL_DELAY = 60.0  # robots.txt Crawl-delay is honoured up to this
ADDRESS_CHECK_TTL = 30.0  # seconds a host's public address check holds within one session

__all__ = [
    "HttpClient",
    "SourceSession",
    "decode_body",
    "detect_block",
    "looks_like_login",
    "default_user_agent",
]


def default_user_agent(settings: Settings) -> str:
    return settings.user_agent or f"feedbridge/{__version__} (+{settings.contact_url})"


class HttpClient:
    """One per process. Holds per-host limiters (concurrency semaphore + min delay between
    request starts), the robots.txt cache, and settings. Safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        backoff_base: float = 1.0,
        max_retry_after: float = 300.0,
        robots_ttl: float = 3600.0,
        rng: random.Random | None = None,
        robots_store: RobotsBacking | None = None,
    ) -> None:
        self.settings = settings
        self.user_agent = default_user_agent(settings)
        self.backoff_base = backoff_base
        self.max_retry_after = max_retry_after
        self.limiters = HostLimiters()
        self.robots = RobotsCache(
            ttl=robots_ttl, error_ttl=min(600.0, robots_ttl), backing=robots_store
        )
        self.rng = rng or random.Random()
        self._lock = threading.Lock()
        self._robots_warned: set[str] = set()
        self._sessions: weakref.WeakSet[SourceSession] = weakref.WeakSet()
        # What requests would read from the environment for each request, read once per
        # origin for the client's life: ~/.netrc credentials (three stat calls a request)
        # and proxies / CA bundle (a scan of os.environ: 10 % of an unchanged refresh).
        self._netrc: dict[str, tuple[str, str] | None] = {}
        self._environment: dict[tuple[str, str | None, bool | str], _EnvSettings] = {}
        self._env_proxies: bool | None = None  # any proxy set in the environment?

    def netrc_auth(self, url: str) -> tuple[str, str] | None:
        """``requests.utils.get_netrc_auth`` for ``url``'s host, looked up once per host."""
        host = urlsplit(url).netloc
        with self._lock:
            if host in self._netrc:
                return self._netrc[host]
        auth = get_netrc_auth(url)
        with self._lock:
            self._netrc[host] = auth
        return auth

    def environment(
        self, url: str, proxy: str | None, verify: bool | str, http: requests.Session
    ) -> _EnvSettings:
        """Proxies, verify and cert as ``Session.merge_environment_settings`` gives them for
        ``url`` (environment proxies and ``no_proxy``, ``REQUESTS_CA_BUNDLE``) in a session
        with this ``proxy`` and ``verify``; looked up once per origin, or once in all when the
        environment names no proxy."""
        parts = urlsplit(url)
        with self._lock:
            if self._env_proxies is None:
                # no proxy variables at all: the answer is the same for every origin
                self._env_proxies = bool(urllib.request.getproxies())
            origin = f"{parts.scheme}://{parts.netloc}" if self._env_proxies else "*"
            key = (origin, proxy, verify)
            known = self._environment.get(key)
        if known is None:
            proxies = {"http": proxy, "https": proxy} if proxy else {}
            got: Any = http.merge_environment_settings(url, proxies, True, None, None)
            known = (dict(got["proxies"] or {}), got["verify"], got["cert"])
            with self._lock:
                self._environment[key] = known
        return known

    def session(self, source: Source) -> SourceSession:
        """A session for one refresh of ``source``; its budget starts now."""
        if not source.http.respect_robots:
            with self._lock:
                first = source.id not in self._robots_warned
                self._robots_warned.add(source.id)
            if first:
                log.warning(
                    "source %s: robots.txt is not honoured (http.respect_robots: false)", source.id
                )
        session = SourceSession(self, source)
        with self._lock:
            self._sessions.add(session)
        return session

    def close(self) -> None:
        with self._lock:
            sessions = list(self._sessions)
        for s in sessions:
            s.close()
        self.robots.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: (proxies, verify, cert) for one origin, as requests merges them from the environment
_EnvSettings = tuple[dict[str, str], Any, Any]


@dataclass(frozen=True)
class _Answer:
    """One HTTP exchange, read and closed."""

    url: str
    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes


class _Transient(Exception):
    """A failure worth retrying (connection refused/reset, timeout, DNS)."""


class SourceSession:
    """One per source refresh: a ``requests.Session`` with the source's headers, cookies,
    proxy and TLS setting; a deadline (``settings.refresh_budget_seconds``); a request count.
    Usable from several threads at once (the host limits still hold)."""

    def __init__(self, client: HttpClient, source: Source) -> None:
        self._client = client
        self._source = source
        self._policy: HttpPolicy = source.http
        self._settings = client.settings
        self._deadline = time.monotonic() + self._settings.refresh_budget_seconds
        self._lock = threading.Lock()
        self.requests_sent = 0  # every attempt, redirect hop and robots.txt fetch
        self._hosts = {_host_of(u) for u in source.listing.urls} | {
            h.lower().rstrip(".") for h in self._policy.allowed_hosts
        }
        self._hosts.discard("")
        self._proxies = (
            {"http": self._policy.proxy, "https": self._policy.proxy} if self._policy.proxy else {}
        )
        self._http = requests.Session()
        self._http.headers.update({"User-Agent": client.user_agent, "Accept": ACCEPT})
        self._http.headers.update(self._policy.headers)
        self._http.cookies.update(self._policy.cookies)
        self._http.verify = self._policy.verify
        self._public_until: dict[str, float] = {}  # host:port → address check valid until
        # Sources sharing a host: the stricter settings apply from the moment both exist.
        for url in source.listing.urls:
            key = _host_port(url)
            if key:
                client.limiters.get(key, self._policy.max_concurrency, self._policy.min_delay)

    def get(
        self, url: str, *, validators: Validators | None = None, referer: str | None = None
    ) -> Page:
        """GET ``url``; with ``validators`` the request is conditional (a 304 gives a Page with
        ``not_modified=True``)."""
        return self._logged("GET", url, None, _request_headers(validators, referer), validators)

    def post(self, url: str, data: Mapping[str, str], *, referer: str | None = None) -> Page:
        """POST a form (used for form pagination; retried like a GET since such forms only
        read)."""
        return self._logged("POST", url, dict(data), _request_headers(None, referer), None)

    def allow_host(self, host: str) -> None:
        """Let this session fetch from ``host`` too (a listing or feed named it)."""
        with self._lock:
            self._hosts.add(host.lower().rstrip("."))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SourceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request path ---------------------------------------------------------------------

    def _logged(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        validators: Validators | None,
    ) -> Page:
        """``_fetch``, with every failure logged once (source, URL, reason)."""
        try:
            return self._fetch(method, url, data, headers, validators)
        except FetchError as e:
            log.warning("source %s: %s %s failed: %s", self._source.id, method, url, e)
            raise

    def _fetch(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        validators: Validators | None,
        *,
        for_robots: bool = False,
    ) -> Page:
        seen = [url]
        current = url
        while True:
            self._check_url(current)
            if not for_robots and self._policy.respect_robots:
                self._check_robots(current)
            answer = self._with_retries(method, current, data, headers, once=for_robots)
            if answer.status not in REDIRECTS:
                return self._page(answer, validators)
            current = self._next_hop(answer, seen)
            if answer.status == 303 or (answer.status in (301, 302) and method == "POST"):
                method, data = "GET", None
            seen.append(current)

    def _check_url(self, url: str) -> None:
        """Scheme and host; the address is checked right before each attempt."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise UnsafeURLError(url, f"scheme {parts.scheme!r} not allowed (http and https only)")
        host = _host_of(url)
        if not host:
            raise UnsafeURLError(url, "no host in URL")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as e:
            raise UnsafeURLError(url, f"bad port: {e}") from e
        with self._lock:
            allowed = host in self._hosts
            hosts = ", ".join(sorted(self._hosts))
        if not allowed:
            raise UnsafeURLError(
                url,
                f"host {host} is not one of this source's hosts ({hosts}); "
                "add it to http.allowed_hosts",
            )

    def _check_address(self, url: str) -> None:
        """Refuse hosts that resolve to private, loopback, link-local, multicast, reserved or
        unspecified addresses (unless ``http.allow_private``). Behind a proxy a name that does
        not resolve here is left to the proxy. Known gap: requests resolves the name again, so
        a DNS answer that changes between the two lookups (rebinding) is not caught.

        A public answer is trusted for ``ADDRESS_CHECK_TTL`` seconds within this session, so
        a refresh resolves its host once, not once per article (the gap above is the same:
        the name is resolved again when connecting)."""
        if self._policy.allow_private:
            return
        parts = urlsplit(url)
        host = _host_of(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = f"{host}:{port}"
        now = time.monotonic()
        with self._lock:
            if self._public_until.get(key, 0.0) > now:
                return  # checked a moment ago in this refresh (a site's pages share a host)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as e:
            if self._proxied(url):
                return
            raise _Transient(f"cannot resolve {host}: {e}") from e
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if _non_public(addr):
                raise UnsafeURLError(
                    url,
                    f"{host} resolves to non-public address {addr} "
                    "(set http.allow_private to allow)",
                )
        with self._lock:
            self._public_until[key] = now + ADDRESS_CHECK_TTL

    def _proxied(self, url: str) -> bool:
        if self._proxies:
            return True
        return self._http.trust_env and bool(requests.utils.get_environ_proxies(url))

    def _check_robots(self, url: str) -> None:
        """Raise BlockedError when robots.txt disallows ``url``; adopt its Crawl-delay (capped)
        as the host's minimum spacing."""
        self._remaining(url)  # a spent budget is our failure, not an unreachable robots.txt
        origin = _origin(url)
        rules = self._client.robots.rules(origin, self._fetch_robots, self._source.id)
        ua = str(self._http.headers.get("User-Agent", self._client.user_agent))
        delay = rules.crawl_delay(ua)
        if delay:
            key = _host_port(url)
            self._client.limiters.get(
                key, self._policy.max_concurrency, min(delay, MAX_CRAWL_DELAY)
            )
        if not rules.allows(url, ua):
            raise RobotsDisallowed(url, f"disallowed by robots.txt ({origin}/robots.txt)")

    def _fetch_robots(self, robots_url: str) -> tuple[int, str]:
        page = self._fetch("GET", robots_url, None, {}, None, for_robots=True)
        return page.status, page.text

    def _with_retries(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        *,
        once: bool = False,
    ) -> _Answer:
        """Send until an answer that is not 5xx/429, backing off in between (``once``: a
        single attempt, for robots.txt)."""
        attempts = 1 if once else self._settings.retries + 1
        for attempt in range(attempts):
            status: int | None = None
            asked: float | None = None
            try:
                answer = self._attempt(method, url, data, headers)
            except _Transient as e:
                failure = str(e)
            else:
                if answer.status != 429 and answer.status < 500:
                    return answer
                status = answer.status
                failure = f"HTTP {status} {answer.reason}".rstrip()
                asked = parse_retry_after(answer.headers.get("Retry-After"), datetime.now(UTC))
            wait = self._retry_wait(url, failure, status, asked, attempt + 1, attempts)
            log.warning(
                "source %s: %s %s: %s; retry %d/%d in %.2f s",
                *(self._source.id, method, url, failure, attempt + 1, attempts - 1, wait),
            )
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_wait(
        self,
        url: str,
        failure: str,
        status: int | None,
        asked: float | None,
        tried: int,
        attempts: int,
    ) -> float:
        """Seconds to wait before the next attempt, or the FetchError that ends the tries:
        out of attempts, a Retry-After longer than ``max_retry_after`` or the budget left, or
        a backoff the budget cannot pay for."""
        if asked is not None and asked > min(self._client.max_retry_after, self._remaining()):
            reason = f"{failure}; asked to wait {asked:.0f} s"
            raise FetchError(url, reason, status, asked)
        if tried >= attempts:
            reason = f"{failure} (after {attempts} attempts)"
            raise FetchError(url, reason, status, asked)
        base, rng = self._client.backoff_base, self._client.rng
        wait = asked if asked is not None else backoff_delay(tried - 1, base, rng)
        if wait >= self._remaining():
            reason = f"{failure}; refresh budget too short to retry"
            raise FetchError(url, reason, status, asked)
        return wait

    def _attempt(
        self, method: str, url: str, data: dict[str, str] | None, headers: dict[str, str]
    ) -> _Answer:
        """One request: address check, host slot, send, read the body."""
        self._remaining(url)
        self._check_address(url)
        limiter = self._client.limiters.get(
            _host_port(url), self._policy.max_concurrency, self._policy.min_delay
        )
        if not limiter.acquire(self._deadline):
            raise FetchError(url, "refresh budget exhausted waiting for the host's turn")
        try:
            with self._lock:
                self.requests_sent += 1
            remaining = self._remaining(url)
            timeout = (
                min(self._settings.connect_timeout, remaining),
                min(self._settings.read_timeout, remaining),
            )
            try:
                response = self._send(method, url, data, headers, timeout)
                with response:
                    content = self._read_body(response, url)
            except requests.exceptions.SSLError as e:
                raise FetchError(url, f"TLS error: {e}") from e
            except (requests.exceptions.ContentDecodingError, urllib3.exceptions.DecodeError) as e:
                raise FetchError(url, f"undecodable body: {e}") from e
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,
            ) as e:
                raise _Transient(f"{type(e).__name__}: {e}") from e
            except requests.RequestException as e:
                raise FetchError(url, f"{type(e).__name__}: {e}") from e
            except OSError as e:
                raise _Transient(f"{type(e).__name__}: {e}") from e
        finally:
            limiter.release()
        return _Answer(url, response.status_code, response.reason or "", response.headers, content)

    def _send(
        self,
        method: str,
        url: str,
        data: dict[str, str] | None,
        headers: dict[str, str],
        timeout: tuple[float, float],
    ) -> requests.Response:
        """What ``requests.Session.request`` does, without its per-request overheads.

        The same steps (session headers and cookies merged in, netrc auth, environment
        proxies and CA bundle, ``Session.send``), but the environment settings are looked up
        once per origin and session, and the session headers are merged directly: on
        Python 3.11 requests' ``merge_setting`` pays a runtime-``Protocol`` isinstance check
        (``_SupportsItems``) eight times per request, which with the environment lookups was
        40 % of an unchanged refresh's CPU (bench scenario 2).
        """
        session = self._http
        merged = CaseInsensitiveDict(session.headers)
        merged.update(headers)
        cookies = RequestsCookieJar()  # a copy, as requests makes one per request
        cookies.update(session.cookies)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers=merged,
            data=data or {},
            auth=self._client.netrc_auth(url) if session.trust_env and not session.auth else None,
            cookies=cookies,
        )
        proxies, verify, cert = self._client.environment(
            str(prepared.url), self._policy.proxy, self._policy.verify, session
        )
        return session.send(
            prepared,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            proxies=dict(proxies),
            verify=verify,
            cert=cert,
        )

    def _read_body(self, response: requests.Response, url: str) -> bytes:
        """Stream the body, cut at ``max_body_bytes`` (error pages: truncated quietly) and
        abandoned when the deadline passes (slow-drip bodies)."""
        ok = 200 <= response.status_code < 300
        limit = self._settings.max_body_bytes if ok else ERROR_BODY_BYTES
        declared = response.headers.get("Content-Length", "")
        if ok and declared.isdigit() and int(declared) > limit:
            raise ResponseTooLarge(url, f"Content-Length {declared} over max_body_bytes {limit}")
        raw: Any = response.raw
        body = bytearray()
        while True:
            if time.monotonic() >= self._deadline:
                raise FetchError(url, "refresh budget exhausted while reading the body")
            chunk: bytes = raw.read1(READ_CHUNK, decode_content=True)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > limit:
                if ok:
                    raise ResponseTooLarge(url, f"body over max_body_bytes {limit}")
                return bytes(body[:limit])

    def _remaining(self, url: str | None = None) -> float:
        """Seconds left in the budget; with ``url``, raise FetchError when none are."""
        left = self._deadline - time.monotonic()
        if url is not None and left <= 0:
            raise FetchError(
                url, f"refresh budget of {self._settings.refresh_budget_seconds:g} s exhausted"
            )
        return left

    def _next_hop(self, answer: _Answer, seen: list[str]) -> str:
        location = answer.headers.get("Location")
        if not location:
            raise FetchError(answer.url, f"HTTP {answer.status} without Location", answer.status)
        target = urljoin(answer.url, location.strip()).split("#", 1)[0]
        if looks_like_login(target):
            raise BlockedError(
                seen[0], f"redirected to a login/member page: {target}", answer.status
            )
        if target in seen:
            chain = " → ".join([*seen, target])
            raise FetchError(seen[0], f"redirect loop: {chain}", answer.status)
        if len(seen) > self._settings.max_redirects:
            raise FetchError(
                seen[0],
                f"more than {self._settings.max_redirects} redirects (last: {target})",
                answer.status,
            )
        return target

    def _page(self, answer: _Answer, validators: Validators | None) -> Page:
        """Turn a final answer into a Page or the error it means."""
        url, status = answer.url, answer.status
        content_type = answer.headers.get("Content-Type", "")
        got = Validators(
            etag=answer.headers.get("ETag"), last_modified=answer.headers.get("Last-Modified")
        )
        if status == 304:
            kept = got if (got.etag or got.last_modified) else (validators or Validators())
            return Page(url, status, b"", "", mime_type(content_type), kept, not_modified=True)
        text, encoding = decode_body(answer.content, content_type)
        page = Page(
            url, status, answer.content, text, mime_type(content_type), got, encoding=encoding
        )
        if status in (401, 403, 451):
            what = detect_block(page)
            reason = f"HTTP {status} {answer.reason}".rstrip() + (f" ({what})" if what else "")
            raise BlockedError(url, reason, status)
        if not 200 <= status < 300:
            reason = f"HTTP {status} {answer.reason}".rstrip()
            raise FetchError(url, reason, status)
        what = detect_block(page)
        if what:
            raise BlockedError(url, f"HTTP {status} but {what}", status)
        return page


# -- small helpers ----------------------------------------------------------------------------


def _request_headers(validators: Validators | None, referer: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if validators is not None:
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
    if referer:
        headers["Referer"] = referer
    return headers


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    host = _host_of(url)
    return f"{host}:{port}" if host else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1].lower()}"


def _non_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global
    )
