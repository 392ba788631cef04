"""The real CLI as a subprocess: run --once on bad input, config errors, exit codes, demo."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from feedcheck import check_atom, check_rss
from staticsite import StaticSite, static_site

ROOT = Path(__file__).resolve().parent.parent

CYRILLIC = (
    "Пхеньян, 10 ноября. Сегодня в столице состоялось торжественное собрание, посвящённое "
    "годовщине основания партии. Выступавшие подчеркнули важность дальнейшего развития "
    "экономики страны и укрепления обороноспособности государства."
)


def _post(title: str, body: str, charset: str = "utf-8") -> bytes:
    meta = f'<meta charset="{charset}">' if charset == "utf-8" else ""
    return (
        f"<html><head>{meta}<title>{title}</title></head><body><nav>Menu</nav>"
        f"<h1>{title}</h1><div class='post-body'>{body}</div><footer>Footer</footer></body></html>"
    ).encode(charset)


def blog_pages() -> dict[str, tuple[int, str, bytes]]:
    items = "".join(
        f"<li class='post'><a href='p/{n}.html'>Post {n}</a>"
        f"<span class='date'>2026-11-{10 + n}</span>"
        f"<p class='teaser'>Teaser of post {n}.</p></li>"
        for n in range(1, 7)
    )
    html = "text/html"
    return {
        "/list.html": (200, html, f"<html><body><ul>{items}</ul></body></html>".encode()),
        "/p/1.html": (200, html, _post("A normal post", "<p>Plain good text.</p><p>Second.</p>")),
        # truncated mid-way: no closing tags at all
        "/p/2.html": (200, html, _post("Cut short", "<p>Beginning of a long")[:-40]),
        "/p/3.html": (404, html, b"<html><body>Not here</body></html>"),
        "/p/4.html": (
            200,
            "text/html; charset=utf-8",
            _post("Less &lt;than&gt; &amp; more 😀", "<p>Title test body text.</p>"),
        ),
        # windows-1251, declared nowhere (no HTTP charset, no <meta>)
        "/p/5.html": (200, html, _post("Новости", f"<p>{CYRILLIC}</p>", charset="windows-1251")),
        # malformed: stray closing tags, unclosed elements, garbage
        "/p/6.html": (
            200,
            html,
            b"<html><body><h1>Broken</h1></div></div><div class='post-body'><p>Survives <b>bold"
            b"<p>and more</span></p>\x00\x01<<>></body>",
        ),
    }


def write_config(tmp: Path, origin: str, extra_sources: str = "") -> Path:
    path = tmp / "feedbridge.yaml"
    path.write_text(
        f"""settings:
  output_dir: {tmp / "feeds"}
  state_db: {tmp / "state.sqlite"}
  formats: [atom, rss]
sources:
  - id: blog
    title: A small blog
    timezone: Europe/Berlin
    listing:
      url: {origin}/list.html
      items: li.post
      fields:
        title: a
        link: a
        date: {{css: span.date, formats: ['%Y-%m-%d']}}
        summary: p.teaser
    article:
      title: h1
      body: div.post-body
    http: {{min_delay: 0.01, allow_private: true}}
{extra_sources}""",
        encoding="utf-8",
    )
    return path


BROKEN_SOURCE = """  - id: broken
    title: Broken listing
    listing:
      url: {origin}/list.html
      items: div.no-such-item
      fields: {{link: a}}
    http: {{min_delay: 0.01, allow_private: true}}
