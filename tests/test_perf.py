"""Behaviour kept by the performance work (bench scenarios 2, 3, 6): the cheaper paths must
give the answers the plain ones gave."""

from __future__ import annotations

import os
import socket
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from faultserver import FaultServer, Reply

from feedbridge.errors import UnsafeURLError
from feedbridge.fetch import HttpClient
from feedbridge.model import Entry, HttpPolicy, ListingSpec, Settings, Source
from feedbridge.publish import feed_meta, publish, sweep_stale_temps
from feedbridge.store import MIGRATIONS, SQLiteStore

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _entry(source_id: str, k: int) -> Entry:
    url = f"https://example.org/{source_id}/{k}.html"
    return Entry(
        source_id=source_id,
        key=url,
        entry_id=url,
        url=url,
        title=f"Entry {k}",
        published=NOW,
        updated=NOW,
        content_html=f"<p>Body {k}</p>",
        summary=f"Body {k}",
        content_hash=f"h{k}",
    )


# -- publish: stale temp files -----------------------------------------------------------------


def test_sweep_removes_old_temps_of_every_feed_once_per_interval(tmp_path: Path) -> None:
    old_atom = tmp_path / ".a.atom.abc123.tmp"
    old_json = tmp_path / ".b.json.x_9y.tmp"
    young = tmp_path / ".a.rss.def456.tmp"
    foreign = tmp_path / ".notes.txt.zzz.tmp"  # not a feed's temp file: never ours to remove
    for p in (old_atom, old_json, young, foreign):
        p.write_bytes(b"partial")
    for p in (old_atom, old_json, foreign):
        os.utime(p, (1, 1))
    assert sweep_stale_temps(tmp_path) == 2
    assert not old_atom.exists() and not old_json.exists()
    assert young.exists() and foreign.exists()
    later = tmp_path / ".c.atom.qqq.tmp"
    later.write_bytes(b"partial")
    os.utime(later, (1, 1))
    assert sweep_stale_temps(tmp_path) == 0  # swept a moment ago: not listed again
    assert later.exists()
    assert sweep_stale_temps(tmp_path, older_than=0.0) == 2  # interval over: both old ones
    assert not later.exists() and not young.exists()


def test_publish_sweeps_its_directory(tmp_path: Path) -> None:
    out = tmp_path / "feeds"
    out.mkdir()
    stale = out / ".src.atom.abc123.tmp"
    stale.write_bytes(b"partial")
    os.utime(stale, (1, 1))
    source = Source(id="src", title="Src", listing=ListingSpec(urls=("https://example.org/",)))
    written = publish(feed_meta(source, Settings()), [_entry("src", 1)], out, ("atom", "json"))
    assert [p.name for p in written] == ["src.atom", "src.json"]
    assert not stale.exists()
    assert sorted(p.name for p in out.iterdir()) == ["src.atom", "src.json"]


# -- store: the entry count kept by triggers ---------------------------------------------------


def _true_count(path: Path, source_id: str) -> int:
    with sqlite3.connect(path) as conn:
        n = conn.execute("SELECT count(*) FROM entries WHERE source_id = ?", (source_id,))
        result = int(n.fetchone()[0])
    conn.close()
    return result


def test_count_follows_inserts_updates_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(path) as store:
        assert store.count("a") == 0  # never seen
        store.save_entries([_entry("a", k) for k in range(5)] + [_entry("b", 1)], NOW)
        assert (store.count("a"), store.count("b")) == (5, 1)
        changed = [Entry(**{**_entry("a", 0).__dict__, "content_hash": "new"}), _entry("a", 1)]
        counts = store.save_entries(changed, NOW)  # an update and a re-sighting add nothing
        assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 1)
        assert store.count("a") == 5
        assert store.delete("a", [_entry("a", 0).key, _entry("a", 3).key, "missing"]) == 2
        assert store.count("a") == 3 == _true_count(path, "a")
        assert store.count("b") == 1 == _true_count(path, "b")


