"""Behaviour kept by the performance work (bench scenarios 2, 3, 6): the cheaper paths must
give the answers the plain ones gave."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from feedbridge.model import Entry, ListingSpec, Settings, Source
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
