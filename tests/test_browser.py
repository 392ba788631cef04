"""The index page in a real headless Chromium: it loads, lists the feeds, its links resolve.

Feeds come from real refreshes of fixture sites on loopback, served by the real app on
waitress. The screenshot lands in tmp_path; set ``FEEDBRIDGE_UPDATE_SCREENSHOT=1`` (or delete
docs/index-screenshot.png) to refresh the one kept in docs/.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
import requests

from feedbridge.config import load_config
from feedbridge.fetch import HttpClient
from feedbridge.model import Config
from feedbridge.refresh import refresh_source
from feedbridge.samplesite import KcnaSite, serve
from feedbridge.server import FeedServer, HttpServer, View
from feedbridge.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "index-screenshot.png"
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)"
)

SOURCE = """
  - id: {id}
    title: {title}
    description: {description}
    language: en
    timezone: Asia/Pyongyang
    listing:
      url: {url}
      items: div.article
      fields:
        title: h5.block a
        link: h5.block a
        date: {{css: span, regex: '(\\d{{4}}\\.\\d{{1,2}}\\.\\d{{1,2}})', formats: ['%Y.%m.%d']}}
    article:
      title: main article .container h1
      body: main article .container > p
    http: {{min_delay: 0, max_concurrency: 4, allow_private: true}}
    schedule: {{interval: {interval}, jitter: 0s}}
"""


def _config(tmp: Path, origin: str, down_origin: str) -> Config:
    site = KcnaSite(seed=5, count=5)
    cats = site.listing_urls(origin)
    text = f"""
settings:
  output_dir: {tmp / "feeds"}
  state_db: {tmp / "state.sqlite"}
  formats: [atom, rss, json]
  retries: 0
sources:
""" + "".join(
        SOURCE.format(id=i, title=t, description=d, url=u, interval=n)
        for i, t, d, u, n in [
            ("kcna-latest", "KCNA — Latest news", "Latest English articles", cats[0], "30m"),
            ("kcna-top", "KCNA — Top news", "Top stories of the day", cats[-1], "2h"),
            ("offline-site", "An unreachable site", "Its site answers 503", down_origin, "1h"),
        ]
    )
    path = tmp / "feedbridge.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.fixture
def index_url(tmp_path: Path) -> Iterator[str]:
    site, down = KcnaSite(seed=5, count=30), KcnaSite(seed=6, count=5)
    down.down = True
    with serve(site) as up_server, serve(down) as down_server:
        config = _config(tmp_path, up_server.url, down.listing_urls(down_server.url)[0])
        store = SQLiteStore(config.settings.state_db)
        client = HttpClient(config.settings)
        try:
            for source in config.sources:
                refresh_source(source, config.settings, client, store)
            states = {s.source_id: s for s in store.states()}
        finally:
            client.close()
            store.close()
        started = datetime.now(UTC)
        plan = {
            s.id: started + timedelta(minutes=s.schedule.interval_minutes) for s in config.sources
        }
        app = FeedServer(lambda: View(config, states, started, next_runs=plan))
        http = HttpServer(app, "127.0.0.1", 0, threads=4)
        http.start()
        try:
            yield http.url
        finally:
            http.stop(timeout=0)


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, timeout=120, check=False)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_index_page_in_a_real_browser(index_url: str, tmp_path: Path) -> None:
    done = chromium(tmp_path, "--dump-dom", index_url)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    doc = lxml.html.fromstring(done.stdout)

    # it lists every feed, with its status
    cards = {li.get("data-source"): li for li in doc.cssselect("li.feed")}
    assert set(cards) == {"kcna-latest", "kcna-top", "offline-site"}
    assert cards["kcna-latest"].get("data-status") == "ok"
    assert cards["offline-site"].get("data-status") == "failing"
    assert "503" in cards["offline-site"].text_content()
    assert "KCNA — Latest news" in cards["kcna-latest"].text_content()
    entries = cards["kcna-latest"].xpath(".//dt[.='Entries']/following-sibling::dd[1]")
    assert int(entries[0].text_content()) > 0
    next_run = cards["kcna-top"].xpath(".//dt[.='Next run']/following-sibling::dd[1]")
    assert next_run[0].text_content() == "in 2 h"

    # every link resolves: feeds with their content types, OPML, health, metrics
    links = [urljoin(index_url, a.get("href")) for a in doc.cssselect("li.feed .links a")]
    links += [urljoin(index_url, el.get("href")) for el in doc.cssselect("link[rel=alternate]")]
    links += [urljoin(index_url, a.get("href")) for a in doc.cssselect("footer a")]
    feed_links = [u for u in links if "/feeds/kcna-" in u]
    assert len(feed_links) == 2 * 2 * 3  # cards and autodiscovery, 2 feeds, 3 formats
    for url in links:
        assert urlsplit(url).netloc == urlsplit(index_url).netloc
        r = requests.get(url, timeout=10)
        if "/feeds/offline-site." in url:
            assert r.status_code == 404  # never published: its site was down from the start
            continue
        assert r.status_code in (200, 503), url  # /healthz may be 503: that is its answer
        if url.endswith(".atom"):
            assert r.headers["Content-Type"].startswith("application/atom+xml")
        if url.endswith(".rss"):
            assert r.headers["Content-Type"].startswith("application/rss+xml")
        if url.endswith(".json"):
            assert r.headers["Content-Type"].startswith("application/feed+json")

    # desktop and phone screenshots
    desktop = tmp_path / "index-desktop.png"
    done = chromium(tmp_path, f"--screenshot={desktop}", "--window-size=1280,900", index_url)
    assert done.returncode == 0 and png_size(desktop) == (1280, 900)
    phone = tmp_path / "index-phone.png"
    done = chromium(tmp_path, f"--screenshot={phone}", "--window-size=390,844", index_url)
    assert done.returncode == 0 and png_size(phone) == (390, 844)
    assert desktop.stat().st_size > 10_000  # a rendered page, not a blank image
    if os.environ.get("FEEDBRIDGE_UPDATE_SCREENSHOT") == "1" or not SCREENSHOT.exists():
        shutil.copyfile(desktop, SCREENSHOT)