"""


def feedbridge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FEEDBRIDGE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "feedbridge", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd or ROOT,
    )


@pytest.fixture
def blog() -> Iterator[StaticSite]:
    with static_site(blog_pages()) as site:
        yield site


def test_run_once_on_bad_input_keeps_everything_and_reports(
    blog: StaticSite, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, blog.url, BROKEN_SOURCE.format(origin=blog.url))
    proc = feedbridge("--config", str(cfg), "run", "--once")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("blog: 6 new, 0 updated, 0 unchanged, 1 errors in "), lines
    assert lines[1].startswith("broken: FAILED (drift)"), lines
    assert "div.no-such-item" in lines[1] and f"{blog.url}/list.html" in lines[1]
    # the log names the source and the URL of each problem
    assert f"blog: {blog.url}/p/3.html: article gone (404)" in proc.stderr
    assert "broken: drift" in proc.stderr

    atom = (tmp_path / "feeds" / "blog.atom").read_bytes()
    rss = (tmp_path / "feeds" / "blog.rss").read_bytes()
    assert check_atom(atom) == [] and check_rss(rss) == []
    assert not (tmp_path / "feeds" / "broken.atom").exists()  # nothing published for it
    feed = feedparser.parse(atom)
    assert not feed.bozo
    by_link = {e.link.rsplit("/", 1)[1]: e for e in feed.entries}
    assert set(by_link) == {f"{n}.html" for n in range(1, 7)}
    assert "Plain good text." in by_link["1.html"].content[0].value
    assert "Beginning of a" in by_link["2.html"].content[0].value  # truncated page survives
    assert "Teaser of post 3." in by_link["3.html"].content[0].value  # 404 → listing summary
    assert by_link["4.html"].title == "Less <than> & more 😀"
    assert "Пхеньян, 10 ноября" in by_link["5.html"].content[0].value  # undeclared cp1251
    assert by_link["5.html"].title == "Новости"
    assert "Survives" in by_link["6.html"].content[0].value
    assert "and more" in by_link["6.html"].content[0].value
    # dates: the calendar day of the listing, stored in UTC
    assert by_link["1.html"].published.startswith("2026-11-11T")


def test_second_run_is_quiet_and_ids_stay(blog: StaticSite, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, blog.url)
    first = feedbridge("--config", str(cfg), "run", "--once")
    ids = [e.id for e in feedparser.parse((tmp_path / "feeds" / "blog.atom").read_bytes()).entries]
    second = feedbridge("--config", str(cfg), "run", "--once", "blog")
    assert first.returncode == second.returncode == 0
    assert second.stdout.startswith("blog: 0 new, 0 updated, 6 unchanged, 0 errors")
    again = [
        e.id for e in feedparser.parse((tmp_path / "feeds" / "blog.atom").read_bytes()).entries
    ]
    assert again == ids


def test_every_source_failing_exits_1_and_keeps_the_last_feed(
    blog: StaticSite, tmp_path: Path
) -> None:
    cfg = write_config(tmp_path, blog.url)
    assert feedbridge("--config", str(cfg), "run", "--once").returncode == 0
    good = (tmp_path / "feeds" / "blog.atom").read_bytes()
    blog.pages["/list.html"] = (200, "text/html", b"<html><body><p>We moved!</p></body></html>")
    proc = feedbridge("--config", str(cfg), "run", "--once")
    assert proc.returncode == 1
    assert "blog: FAILED (drift)" in proc.stdout
    assert (tmp_path / "feeds" / "blog.atom").read_bytes() == good


def test_unknown_source_id_is_a_usage_error(blog: StaticSite, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, blog.url)
    proc = feedbridge("--config", str(cfg), "run", "--once", "nope")
    assert proc.returncode == 2
    assert "no source with id 'nope'" in proc.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  - id: x\n    title: [unclosed\n", ":4:1: invalid YAML"),
        (
            "sources:\n  - id: x\n    title: X\n    titel: typo\n    listing: {url: 'http://a.b/', "
            "items: li, fields: {link: a}}\n",
            ":4: sources[0].titel: unknown key",
        ),
        (
            "sources:\n  - id: x\n    title: X\n    timezone: Mars/Olympus\n    listing: {url: "
            "'http://a.b/', items: li, fields: {link: a}}\n",
            ":4: sources[0].timezone:",
        ),
        (
            "sources:\n  - id: ../etc\n    title: X\n    listing: {url: 'http://a.b/', items: li, "
            "fields: {link: a}}\n",
            ":2: sources[0].id:",
        ),
        (
            "sources:\n  - id: x\n    title: X\n    listing: {url: 'http://a.b/', items: 'li[', "
            "fields: {link: a}}\n",
            "sources[0].listing.items",
        ),
    ],
    ids=["invalid-yaml", "unknown-key", "bad-timezone", "unsafe-id", "bad-selector"],
)
def test_config_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text, encoding="utf-8")
    for command in (["check-config"], ["run", "--once"]):
        proc = feedbridge("--config", str(cfg), *command)
        assert proc.returncode == 2, proc
        assert f"{cfg}" in proc.stderr and expected in proc.stderr, proc.stderr
    assert not (tmp_path / "feeds").exists()


def test_check_config_on_the_shipped_config() -> None:
    proc = feedbridge("check-config")
    assert proc.returncode == 0, proc.stderr
    assert "kcna-latest" in proc.stdout and "kcnawatch" in proc.stdout


def test_demo_builds_valid_feeds_offline(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = feedbridge("demo", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    for source in ("kcna-latest", "kcna-kim-jong-un", "kcna-top", "kcnawatch"):
        assert f"{source}: " in proc.stdout and " new, " in proc.stdout
        atom = (out / "feeds" / f"{source}.atom").read_bytes()
        assert check_atom(atom) == []
        assert check_rss((out / "feeds" / f"{source}.rss").read_bytes()) == []
        feed = feedparser.parse(atom)
        assert len(feed.entries) >= 5
        assert all(e.content[0].value for e in feed.entries)
    assert "FAILED" not in proc.stdout


def test_demo_run_twice_does_not_double_entries(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    for _ in range(2):
        assert feedbridge("demo", "--output", str(out)).returncode == 0
    feed = feedparser.parse((out / "feeds" / "kcna-latest.atom").read_bytes())
    titles = [e.title for e in feed.entries]
    assert len(titles) == len(set(titles)) > 10