def test_count_is_computed_when_an_older_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(path, migrations=MIGRATIONS[:3]) as old:
        old.save_entries([_entry("a", k) for k in range(7)] + [_entry("b", 1)], NOW)
    with SQLiteStore(path) as store:
        assert store.version == len(MIGRATIONS)
        assert (store.count("a"), store.count("b")) == (7, 1)
        store.save_entries([_entry("a", 7)], NOW)
        assert store.count("a") == 8 == _true_count(path, "a")


def test_empty_writes_open_no_transaction(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(path) as store:
        store.save_entries([_entry("a", 1)], NOW)
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        assert store.save_entries([], NOW).new == 0
        store.touch("a", [], NOW)
        store.save_validators({})
        assert store.delete("a", []) == 0
        assert statements == []
        store.touch("a", [_entry("a", 1).key], NOW)
        assert statements[0] == "BEGIN IMMEDIATE"  # the check above can see a transaction
        assert store.count("a") == 1


# -- fetch: the address check once per host and session --------------------------------------


def _counting_resolver(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> list[str]:
    """Resolve the named hosts to the given addresses (as DNS would), counting lookups."""
    asked: list[str] = []
    real = socket.getaddrinfo

    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:  # the proxy's own address, resolved when connecting
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)  # the module fetch and urllib3 both use
    return asked


def _public_source(proxy: str) -> Source:
    policy = HttpPolicy(min_delay=0.0, respect_robots=False, allow_private=False, proxy=proxy)
    return Source(
        id="pub", title="Pub", listing=ListingSpec(urls=("http://public.test/a",)), http=policy
    )


def test_public_address_is_checked_once_per_host_and_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _counting_resolver(monkeypatch, {"public.test": "93.184.216.34"})
    with FaultServer() as server, HttpClient(Settings(retries=0)) as client:
        for path in ("/a", "/b", "/c"):
            server.route(path, Reply(body=path))
        source = _public_source(server.url("").rstrip("/"))  # the server stands in as proxy
        session = client.session(source)
        pages = [session.get(f"http://public.test{p}") for p in ("/a", "/b", "/c")]
        assert [p.text for p in pages] == ["/a", "/b", "/c"]
        assert asked == ["public.test"]
        client.session(source).get("http://public.test/a")  # a new refresh checks again
        assert asked == ["public.test", "public.test"]


def test_private_answer_is_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _counting_resolver(monkeypatch, {"public.test": "10.0.0.7"})
    with FaultServer() as server, HttpClient(Settings(retries=0)) as client:
        server.route("/a", Reply(body="internal"))
        session = client.session(_public_source(server.url("").rstrip("/")))
        for _ in range(2):
            with pytest.raises(UnsafeURLError) as e:
                session.get("http://public.test/a")
            assert "10.0.0.7" in e.value.reason
        assert asked == ["public.test", "public.test"]
        assert server.requests() == []


def test_validators_of_and_state_and_count_answer_like_the_single_queries(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from feedbridge.model import SourceState, Validators

    with SQLiteStore(tmp_path / "s.sqlite") as store:
        assert store.state_and_count("a") == (SourceState(source_id="a"), 0)
        store.save_validators(
            {"http://x/1": Validators(etag='"e1"'), "http://x/2": Validators(last_modified="M")}
        )
        urls = ["http://x/1", "http://x/2", "http://x/none", "http://x/1"]
        got = store.validators_of(urls)
        assert got == {u: store.validators(u) for u in ("http://x/1", "http://x/2")}
        assert store.validators_of([]) == {}
        store.save_entries([_entry("a", k) for k in range(3)], NOW)
        state = replace(store.state("a"), status="ok", entry_count=3, last_success=NOW)
        store.save_state(state)
        assert store.state_and_count("a") == (store.state("a"), store.count("a")) == (state, 3)
