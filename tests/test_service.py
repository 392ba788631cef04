"""``feedbridge serve`` as a real subprocess against a fixture site on loopback.

Every wait polls for a condition with a deadline; no sleep is an assertion.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import feedparser
import pytest
from prometheus_client.parser import text_string_to_metric_families

from feedbridge.samplesite import KcnaSite, RunningServer, serve

ROOT = Path(__file__).resolve().parents[1]
SID = "kcna-latest"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def write_config(
    path: Path, site_url: str, port: int, interval: str = "1s", stale_after: str = "60s"
) -> None:
    path.write_text(
        f"""
settings:
  output_dir: {path.parent / "feeds"}
  state_db: {path.parent / "state" / "feedbridge.sqlite"}
  base_url: http://127.0.0.1:{port}/feeds/
  formats: [atom, rss]
  retries: 0
  connect_timeout: 5
  read_timeout: 10
sources:
  - id: {SID}
    title: KCNA latest (fixture)
    timezone: Asia/Pyongyang
    listing:
      url: {site_url}
      items: div.article
      fields:
        title: h5.block a
        link: h5.block a
        date: {{css: span, regex: '(\\d{{4}}\\.\\d{{1,2}}\\.\\d{{1,2}})', formats: ['%Y.%m.%d']}}
    article:
      title: main article .container h1
      body: main article .container > p
      strip: ['\\s*-0-\\s*$']
    http: {{min_delay: 0, max_concurrency: 2, allow_private: true}}
    schedule: {{interval: {interval}, jitter: 0s, stale_after: {stale_after}}}
