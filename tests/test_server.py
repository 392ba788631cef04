"""The WSGI app on a real waitress on a loopback port, over real files and a real store."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from feedbridge.metrics import Metrics
from feedbridge.model import (
    Config,
    ListingSpec,
    RefreshResult,
    Schedule,
    Settings,
    Source,
    SourceState,
)
from feedbridge.server import (
    FeedServer,
    HttpServer,
    View,
    accepts_gzip,
    not_modified,
)
from feedbridge.store import SQLiteStore

ATOM = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
    + (b"<title>News</title>" * 50)
    + b"</feed>\n"
)
RSS = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel/></rss>\n'
JSONF = b'{"version": "https://jsonfeed.org/version/1.1", "title": "News", "items": []}\n'


def source(sid: str, title: str, minutes: float = 30, stale: float | None = None) -> Source:
    return Source(
        id=sid,
        title=title,
        description=f"About {title}",
        language="en",
        home_url=f"http://example.test/{sid}",
        listing=ListingSpec(urls=(f"http://example.test/{sid}/list",)),
        schedule=Schedule(interval_minutes=minutes, jitter_seconds=0, stale_after_minutes=stale),
    )


@dataclass
class Harness:
    root: Path
    out: Path
    store: SQLiteStore
    config: Config
    metrics: Metrics
    started: datetime
    base: str = ""
    token: str | None = None
    server: HttpServer | None = None

    def view(self) -> View:
        states = {s.source_id: s for s in self.store.states()}
        return View(self.config, states, self.started, next_runs={}, running=frozenset())

    def start(self, token: str | None = None) -> None:
        self.stop()
        app = FeedServer(self.view, token=token, metrics=self.metrics)
        self.server = HttpServer(app, "127.0.0.1", 0, threads=4)
        self.server.start()
        self.base = self.server.url.rstrip("/")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=0)  # the loop thread is a daemon and ends within 1 s
            self.server = None

    def get(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        assert self.server is not None
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})  # the path is sent as written
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    out = tmp_path / "out"
    out.mkdir()
    (out / "news.atom").write_bytes(ATOM)
    (out / "news.rss").write_bytes(RSS)
    (out / "news.json").write_bytes(JSONF)
    (tmp_path / "secret.atom").write_text("TOP SECRET")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    os.symlink(tmp_path / "secret.atom", out / "evil.atom")
    settings = Settings(
        output_dir=out,
        state_db=tmp_path / "state.sqlite",
        base_url="https://feeds.example.org/feeds/",
        formats=("atom", "rss", "json"),
    )
    config = Config(
        settings=settings,
        sources=(source("news", "Daily <News> & more"), source("evil", "Evil")),
    )
    store = SQLiteStore(settings.state_db)
    now = datetime.now(UTC)
    store.save_state(
        SourceState("news", last_attempt=now, last_success=now, status="ok", entry_count=12)
    )
    store.save_state(
        SourceState(
            "evil",
            last_attempt=now,
            consecutive_failures=2,
            status="failing",
            last_error="http://example.test/evil/list: 403 <b>Forbidden</b>",
        )
    )
    harness = Harness(tmp_path, out, store, config, Metrics(), started=now)
    harness.metrics = Metrics(
        lambda: (harness.config.sources, harness.view().states, harness.started)
    )
    harness.metrics.declare(s.id for s in config.sources)
    harness.start()
    yield harness
    harness.stop()
    store.close()


def test_feeds_have_their_content_types_and_strong_validators(h: Harness) -> None:
    for ext, ctype, body in [
        ("atom", "application/atom+xml; charset=utf-8", ATOM),
        ("rss", "application/rss+xml; charset=utf-8", RSS),
        ("json", "application/feed+json; charset=utf-8", JSONF),
    ]:
        status, headers, got = h.get(f"/feeds/news.{ext}")
        assert status == 200
        assert headers["content-type"] == ctype
        assert got == body
        assert headers["etag"].startswith('"') and not headers["etag"].startswith("W/")
        assert headers["last-modified"].endswith("GMT")
        assert headers["cache-control"] == "public, max-age=900"  # half of 30 minutes
        assert "content-encoding" not in headers


def test_revalidation_gets_304_until_the_file_changes(h: Harness) -> None:
    _, first, _ = h.get("/feeds/news.atom")
    status, headers, body = h.get("/feeds/news.atom", {"If-None-Match": first["etag"]})
    assert (status, body) == (304, b"")
    assert headers["etag"] == first["etag"]
    status, _, _ = h.get("/feeds/news.atom", {"If-None-Match": f'"other", {first["etag"]}'})
    assert status == 304
    status, _, _ = h.get("/feeds/news.atom", {"If-Modified-Since": first["last-modified"]})
    assert status == 304
    earlier = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert h.get("/feeds/news.atom", {"If-Modified-Since": earlier})[0] == 200
    # If-None-Match wins over If-Modified-Since
    status, _, _ = h.get(
        "/feeds/news.atom",
        {"If-None-Match": '"stale"', "If-Modified-Since": first["last-modified"]},
    )
    assert status == 200

    # publish a new version the way publish.py does: write aside, rename over
    new = ATOM.replace(b"News", b"Newz")  # same length, same second: the hash still differs
    tmp = h.out / ".news.atom.tmp"
    tmp.write_bytes(new)
    st = (h.out / "news.atom").stat()
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, h.out / "news.atom")
    status, headers, body = h.get("/feeds/news.atom", {"If-None-Match": first["etag"]})
    assert status == 200 and body == new
    assert headers["etag"] != first["etag"]


def test_gzip_when_accepted(h: Harness) -> None:
    status, headers, body = h.get("/feeds/news.atom", {"Accept-Encoding": "br;q=1, gzip;q=0.8"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == ATOM
    assert int(headers["content-length"]) == len(body) < len(ATOM)
    status, again, _ = h.get(
        "/feeds/news.atom", {"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    )
    assert status == 304
    _, plain, body = h.get("/feeds/news.atom", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "content-encoding" not in plain and body == ATOM
    assert plain["etag"] != headers["etag"]  # one strong tag per representation


def test_head_sends_headers_without_a_body(h: Harness) -> None:
    status, headers, body = h.get("/feeds/news.rss", method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["content-length"]) == len(RSS)


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/../secret.atom",
        "/feeds/%2e%2e/secret.atom",
        "/feeds/%2E%2E%2Fsecret.atom",
        "/feeds/..%2fsecret.txt",
        "/feeds/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/feeds//etc/passwd",
        "/feeds/%2fetc%2fpasswd",
        "/feeds/" + "%2e%2e/" * 8 + "etc/passwd",
        "/feeds/evil.atom",  # a symlink out of the output directory
        "/feeds/news.atom/..%2f..%2fsecret.txt",
        "/../secret.txt",
        "/feeds/news.atom%00.txt",
        "/feeds/.news.atom.tmp",
    ],
)
def test_nothing_outside_the_output_directory_is_served(h: Harness, path: str) -> None:
    status, _, body = h.get(path)
    assert status in (400, 404)
    assert b"TOP SECRET" not in body and b"root:" not in body


def test_absolute_path_and_unknown_methods(h: Harness) -> None:
    status, _, body = h.get("/feeds//" + str(h.root / "secret.atom").lstrip("/"))
    assert status == 404 and b"TOP SECRET" not in body
    assert h.get("/feeds/news.atom", method="POST")[0] == 405
    assert h.get("/nope")[0] == 404
    assert h.get("/feeds/missing.atom")[0] == 404


def test_token_protects_everything_but_a_terse_healthz(h: Harness) -> None:
    h.start(token="s3cret-token")
    for path in ("/", "/feeds/news.atom", "/feeds.opml", "/metrics"):
        status, headers, _ = h.get(path)
        assert status == 401, path
        assert headers["www-authenticate"].startswith("Bearer")
    assert h.get("/feeds/news.atom", {"Authorization": "Bearer wrong"})[0] == 401
    assert h.get("/feeds/news.atom?token=wrong")[0] == 401
    status, headers, _ = h.get("/feeds/news.atom", {"Authorization": "Bearer s3cret-token"})
    assert status == 200 and headers["cache-control"].startswith("private")
    assert h.get("/feeds/news.atom?token=s3cret-token")[0] == 200
    # the index carries the query token into its links, so a reader gets a working URL
    status, _, page = h.get("/?token=s3cret-token")
    assert status == 200 and b'href="feeds/news.atom?token=s3cret-token"' in page
    status, _, body = h.get("/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok", "stale_count": 0}
    _, _, body = h.get("/healthz?token=s3cret-token")
    assert "sources" in json.loads(body)


def test_index_lists_every_feed_with_autodiscovery(h: Harness) -> None:
    status, headers, page = h.get("/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    text = page.decode()
    assert '<link rel="alternate" type="application/atom+xml"' in text
    assert 'href="feeds/news.atom"' in text and 'href="feeds/news.rss"' in text
    assert "Daily &lt;News&gt; &amp; more" in text  # titles are escaped
    assert "<b>Forbidden</b>" not in text and "403 &lt;b&gt;Forbidden&lt;/b&gt;" in text
    assert 'data-source="news" data-status="ok"' in text
    assert 'data-source="evil" data-status="failing"' in text
    assert "<dt>Entries</dt><dd>12</dd>" in text
    assert "https://feeds.example.org/feeds/news.atom" in text  # the URL to copy
    assert 'name="viewport"' in text and "<script" not in text


def test_opml_lists_every_feed(h: Harness) -> None:
    status, headers, body = h.get("/feeds.opml")
    assert status == 200 and headers["content-type"].startswith("text/x-opml")
    root = ET.fromstring(body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.find("head/title") is not None
    outlines = root.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == [
        "https://feeds.example.org/feeds/news.atom",
        "https://feeds.example.org/feeds/evil.atom",
    ]
    assert outlines[0].get("text") == "Daily <News> & more"
    assert outlines[0].get("type") == "rss"
    assert outlines[0].get("htmlUrl") == "http://example.test/news"


def test_opml_uses_the_request_host_when_base_url_is_left_default(h: Harness) -> None:
    h.config = replace(h.config, settings=replace(h.config.settings, base_url=Settings().base_url))
    _, _, body = h.get("/feeds.opml")
    urls = [o.get("xmlUrl") for o in ET.fromstring(body).findall("body/outline")]
    assert urls[0] == f"{h.base}/feeds/news.atom"


def test_healthz_names_stale_sources(h: Harness) -> None:
    # "evil" never succeeded; measured from the start it is not stale yet
    status, _, body = h.get("/healthz")
    assert status == 200 and json.loads(body)["stale"] == []
    h.started = datetime.now(UTC) - timedelta(hours=3)
    status, headers, body = h.get("/healthz")
    detail = json.loads(body)
    assert status == 503 and headers["content-type"] == "application/json"
    assert detail["status"] == "stale" and detail["stale"] == ["evil"]
    assert detail["sources"]["news"]["stale"] is False
    assert detail["sources"]["evil"]["consecutive_failures"] == 2
    # back to health once it succeeds
    now = datetime.now(UTC)
    h.store.save_state(SourceState("evil", last_attempt=now, last_success=now, status="ok"))
    assert h.get("/healthz")[0] == 200


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_parse_and_move(h: Harness) -> None:
    status, headers, body = h.get("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    before = _samples(body.decode())
    key = ("feedbridge_refreshes_total", (("outcome", "ok"), ("source", "news")))
    assert before[key] == 0
    last = ("feedbridge_last_success_timestamp_seconds", (("source", "news"),))
    assert abs(before[last] - time.time()) < 600
    assert before[("feedbridge_entries", (("source", "news"),))] == 12
    assert before[("feedbridge_source_status", (("source", "evil"), ("status", "failing")))] == 1

    h.metrics.observe(RefreshResult("news", new=3, updated=1, seconds=0.7, requests=5, errors=1))
    h.metrics.observe(
        RefreshResult("evil", ok=False, error_kind="blocked", errors=1, seconds=0.2, requests=1)
    )
    after = _samples(h.get("/metrics")[2].decode())
    assert after[key] == 1
    assert after[("feedbridge_entries_new_total", (("source", "news"),))] == 3
    assert after[("feedbridge_entries_updated_total", (("source", "news"),))] == 1
    assert after[("feedbridge_http_requests_total", (("source", "news"),))] == 5
    assert after[("feedbridge_errors_total", (("kind", "item"), ("source", "news")))] == 1
    assert after[("feedbridge_errors_total", (("kind", "blocked"), ("source", "evil")))] == 1
    assert after[("feedbridge_errors_total", (("kind", "item"), ("source", "evil")))] == 0
    assert after[("feedbridge_refresh_duration_seconds_count", (("source", "news"),))] == 1
    le1 = ("feedbridge_refresh_duration_seconds_bucket", (("le", "1.0"), ("source", "news")))
    assert after[le1] == 1


def test_conditional_and_encoding_rules() -> None:
    mod = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    tags = ('"abc"', '"abc-gz"')
    assert not_modified('"abc"', None, tags, mod)
    assert not_modified('W/"abc-gz"', None, tags, mod)
    assert not_modified("*", None, tags, mod)
    assert not not_modified('"abd"', None, tags, mod)
    assert not_modified(None, "Fri, 02 Jan 2026 03:04:05 GMT", tags, mod)
    assert not not_modified(None, "Fri, 02 Jan 2026 03:04:04 GMT", tags, mod)
    assert not not_modified(None, "garbage", tags, mod)
    assert not not_modified(None, None, tags, mod)
    assert accepts_gzip("gzip, deflate")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("")
    assert not accepts_gzip("br, *;q=0")
