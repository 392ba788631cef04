"""feedbridge.fetch against a misbehaving local server (tests/faultserver.py): one case per
fault, each asserting what the caller gets and what the server saw."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate
from typing import Any

import pytest
from faultserver import FaultServer, Logged, Reply

from feedbridge import __version__
from feedbridge.errors import BlockedError, FetchError, ResponseTooLarge, UnsafeURLError
from feedbridge.fetch import HttpClient, detect_block, looks_like_login
from feedbridge.model import HttpPolicy, ListingSpec, Page, Settings, Source, Validators
from feedbridge.pages import decode_body
from feedbridge.politeness import backoff_delay, parse_retry_after

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def make_source(
    server: FaultServer, *, urls: list[str] | None = None, id: str = "test", **http: Any
) -> Source:
    policy: dict[str, Any] = {
        "min_delay": 0.0,
        "max_concurrency": 8,
        "respect_robots": False,
        "allow_private": True,
    }
    policy.update(http)
    return Source(
        id=id,
        title="Test",
        listing=ListingSpec(urls=tuple(urls or [server.url("/")])),
        http=HttpPolicy(**policy),
    )


def make_client(**settings: Any) -> HttpClient:
    values: dict[str, Any] = {"retries": 2, "refresh_budget_seconds": 20.0}
    values.update(settings)
    return HttpClient(Settings(**values), backoff_base=0.01, rng=random.Random(1))


def fetch(
    server: FaultServer, path: str, *, settings: dict[str, Any] | None = None, **http: Any
) -> Page:
    with make_client(**(settings or {})) as client:
        return client.session(make_source(server, **http)).get(server.url(path))


# -- latency, retries, timeouts ---------------------------------------------------------------


def test_slow_answer_within_timeout_is_read(server: FaultServer) -> None:
    server.route("/slow", Reply(body="<p>late but fine</p>", delay=0.3))
    page = fetch(server, "/slow")
    assert page.status == 200 and "late but fine" in page.text
    assert len(server.requests("/slow")) == 1


def test_answer_slower_than_read_timeout_is_retried_then_fails(server: FaultServer) -> None:
    server.route("/slower", Reply(body="never in time", delay=0.5))
    with pytest.raises(FetchError) as e:
        fetch(server, "/slower", settings={"read_timeout": 0.15, "retries": 2})
    assert e.value.status is None and "after 3 attempts" in e.value.reason
    assert len(server.requests("/slower")) == 3


def test_server_errors_then_success_are_retried_and_counted(server: FaultServer) -> None:
    server.route("/flaky", Reply(500), Reply(502), Reply(body="ok now"))
    with make_client(retries=3) as client:
        session = client.session(make_source(server))
        page = session.get(server.url("/flaky"))
        assert page.text == "ok now"
        assert session.requests_sent == 3
    assert len(server.requests("/flaky")) == 3


def test_server_errors_beyond_retries_raise_with_status(server: FaultServer) -> None:
    server.route("/down", Reply(503))
    with pytest.raises(FetchError) as e:
        fetch(server, "/down", settings={"retries": 1})
    assert e.value.status == 503
    assert len(server.requests("/down")) == 2


def test_connection_reset_is_retried(server: FaultServer) -> None:
    server.route("/reset", Reply(reset=True), Reply(body="second try"))
    assert fetch(server, "/reset").text == "second try"
    assert len(server.requests("/reset")) == 2


def test_connection_reset_every_time_fails_without_status(server: FaultServer) -> None:
    server.route("/reset", Reply(reset=True))
    with pytest.raises(FetchError) as e:
        fetch(server, "/reset", settings={"retries": 1})
    assert e.value.status is None and not isinstance(e.value, BlockedError)
    assert len(server.requests("/reset")) == 2


def test_429_retry_after_seconds_is_honoured(server: FaultServer) -> None:
    server.route("/limited", Reply(429, headers={"Retry-After": "1"}), Reply(body="ok"))
    assert fetch(server, "/limited").text == "ok"
    first, second = server.requests("/limited")
    assert second.time - first.time >= 0.9


def test_503_retry_after_http_date_is_honoured(server: FaultServer) -> None:
    when = formatdate(time.time() + 2, usegmt=True)
    server.route("/limited", Reply(503, headers={"Retry-After": when}), Reply(body="ok"))
    assert fetch(server, "/limited").text == "ok"
    first, second = server.requests("/limited")
    assert second.time - first.time >= 0.9


def test_too_long_retry_after_raises_with_retry_after(server: FaultServer) -> None:
    server.route("/limited", Reply(429, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError) as e:
        fetch(server, "/limited")
    assert e.value.status == 429 and e.value.retry_after == 3600
    assert len(server.requests("/limited")) == 1


def test_too_long_retry_after_date_raises_with_retry_after(server: FaultServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    server.route("/limited", Reply(503, headers={"Retry-After": when}))
    with pytest.raises(FetchError) as e:
        fetch(server, "/limited")
    assert e.value.status == 503
    assert e.value.retry_after is not None and 7100 < e.value.retry_after <= 7200


def test_retry_after_beyond_budget_raises_instead_of_sleeping(server: FaultServer) -> None:
    server.route("/limited", Reply(429, headers={"Retry-After": "30"}))
    with pytest.raises(FetchError) as e:
        fetch(server, "/limited", settings={"refresh_budget_seconds": 5.0})
    assert e.value.retry_after == 30
    assert len(server.requests("/limited")) == 1


def test_not_found_is_not_retried(server: FaultServer) -> None:
    with pytest.raises(FetchError) as e:
        fetch(server, "/missing")
    assert e.value.status == 404 and not isinstance(e.value, BlockedError)
    assert len(server.requests("/missing")) == 1


# -- budget and size ----------------------------------------------------------------------------


def test_slow_drip_body_is_cut_by_the_budget(server: FaultServer) -> None:
    server.route("/drip", Reply(size=2000, drip=0.01, drip_chunk=1))  # 20 s of body
    with pytest.raises(FetchError) as e:
        fetch(server, "/drip", settings={"refresh_budget_seconds": 1.0, "read_timeout": 5.0})
    assert "budget" in e.value.reason and not isinstance(e.value, ResponseTooLarge)
    assert len(server.requests("/drip")) == 1


def test_spent_budget_sends_nothing(server: FaultServer) -> None:
    server.route("/page", Reply(body="x"))
    with pytest.raises(FetchError) as e:
        fetch(server, "/page", settings={"refresh_budget_seconds": 0.0})
    assert "budget" in e.value.reason
    assert server.requests() == []


def test_20mb_body_with_length_is_refused(server: FaultServer) -> None:
    server.route("/big", Reply(size=20_000_000, content_type="application/octet-stream"))
    with pytest.raises(ResponseTooLarge) as e:
        fetch(server, "/big")
    assert "Content-Length" in e.value.reason


def test_20mb_body_without_length_is_cut(server: FaultServer) -> None:
    server.route("/big", Reply(size=20_000_000, content_length=False))
    with pytest.raises(ResponseTooLarge) as e:
        fetch(server, "/big")
    assert "max_body_bytes 10000000" in e.value.reason


# -- redirects and safety -----------------------------------------------------------------------


def test_redirects_are_followed_by_hand(server: FaultServer) -> None:
    server.route("/old", Reply(301, headers={"Location": "/new"}))
    server.route("/new", Reply(302, headers={"Location": server.url("/newest?x=1")}))
    server.route("/newest", Reply(body="here"))
    with make_client() as client:
        session = client.session(make_source(server))
        page = session.get(server.url("/old"))
        assert page.url == server.url("/newest?x=1") and page.text == "here"
        assert session.requests_sent == 3


def test_redirect_loop_raises(server: FaultServer) -> None:
    server.route("/a", Reply(302, headers={"Location": "/b"}))
    server.route("/b", Reply(302, headers={"Location": "/a"}))
    with pytest.raises(FetchError) as e:
        fetch(server, "/a")
    assert "loop" in e.value.reason
    assert len(server.requests()) == 2


def test_too_many_redirects_raise(server: FaultServer) -> None:
    for n in range(10):
        server.route(f"/r{n}", Reply(302, headers={"Location": f"/r{n + 1}"}))
    with pytest.raises(FetchError) as e:
        fetch(server, "/r0", settings={"max_redirects": 3})
    assert "more than 3 redirects" in e.value.reason
    assert len(server.requests()) == 4


def test_private_address_refused_unless_allowed(server: FaultServer) -> None:
    server.route("/page", Reply(body="x"))
    with pytest.raises(UnsafeURLError) as e:
        fetch(server, "/page", allow_private=False)
    assert "127.0.0.1" in e.value.reason
    assert server.requests() == []


def test_redirect_to_private_address_is_refused(server: FaultServer) -> None:
    # The listing host is "public" (reached through the server acting as a proxy); it redirects
    # to localhost, an allowed host name that resolves to a loopback address.
    server.route("/start", Reply(302, headers={"Location": server.url("/secret", "localhost")}))
    server.route("/secret", Reply(body="internal"))
    source = make_source(
        server,
        urls=["http://public.test/start"],
        allowed_hosts=("localhost",),
        allow_private=False,
        proxy=server.url("").rstrip("/"),
    )
    with make_client() as client, pytest.raises(UnsafeURLError) as e:
        client.session(source).get("http://public.test/start")
    assert "localhost" in e.value.reason and "127.0.0.1" in e.value.reason
    (start,) = server.requests()
    assert start.target == "http://public.test/start" and start.host == "public.test"


def test_environment_proxy_is_honoured(
    server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", server.url(""))
    server.route("/via-proxy", Reply(body="proxied"))
    source = make_source(server, urls=["http://public.test/via-proxy"])
    with make_client() as client:
        page = client.session(source).get("http://public.test/via-proxy")
    assert page.text == "proxied"
    assert server.requests()[0].target == "http://public.test/via-proxy"


def test_redirect_to_other_host_needs_allow_host(server: FaultServer) -> None:
    other = server.url("/elsewhere", "localhost")
    server.route("/hop", Reply(302, headers={"Location": other}))
    server.route("/elsewhere", Reply(body="other host"))
    with make_client() as client:
        session = client.session(make_source(server))
        with pytest.raises(UnsafeURLError) as e:
            session.get(server.url("/hop"))
        assert "host localhost is not one of" in e.value.reason
        assert server.requests("/elsewhere") == []
        session.allow_host("localhost")
        page = session.get(server.url("/hop"))
    assert page.url == other and page.text == "other host"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "javascript:x"])
def test_non_http_scheme_is_refused(server: FaultServer, url: str) -> None:
    with make_client() as client, pytest.raises(UnsafeURLError) as e:
        client.session(make_source(server)).get(url)
    assert "scheme" in e.value.reason


def test_redirect_to_non_http_scheme_is_refused(server: FaultServer) -> None:
    server.route("/hop", Reply(302, headers={"Location": "file:///etc/passwd"}))
    with pytest.raises(UnsafeURLError):
        fetch(server, "/hop")
    assert len(server.requests()) == 1


# -- decoding ---------------------------------------------------------------------------------


def test_charset_from_header_only(server: FaultServer) -> None:
    body = "<html><body><p>Caf\u00e9 cr\u00e8me</p></body></html>".encode("latin-1")
    server.route("/l1", Reply(body=body, content_type="text/html; charset=ISO-8859-1"))
    page = fetch(server, "/l1")
    assert "Café crème" in page.text and page.encoding == "cp1252"


def test_charset_from_meta_only(server: FaultServer) -> None:
    html = '<html><head><meta charset="windows-1251"></head><body><p>Привет, мир</p></body></html>'
    server.route("/cp", Reply(body=html.encode("cp1251"), content_type="text/html"))
    page = fetch(server, "/cp")
    assert "Привет, мир" in page.text and page.encoding == "cp1251"


def test_charset_undeclared_is_detected(server: FaultServer) -> None:
    html = "<html><body><p>Grüße aus Pjöngjang – «Rodong Sinmun» é à ü ö</p></body></html>"
    server.route("/none", Reply(body=html.encode("utf-8"), content_type="text/html"))
    page = fetch(server, "/none")
    assert "Grüße aus Pjöngjang" in page.text and page.encoding == "utf-8"


def test_binary_body_is_not_decoded(server: FaultServer) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    server.route("/img", Reply(body=png, content_type="image/png"))
    page = fetch(server, "/img")
    assert page.content == png and page.text == "" and page.encoding is None
    assert page.content_type == "image/png"


@pytest.mark.parametrize(
    ("content", "content_type", "expected_text", "expected_encoding"),
    [
        ("é".encode("latin-1"), "text/plain; charset=latin1", "é", "cp1252"),
        (b"\x93quoted\x94", "text/html; charset=iso-8859-1", "\u201cquoted\u201d", "cp1252"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">Да'.encode(
                "cp1251"
            ),
            "text/html",
            "Да",
            "cp1251",
        ),
        ('<meta charset="windows-1251">é'.encode(), "text/html; charset=utf-8", "é", "utf-8"),
        (
            '<?xml version="1.0" encoding="windows-1251"?><rss>Да</rss>'.encode("cp1251"),
            "application/rss+xml",
            "Да",
            "cp1251",
        ),
        (b"\xef\xbb\xbf<p>bom</p>", "text/html; charset=latin-1", "<p>bom</p>", "utf-8"),
        (b"plain ascii", "text/html; charset=bogus-charset", "plain ascii", "ascii"),
        (b"", "text/html", "", None),
        (b"GIF89a\x00\x01", "image/gif", "", None),
        (b"\x00\x01\x02binary", "", "", None),
    ],
)
def test_decode_body(
    content: bytes, content_type: str, expected_text: str, expected_encoding: str | None
) -> None:
    text, encoding = decode_body(content, content_type)
    assert expected_text in text if expected_text else text == ""
    if expected_encoding != "ascii":
        assert encoding == expected_encoding
    else:
        assert encoding is not None


# -- blocks -----------------------------------------------------------------------------------


def test_bot_check_page_with_200_is_blocked(server: FaultServer) -> None:
    page = (
        "<html><head><title>Just a moment...</title></head><body>"
        "<div id='challenge-running'>Checking if the site connection is secure</div>"
        "<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script>"
        "</body></html>"
    )
    server.route("/article", Reply(body=page))
    with pytest.raises(BlockedError) as e:
        fetch(server, "/article")
    assert "Just a moment" in e.value.reason and e.value.status == 200
    assert len(server.requests("/article")) == 1


def test_403_is_blocked_and_not_retried(server: FaultServer) -> None:
    server.route("/newstream/", Reply(403, body="<title>Access denied</title>"))
    with pytest.raises(BlockedError) as e:
        fetch(server, "/newstream/")
    assert e.value.status == 403 and "Access denied" in e.value.reason
    assert len(server.requests()) == 1


def test_login_redirect_is_blocked(server: FaultServer) -> None:
    server.route("/newstream/123-456/x/", Reply(302, headers={"Location": "/free-member-form/"}))
    with pytest.raises(BlockedError) as e:
        fetch(server, "/newstream/123-456/x/")
    assert "/free-member-form/" in e.value.reason
    assert server.requests("/free-member-form/") == []


def _page(text: str, content_type: str = "text/html") -> Page:
    return Page("http://x.test/", 200, text.encode(), text, content_type)


FILLER = "<p>" + "Pyongyang, November 10 (KCNA) -- A long article body. " * 60 + "</p>"


@pytest.mark.parametrize(
    ("html", "content_type", "expected"),
    [
        ("<title>Just a moment...</title>", "text/html", "Just a moment"),
        ("<title>Attention Required! | Cloudflare</title>", "text/html", "Attention Required"),
        ("<title>  Checking your\n browser</title>", "text/html", "Checking your browser"),
        ("<TITLE>Access Denied</TITLE><h1>Access Denied</h1>", "text/html", "Access denied"),
        ("<title>DDoS-Guard</title>", "", "DDoS-Guard"),
        ("<title>Pardon Our Interruption</title>", "text/html", "Imperva"),
        (
            "<title>KCNA</title><script>window._cf_chl_opt={}</script>" + FILLER,
            "text/html",
            "cf_chl",
        ),
        ("<title>Verify</title><div class='g-recaptcha'></div>", "text/html", "captcha"),
        (
            "<title>Wait</title><script src='/cdn-cgi/challenge-platform/x.js'></script>",
            "",
            "challenge",
        ),
        # Real pages: no block.
        ("<title>KCNA | Kim Jong Un Inspects Farm</title>" + FILLER, "text/html", None),
        ("<title>KCNA</title><p>They said access denied to the press.</p>", "text/html", None),
        (
            "<title>KCNA</title><script src='/cdn-cgi/challenge-platform/s.js'></script>" + FILLER,
            "text/html",
            None,
        ),
        ("<title>Blog</title>" + FILLER + "<p>Our new captcha is live.</p>", "text/html", None),
        ("<rss><title>Just a moment...</title></rss>", "application/rss+xml", None),
        ("<rss><item>captcha</item></rss>", "application/xml", None),
        # Headlines that start like block titles, and short posts that load reCAPTCHA for a
        # comment form, are articles.
        ("<title>Access denied: the files nobody saw</title>" + FILLER, "text/html", None),
        ("<title>Please wait for the harvest</title>" + FILLER, "text/html", None),
        (
            "<title>Short note</title><script src='https://www.google.com/recaptcha/api.js'>"
            "</script><p>A short real post.</p>",
            "text/html",
            None,
        ),
    ],
)
def test_detect_block(html: str, content_type: str, expected: str | None) -> None:
    found = detect_block(_page(html, content_type))
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected.lower() in found.lower()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://kcnawatch.org/free-member-form/", True),
        ("https://kcnawatch.org/wp-login.php?redirect_to=x", True),
        ("https://example.com/account/login", True),
        ("https://example.com/signin?next=/a", True),
        ("https://example.com/member/", True),
        ("https://example.com/Login.aspx", True),
        ("https://kcnawatch.org/newstream/1234567890-123456789/member-states-meet/", False),
        ("http://www.kcna.kp/en/article/detail/abc", False),
        ("https://example.com/blog/logins-are-hard", False),
    ],
)
def test_looks_like_login(url: str, expected: bool) -> None:
    assert looks_like_login(url) is expected


# -- robots.txt -------------------------------------------------------------------------------


def test_robots_disallow_blocks_and_is_cached(server: FaultServer) -> None:
    # Our own group wins over "*" (which shuts everyone else out).
    rules = (
        "User-agent: feedbridge\nDisallow: /private\nDisallow: /no-bots\n\n"
        "User-agent: *\nDisallow: /\n"
    )
    server.route("/robots.txt", Reply(body=rules, content_type="text/plain"))
    server.route("/public", Reply(body="ok"))
    source = make_source(server, respect_robots=True)
    with make_client() as client:
        session = client.session(source)
        assert session.get(server.url("/public")).text == "ok"
        for path in ("/private/page", "/no-bots"):
            with pytest.raises(BlockedError) as e:
                session.get(server.url(path))
            assert "robots.txt" in e.value.reason
        client.session(source).get(server.url("/public"))
    assert len(server.requests("/robots.txt")) == 1
    assert server.requests("/private/page") == server.requests("/no-bots") == []


def test_robots_fetched_once_by_concurrent_threads(server: FaultServer) -> None:
    server.route("/robots.txt", Reply(body="User-agent: *\nAllow: /\n", delay=0.2))
    server.route("/public", Reply(body="ok"))
    with make_client() as client:
        session = client.session(make_source(server, respect_robots=True))
        threads = [
            threading.Thread(target=session.get, args=(server.url("/public"),)) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(server.requests("/robots.txt")) == 1
    assert len(server.requests("/public")) == 4


def test_robots_crawl_delay_spaces_requests(server: FaultServer) -> None:
    server.route("/robots.txt", Reply(body="User-agent: *\nCrawl-delay: 1\n"))
    server.route("/page", Reply(body="ok"))
    with make_client() as client:
        session = client.session(make_source(server, respect_robots=True, min_delay=0.0))
        session.get(server.url("/page"))
        session.get(server.url("/page"))
    first, second = server.requests("/page")
    assert second.time - first.time >= 0.9


@pytest.mark.parametrize(
    ("status", "logged"), [(404, False), (410, False), (429, True), (500, True)]
)
def test_robots_missing_or_broken_allows(
    server: FaultServer, caplog: pytest.LogCaptureFixture, status: int, logged: bool
) -> None:
    server.route("/robots.txt", Reply(status, body="Disallow: /"))
    server.route("/page", Reply(body="ok"))
    with caplog.at_level(logging.WARNING, logger="feedbridge.robots"):
        assert fetch(server, "/page", respect_robots=True).text == "ok"
    assert len(server.requests("/robots.txt")) == 1  # not retried
    robots_logs = [r for r in caplog.records if r.name == "feedbridge.robots"]
    assert any("robots.txt" in r.getMessage() for r in robots_logs) is logged
    assert all(r.name != "feedbridge.fetch" for r in caplog.records)  # no noise for robots


def test_ignoring_robots_warns_once_per_source(
    server: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    source = make_source(server, id="rude", respect_robots=False)
    with caplog.at_level(logging.WARNING, logger="feedbridge.fetch"), make_client() as client:
        client.session(source)
        client.session(source)
    warnings = [r for r in caplog.records if "robots.txt is not honoured" in r.getMessage()]
    assert len(warnings) == 1 and "rude" in warnings[0].getMessage()


def test_requests_sent_counts_robots_and_retries(server: FaultServer) -> None:
    server.route("/flaky", Reply(500), Reply(body="ok"))
    source = make_source(server, respect_robots=True)
    with make_client() as client:
        first = client.session(source)
        first.get(server.url("/flaky"))
        assert first.requests_sent == 3  # robots.txt (404) + 500 + 200
        second = client.session(source)
        second.get(server.url("/flaky"))
        assert second.requests_sent == 1  # robots.txt cached, the page answers at once
    assert len(server.requests()) == 4


# -- conditional GET, headers, POST -------------------------------------------------------------


def test_conditional_get_304(server: FaultServer) -> None:
    def answer(req: Logged) -> Reply:
        if req.headers.get("If-None-Match") == '"v1"':
            return Reply(304, content_type=None, headers={"ETag": '"v1"'})
        headers = {"ETag": '"v1"', "Last-Modified": "Wed, 21 Oct 2026 07:28:00 GMT"}
        return Reply(body="fresh", headers=headers)

    server.route("/feed", answer)
    with make_client() as client:
        session = client.session(make_source(server))
        first = session.get(server.url("/feed"))
        assert first.validators == Validators('"v1"', "Wed, 21 Oct 2026 07:28:00 GMT")
        again = session.get(server.url("/feed"), validators=first.validators)
    assert again.not_modified and again.status == 304
    assert again.content == b"" and again.text == ""
    assert again.validators.etag == '"v1"'
    sent = server.requests("/feed")[1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Wed, 21 Oct 2026 07:28:00 GMT"


def test_headers_cookies_and_user_agent(server: FaultServer) -> None:
    server.route("/page", Reply(body="ok"))
    fetch(server, "/page", headers={"X-Test": "1"}, cookies={"member": "yes"})
    with make_client(user_agent="CustomBot/2.0") as client:
        client.session(make_source(server)).get(server.url("/page"), referer="http://r.test/")
    first, second = server.requests("/page")
    assert first.headers["User-Agent"] == (
        f"feedbridge/{__version__} (+https://github.com/feedbridge/feedbridge)"
    )
    assert first.headers["X-Test"] == "1" and "member=yes" in first.headers["Cookie"]
    assert second.headers["User-Agent"] == "CustomBot/2.0"
    assert second.headers["Referer"] == "http://r.test/"


def test_form_post_keeps_session_cookie_and_referer(server: FaultServer) -> None:
    server.route("/list", Reply(body="page 1", headers={"Set-Cookie": "JSESSIONID=s1; Path=/"}))
    with make_client() as client:
        session = client.session(make_source(server))
        first = session.get(server.url("/list"))
        page = session.post(
            server.url("/list"), {"_csrf": "tok", "page_num": "2"}, referer=first.url
        )
    assert page.text == "page 1"
    post = server.requests("/list")[1]
    assert post.method == "POST" and post.body == b"_csrf=tok&page_num=2"
    assert "JSESSIONID=s1" in post.headers["Cookie"]
    assert post.headers["Referer"] == server.url("/list")


def test_post_then_303_becomes_get(server: FaultServer) -> None:
    server.route("/form", Reply(303, headers={"Location": "/result"}))
    server.route("/result", Reply(body="done"))
    with make_client() as client:
        page = client.session(make_source(server)).post(server.url("/form"), {"a": "1"})
    assert page.text == "done"
    assert [r.method for r in server.requests()] == ["POST", "GET"]


# -- politeness -------------------------------------------------------------------------------


def _hammer(sessions: list[Any], url: str, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            sessions[i % len(sessions)].get(url)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _min_gap(server: FaultServer) -> float:
    starts = sorted(r.time for r in server.requests())
    return min(b - a for a, b in zip(starts, starts[1:], strict=False))


def test_per_host_concurrency_and_delay(server: FaultServer) -> None:
    # Answers take longer than the spacing, so a second request is in flight while the first
    # is served; a third must wait. Generous margins: the server sees arrivals, not starts.
    server.route("/slow", Reply(body="ok", delay=0.5))
    source = make_source(server, max_concurrency=2, min_delay=0.2)
    with make_client() as client:
        sessions = [client.session(source), client.session(source)]
        assert _hammer(sessions, server.url("/slow"), 5) == []
    assert len(server.requests("/slow")) == 5
    assert server.max_in_flight() == 2
    assert _min_gap(server) >= 0.12


@pytest.mark.parametrize(("concurrency", "delay"), [(1, 0.0), (8, 0.2)])
def test_sources_sharing_a_host_get_the_stricter_limits(
    server: FaultServer, concurrency: int, delay: float
) -> None:
    server.route("/slow", Reply(body="ok", delay=0.1))
    loose = make_source(server, id="loose", max_concurrency=8, min_delay=0.0)
    strict = make_source(server, id="strict", max_concurrency=concurrency, min_delay=delay)
    with make_client() as client:
        sessions = [client.session(loose), client.session(strict)]
        assert _hammer(sessions, server.url("/slow"), 4) == []
    assert len(server.requests("/slow")) == 4
    if concurrency == 1:
        assert server.max_in_flight() == 1
    else:
        assert _min_gap(server) >= 0.12


# -- pure timing helpers ----------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = datetime(2026, 7, 19, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(" 7 ", now) == 7
    assert parse_retry_after("Sun, 19 Jul 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Sun, 19 Jul 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_has_full_jitter_within_exponential_bounds() -> None:
    rng = random.Random(7)
    for attempt in range(5):
        delays = [backoff_delay(attempt, 0.5, rng) for _ in range(200)]
        assert all(0 <= d <= 0.5 * 2**attempt for d in delays)
        assert max(delays) > 0.5 * 2**attempt * 0.8 and min(delays) < 0.5 * 2**attempt * 0.2


def test_declared_charset_that_does_not_decode_falls_back_to_detection() -> None:
    body = "<html><body><h1>Café Müller reopens after £11m refit</h1></body></html>".encode(
        "latin-1"
    )
    text, encoding = decode_body(body, "text/html; charset=UTF-8")
    assert encoding == "cp1252"
    assert "Café Müller reopens after £11m refit" in text
    # a declaration that does decode is trusted
    good = "<p>Пхеньян</p>".encode()
    assert decode_body(good, "text/html; charset=utf-8") == ("<p>Пхеньян</p>", "utf-8")