""",
        encoding="utf-8",
    )


@dataclass
class Serve:
    """One ``feedbridge serve`` process and the fixture site it reads."""

    tmp: Path
    server: RunningServer
    site: KcnaSite
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.tmp / "feedbridge.yaml"

    @property
    def feed_file(self) -> Path:
        return self.tmp / "feeds" / f"{SID}.atom"

    def start(self, *extra: str, **config: str) -> None:
        write_config(self.config, self.site.listing_urls(self.server.url)[0], self.port, **config)
        log = self.tmp / f"serve-{len(self.logs)}.log"
        self.logs.append(log)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FEEDBRIDGE_LOG_LEVEL": "INFO"}
        env.pop("FEEDBRIDGE_TOKEN", None)
        cmd = [sys.executable, "-m", "feedbridge", "--config", str(self.config), "serve"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), *extra]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=self.tmp, env=env, stdout=out, stderr=out)
        wait_for("the server to answer", lambda: self.status("/healthz") is not None)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.logs)

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def status(self, path: str) -> int | None:
        try:
            return self.get(path)[0]
        except OSError:
            return None

    def feed(self) -> feedparser.FeedParserDict | None:
        status, _, body = self.get(f"/feeds/{SID}.atom")
        return feedparser.parse(body) if status == 200 else None

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.get("/metrics")[2].decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text)
            for s in fam.samples
        }


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Serve]:
    site = KcnaSite(seed=3, count=20)
    server = serve(site)
    s = Serve(tmp_path, server, site)
    try:
        yield s
    finally:
        if s.proc is not None:
            s.proc.kill()
            s.proc.wait(10)
        server.stop()


def titles(feed: feedparser.FeedParserDict) -> set[str]:
    return {e.title for e in feed.entries}


def metric(svc: Serve, name: str, **labels: str) -> float:
    return svc.metrics().get((name, tuple(sorted({"source": SID, **labels}.items()))), 0.0)


def test_serve_feeds_revalidation_new_articles_opml_metrics(svc: Serve) -> None:
    svc.start()
    feed = wait_for("the first feed", svc.feed)
    assert not feed.bozo and len(feed.entries) == 15  # one listing page of the fixture
    assert titles(feed) == {a.title for a in svc.site.listed()[:15]}

    # a reader revalidating gets 304s
    status, headers, _ = svc.get(f"/feeds/{SID}.atom")
    assert headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert svc.get(f"/feeds/{SID}.atom", {"If-None-Match": headers["etag"]})[0] == 304
    assert svc.get(f"/feeds/{SID}.atom", {"If-Modified-Since": headers["last-modified"]})[0] == 304
    assert svc.get(f"/feeds/{SID}.rss")[1]["content-type"] == "application/rss+xml; charset=utf-8"

    # counters move with each scheduled refresh
    runs = wait_for(
        "a refresh counted", lambda: metric(svc, "feedbridge_refreshes_total", outcome="ok")
    )
    wait_for(
        "another refresh", lambda: metric(svc, "feedbridge_refreshes_total", outcome="ok") > runs
    )

    # the site publishes; the schedule fires; the reader sees the new articles
    new = svc.site.publish(3)
    wait_for(
        "the new articles in the feed",
        lambda: (f := svc.feed()) is not None and {a.title for a in new} <= titles(f),
    )
    status, after, _ = svc.get(f"/feeds/{SID}.atom", {"If-None-Match": headers["etag"]})
    assert status == 200 and after["etag"] != headers["etag"]
    assert metric(svc, "feedbridge_entries_new_total") >= 3
    assert metric(svc, "feedbridge_http_requests_total") > 0
    assert metric(svc, "feedbridge_refresh_duration_seconds_count") >= 2
    assert metric(svc, "feedbridge_last_success_timestamp_seconds") > time.time() - 60

    # OPML lists the feed and parses
    opml = ET.fromstring(svc.get("/feeds.opml")[2])
    assert [o.get("xmlUrl") for o in opml.findall("body/outline")] == [
        f"http://127.0.0.1:{svc.port}/feeds/{SID}.atom"
    ]
    page = svc.get("/")[2].decode()
    assert f'href="feeds/{SID}.atom"' in page and 'data-status="ok"' in page

    assert svc.stop() == 0
    assert "stopped" in svc.log_text()


def _articles_fetched(svc: Serve) -> int:
    return len(svc.server.requests(kind="article"))


def _store_check(tmp: Path) -> tuple[str, int, str | None]:
    db = sqlite3.connect(tmp / "state" / "feedbridge.sqlite")
    try:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        count = db.execute("SELECT count(*) FROM entries WHERE source_id = ?", (SID,)).fetchone()[0]
        row = db.execute("SELECT last_success FROM sources WHERE source_id = ?", (SID,)).fetchone()
        return integrity, count, row[0] if row else None
    finally:
        db.close()


def _valid_feed_files(tmp: Path) -> int:
    """Every published file parses whole; returns the Atom feed's entry count."""
    atom = feedparser.parse((tmp / "feeds" / f"{SID}.atom").read_bytes())
    rss = feedparser.parse((tmp / "feeds" / f"{SID}.rss").read_bytes())
    assert not atom.bozo and not rss.bozo
    assert len(atom.entries) == len(rss.entries)
    return len(atom.entries)


def test_sigterm_mid_refresh_finishes_or_abandons_cleanly_and_restart_continues(
    svc: Serve,
) -> None:
    # 1. SIGTERM while the first refresh is fetching articles: it is allowed to finish
    svc.site.latency = 0.15
    svc.start("--stop-timeout", "30", interval="1h")
    wait_for("the first refresh to be fetching articles", lambda: _articles_fetched(svc) >= 1)
    assert not svc.feed_file.exists()  # truly in the middle
    assert svc.stop() == 0
    assert _valid_feed_files(svc.tmp) == 15
    integrity, count, last_success = _store_check(svc.tmp)
    assert (integrity, count) == ("ok", 15) and last_success is not None

    # 2. restart: resumes from the store (no refetch within the hour), then SIGTERM while a
    #    refresh is in flight with almost no grace: the refresh is abandoned
    svc.server.clear_log()
    svc.site.latency = 0.0
    svc.start("--stop-timeout", "0.2", interval="1h")
    assert wait_for("the restarted service to answer", lambda: svc.feed()) is not None
    assert _articles_fetched(svc) == 0 and len(svc.server.requests(kind="listing")) == 0
    svc.stop()

    new = svc.site.publish(3)
    svc.site.latency = 0.3
    svc.server.clear_log()
    svc.start("--stop-timeout", "0.2", interval="1s")  # shorter interval: due at once
    wait_for("a refresh fetching the new articles", lambda: _articles_fetched(svc) >= 1, 30)
    started = time.monotonic()
    assert svc.stop() == 0
    assert time.monotonic() - started < 10  # bounded wait, not the whole refresh
    assert "abandoned" in svc.log_text()
    entries = _valid_feed_files(svc.tmp)
    integrity, count, _ = _store_check(svc.tmp)
    assert integrity == "ok" and count in (15, 18) and entries in (15, 18)

    # 3. the restarted process continues: the new articles arrive
    svc.site.latency = 0.0
    svc.start(interval="1s")
    wait_for(
        "the new articles after the restart",
        lambda: (f := svc.feed()) is not None and {a.title for a in new} <= titles(f),
        30,
    )
    assert _valid_feed_files(svc.tmp) == 18
    assert svc.stop() == 0


def test_healthz_turns_503_while_the_site_is_down_and_200_when_back(svc: Serve) -> None:
    svc.start(interval="1s", stale_after="3s")
    wait_for("a healthy first refresh", lambda: svc.status("/healthz") == 200 and svc.feed())
    svc.site.down = True
    body = wait_for(
        "/healthz to report the source stale",
        lambda: (r := svc.get("/healthz"))[0] == 503 and json.loads(r[2]),
    )
    assert body["stale"] == [SID]
    assert body["sources"][SID]["consecutive_failures"] >= 1
    assert "503" in (body["sources"][SID]["last_error"] or "")
    assert _valid_feed_files(svc.tmp) == 15  # the last good feed stays published
    svc.site.down = False
    wait_for("/healthz to recover", lambda: svc.status("/healthz") == 200, 30)
    assert svc.stop() == 0


def test_sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_invalid(
    svc: Serve,
) -> None:
    svc.start(interval="1h")
    wait_for("the first feed", svc.feed)
    assert svc.proc is not None
    good = svc.config.read_text()
    svc.config.write_text(good.replace("title: KCNA latest (fixture)", "title: Renamed"))
    svc.proc.send_signal(signal.SIGHUP)
    wait_for("the reloaded title on the index", lambda: "Renamed" in svc.get("/")[2].decode())
    svc.config.write_text(good.replace("items: div.article", "items: 'div[['"))
    svc.proc.send_signal(signal.SIGHUP)
    wait_for(
        "the reload failure in the log", lambda: "keeping the running config" in svc.log_text()
    )
    assert svc.proc.poll() is None
    assert svc.status("/") == 200 and "Renamed" in svc.get("/")[2].decode()
    assert svc.stop() == 0


def test_invalid_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("sources:\n  - id: Bad Id\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "feedbridge", "--config", str(cfg), "serve", "--port", "0"]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=30)
    assert done.returncode == 2
    assert b"bad.yaml" in done.stderr


def test_reload_to_an_unopenable_state_db_keeps_the_running_service(tmp_path: Path) -> None:
    """SIGHUP with a new state_db that cannot be opened: logged, the old config runs on."""
    from feedbridge.config import load_config
    from feedbridge.service import Service, _reload

    cfg_path = tmp_path / "fb.yaml"
    cfg_path.write_text(
        f"settings:\n  output_dir: {tmp_path / 'feeds'}\n  state_db: {tmp_path / 'a.sqlite'}\n"
        "sources: []\n",
        encoding="utf-8",
    )
    service = Service(load_config(cfg_path))
    try:
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("a file where a directory should be", encoding="utf-8")
        cfg_path.write_text(
            f"settings:\n  output_dir: {tmp_path / 'feeds'}\n"
            f"  state_db: {blocker / 'b.sqlite'}\nsources: []\n",
            encoding="utf-8",
        )
        before = service.view().config
        _reload(service, cfg_path, ())
        assert service.view().config is before
        assert before.settings.state_db == tmp_path / "a.sqlite"
    finally:
        service.close()
