"""Tests of feedbridge.store on real SQLite files in tmp_path (and real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from feedbridge.errors import StoreError
from feedbridge.model import Entry, SourceState, Validators
from feedbridge.store import (
    _BY_URL_SQL,
    _FEED_SQL,
    MIGRATIONS,
    SaveCounts,
    SQLiteStore,
    Store,
    _known_sql,
)

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


def entry(key: str = "k1", source: str = "src", **kw: Any) -> Entry:
    """A complete entry; every field can be overridden."""
    values: dict[str, Any] = {
        "source_id": source,
        "key": key,
        "entry_id": f"urn:{source}:{key}",
        "url": f"http://example.test/{key}",
        "title": f"Title {key}",
        "published": T0,
        "updated": T0,
        "content_html": f"<p>Body of {key}</p>",
        "summary": f"Summary {key}",
        "author": "Reporter",
        "categories": ("politics", "world"),
        "image": f"http://example.test/{key}.jpg",
        "content_hash": f"hash-{key}",
        "method": "selectors",
    }
    values.update(kw)
    return Entry(**values)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "state" / "feedbridge.sqlite")
    yield s
    s.close()


def pragma(conn: sqlite3.Connection, name: str) -> Any:
    return conn.execute(f"PRAGMA {name}").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------------


def test_open_creates_directory_sets_pragmas_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "db.sqlite"
    with SQLiteStore(path) as s:
        assert path.is_file()
        conn = s._conn
        assert pragma(conn, "journal_mode") == "wal"
        assert pragma(conn, "synchronous") == 1  # NORMAL
        assert pragma(conn, "foreign_keys") == 1
        assert pragma(conn, "busy_timeout") >= 1000
        assert pragma(conn, "user_version") == len(MIGRATIONS) == s.version


def test_sqlitestore_satisfies_protocol(store: SQLiteStore) -> None:
    as_protocol: Store = store  # mypy checks the structural match
    assert as_protocol.count("nothing") == 0


def test_closed_store_raises_store_error(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "db.sqlite")
    s.close()
    s.close()  # twice is harmless
    with pytest.raises(StoreError, match="count"):
        s.count("src")


def test_unopenable_path_raises_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create directory"):
        SQLiteStore(blocker / "db.sqlite")


def test_not_a_database_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=str(path)):
        SQLiteStore(path)


# ---------------------------------------------------------------------------------------------
# save_entries rules
# ---------------------------------------------------------------------------------------------


def test_new_entries_are_inserted_with_first_and_last_seen_now(store: SQLiteStore) -> None:
    counts = store.save_entries([entry("a"), entry("b")], T0)
    assert counts == SaveCounts(new=2, updated=0, unchanged=0)
    got = store.known("src", ["a", "b"])
    assert got["a"] == replace(entry("a"), first_seen=T0, last_seen=T0)
    assert got["b"].first_seen == got["b"].last_seen == T0
    assert store.count("src") == 2


def test_same_hash_is_unchanged_and_only_last_seen_moves(store: SQLiteStore) -> None:
    store.save_entries([entry("a")], T0)
    later = T0 + timedelta(hours=1)
    # Same content_hash, but other fields differ: the store must not take them.
    again = entry("a", title="Changed title", url="http://example.test/other", summary="x")
    counts = store.save_entries([again], later)
    assert counts == SaveCounts(new=0, updated=0, unchanged=1)
    got = store.known("src", ["a"])["a"]
    assert got == replace(entry("a"), first_seen=T0, last_seen=later)


def test_changed_hash_updates_content_but_never_id_published_first_seen(
    store: SQLiteStore,
) -> None:
    store.save_entries([entry("a")], T0)
    later = T0 + timedelta(days=2)
    edited = entry(
        "a",
        entry_id="urn:other-id",
        url="http://example.test/a-moved",
        title="Corrected title",
        published=T0 + timedelta(days=1),
        updated=T0 + timedelta(days=1, hours=3),
        content_html="<p>Corrected body</p>",
        summary="Corrected",
        author=None,
        categories=("corrections",),
        image=None,
        content_hash="hash-2",
        method="generic",
    )
    counts = store.save_entries([edited], later)
    assert counts == SaveCounts(new=0, updated=1, unchanged=0)
    got = store.known("src", ["a"])["a"]
    expected = replace(
        edited,
        entry_id="urn:src:a",  # kept
        published=T0,  # kept
        first_seen=T0,  # kept
        last_seen=later,
    )
    assert got == expected


def test_mixed_batch_counts_each_kind(store: SQLiteStore) -> None:
    store.save_entries([entry("same"), entry("edit")], T0)
    batch = [entry("same"), entry("edit", content_hash="new-hash"), entry("fresh")]
    assert store.save_entries(batch, T0 + timedelta(minutes=5)) == SaveCounts(1, 1, 1)
    assert store.count("src") == 3


def test_key_twice_in_one_batch_is_applied_in_order(store: SQLiteStore) -> None:
    batch = [
        entry("a"),
        entry("a", content_hash="h2", title="Second"),
        entry("a", content_hash="h2", title="X"),
    ]
    assert store.save_entries(batch, T0) == SaveCounts(new=1, updated=1, unchanged=1)
    assert store.known("src", ["a"])["a"].title == "Second"


def test_save_entries_is_one_transaction(store: SQLiteStore) -> None:
    naive = datetime(2024, 5, 1, 8, 30)
    batch = [entry("a"), entry("b", published=naive), entry("c")]
    with pytest.raises(StoreError, match="naive"):
        store.save_entries(batch, T0)
    assert store.count("src") == 0
    assert store.states() == []  # the sources row was rolled back too


def test_empty_batch_is_a_noop(store: SQLiteStore) -> None:
    assert store.save_entries([], T0) == SaveCounts(0, 0, 0)
    assert store.states() == []


def test_sources_are_kept_apart(store: SQLiteStore) -> None:
    store.save_entries([entry("a", source="one"), entry("a", source="two", title="Two")], T0)
    assert store.known("one", ["a"])["a"].title == "Title a"
    assert store.known("two", ["a"])["a"].title == "Two"
    assert store.count("one") == store.count("two") == 1
    assert store.delete("one", ["a"]) == 1
    assert store.count("two") == 1


def test_datetimes_come_back_aware_utc(store: SQLiteStore) -> None:
    pyongyang = timezone(timedelta(hours=9))
    local = datetime(2024, 5, 1, 17, 30, 0, 123456, tzinfo=pyongyang)
    store.save_entries([entry("a", published=local, updated=local)], local)
    got = store.known("src", ["a"])["a"]
    for value in (got.published, got.updated, got.first_seen, got.last_seen):
        assert value == datetime(2024, 5, 1, 8, 30, 0, 123456, tzinfo=UTC)
        assert value is not None and value.tzinfo == UTC
    raw = store._conn.execute("SELECT published FROM entries").fetchone()[0]
    assert raw == "2024-05-01T08:30:00.123456Z"


def test_naive_now_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(StoreError, match="naive"):
        store.save_entries([entry("a")], datetime(2024, 1, 1))


# ---------------------------------------------------------------------------------------------
# Reading: order, limits, lookups
# ---------------------------------------------------------------------------------------------


def test_entries_feed_order_and_limits(store: SQLiteStore) -> None:
    day = timedelta(days=1)
    store.save_entries(
        [entry("old", published=T0 - day), entry("tie-b"), entry("tie-a")],
        T0,
    )
    # Same published as the ties but seen later: it comes first among them.
    store.save_entries([entry("late"), entry("newest", published=T0 + day)], T0 + day)
    order = [e.key for e in store.entries("src")]
    assert order == ["newest", "late", "tie-a", "tie-b", "old"]
    assert [e.key for e in store.entries("src", 2)] == ["newest", "late"]
    assert store.entries("src", 0) == []
    assert len(store.entries("src", 100)) == 5
    assert store.entries("other") == []
    with pytest.raises(ValueError):
        store.entries("src", -1)


def test_known_ignores_unknown_and_handles_thousands_of_keys(store: SQLiteStore) -> None:
    stored = [entry(f"k{i:05d}", content_html="") for i in range(2_500)]
    store.save_entries(stored, T0)
    store.save_entries([entry("k00001", source="elsewhere")], T0)
    asked = [f"k{i:05d}" for i in range(3_000)] + ["k00007"] * 3  # > any variable limit
    got = store.known("src", asked)
    assert set(got) == {e.key for e in stored}
    assert got["k02499"].url == "http://example.test/k02499"
    assert store.known("src", []) == {}
    assert set(store.known("elsewhere", asked)) == {"k00001"}


def test_entry_by_url(store: SQLiteStore) -> None:
    store.save_entries([entry("a"), entry("b", source="other", url="http://example.test/a")], T0)
    found = store.entry_by_url("src", "http://example.test/a")
    assert found is not None and found.key == "a" and found.source_id == "src"
    assert store.entry_by_url("src", "http://example.test/missing") is None
    other = store.entry_by_url("other", "http://example.test/a")
    assert other is not None and other.key == "b"


def test_touch_moves_last_seen_of_named_keys_only(store: SQLiteStore) -> None:
    store.save_entries([entry("a"), entry("b"), entry("a", source="other")], T0)
    later = T0 + timedelta(hours=5)
    store.touch("src", ["a", "unknown"], later)
    assert store.known("src", ["a"])["a"].last_seen == later
    assert store.known("src", ["b"])["b"].last_seen == T0
    assert store.known("other", ["a"])["a"].last_seen == T0
    store.touch("src", (f"k{i}" for i in range(1_200)), later)  # chunked, nothing matches


def test_delete_returns_count(store: SQLiteStore) -> None:
    store.save_entries([entry(f"k{i}") for i in range(1_100)], T0)
    assert store.delete("src", [f"k{i}" for i in range(1_050)] + ["nope", "k1"]) == 1_050
    assert store.count("src") == 50
    assert store.delete("src", []) == 0


def test_unicode_and_emoji_roundtrip(store: SQLiteStore) -> None:
    text = "김정은 위원장 🇰🇵 — «cité» \u2028 line\tsep 𝔘𝔫𝔦 \x00 after NUL"
    e = entry(
        "키-🔑",
        title=text,
        content_html=f"<p>{text}</p>",
        summary=text,
        author="조선중앙통신 📰",
        categories=("정치", "🌍 world", 'quote "q"'),
        url="http://example.test/기사?q=🔥",
        content_hash="ħash",
    )
    store.save_entries([e], T0)
    got = store.known("src", ["키-🔑"])["키-🔑"]
    assert got == replace(e, first_seen=T0, last_seen=T0)
    assert store.entry_by_url("src", "http://example.test/기사?q=🔥") == got


def test_unreadable_row_is_a_store_error_naming_source_and_key(store: SQLiteStore) -> None:
    store.save_entries([entry("a")], T0)
    store._conn.execute("UPDATE entries SET categories = '{not json'")
    with pytest.raises(StoreError, match=r"source src: stored entry 'a'"):
        store.entries("src")


# ---------------------------------------------------------------------------------------------
# Validators and state
# ---------------------------------------------------------------------------------------------


def test_validators_roundtrip(store: SQLiteStore) -> None:
    url = "http://example.test/list?page=1"
    assert store.validators(url) == Validators()
    store.save_validators(
        {
            url: Validators(etag='W/"abc"', last_modified="Wed, 01 May 2024 08:30:00 GMT"),
            "http://example.test/b": Validators(etag='"b"'),
        }
    )
    assert store.validators(url) == Validators('W/"abc"', "Wed, 01 May 2024 08:30:00 GMT")
    assert store.validators("http://example.test/b") == Validators(etag='"b"')
    store.save_validators({url: Validators(last_modified="Thu, 02 May 2024 00:00:00 GMT")})
    assert store.validators(url) == Validators(None, "Thu, 02 May 2024 00:00:00 GMT")
    store.save_validators({url: Validators()})  # forgets
    assert store.validators(url) == Validators()
    assert store._conn.execute("SELECT count(*) FROM http_validators").fetchone()[0] == 1


def test_state_defaults_to_new(store: SQLiteStore) -> None:
    assert store.state("never") == SourceState(source_id="never", status="new")


def test_state_roundtrip_and_states_listing(store: SQLiteStore) -> None:
    failing = SourceState(
        source_id="zeta",
        last_attempt=T0,
        last_success=T0 - timedelta(days=1),
        consecutive_failures=3,
        last_error="http://example.test/: 503 Service Unavailable — réessayer",
        status="failing",
        retry_after=T0 + timedelta(minutes=30),
        entry_count=42,
    )
    ok = SourceState(source_id="alpha", last_attempt=T0, last_success=T0, status="ok")
    store.save_state(failing)
    store.save_state(ok)
    assert store.state("zeta") == failing
    store.save_state(replace(failing, consecutive_failures=0, status="ok", last_error=None))
    assert store.state("zeta").status == "ok"
    assert store.state("zeta").last_error is None
    store.save_entries([entry("a", source="middle")], T0)  # entries make a source known
    assert [s.source_id for s in store.states()] == ["alpha", "middle", "zeta"]
    assert store.states()[1] == SourceState(source_id="middle")


def test_save_state_keeps_entries_of_the_source(store: SQLiteStore) -> None:
    store.save_entries([entry("a")], T0)
    store.save_state(SourceState(source_id="src", status="ok", last_success=T0, entry_count=1))
    assert store.count("src") == 1  # the upsert must not delete-and-reinsert (cascade)


def test_bad_state_is_refused(store: SQLiteStore) -> None:
    with pytest.raises(StoreError, match="last_attempt"):
        store.save_state(SourceState(source_id="s", last_attempt=datetime(2024, 1, 1)))
    bogus = replace(SourceState(source_id="s"), status="weird")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="source s"):
        store.save_state(bogus)
    assert store.states() == []


# ---------------------------------------------------------------------------------------------
# Indexes
# ---------------------------------------------------------------------------------------------


def test_feed_and_known_queries_use_indexes_at_100k_entries(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "big.sqlite") as s:
        minute = timedelta(minutes=1)
        big = [
            entry(f"k{i}", source="big", content_html="", summary="", published=T0 + i * minute)
            for i in range(100_000)
        ]
        assert s.save_entries(big, T0).new == 100_000
        s.save_entries([entry(f"k{i}", source="small") for i in range(100)], T0)
        s._conn.execute("ANALYZE")
        plans = {
            "feed": (_FEED_SQL, ("big", 50)),
            "known": (_known_sql(3), ("big", "k1", "k2", "k3")),
            "by_url": (_BY_URL_SQL, ("big", "http://example.test/k7")),
        }
        for name, (sql, params) in plans.items():
            plan = " | ".join(r[3] for r in s._conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "USING INDEX" in plan or "USING PRIMARY KEY" in plan, (name, plan)
            assert "TEMP B-TREE" not in plan, (name, plan)
            assert not plan.startswith("SCAN"), (name, plan)
        assert [e.key for e in s.entries("big", 3)] == ["k99999", "k99998", "k99997"]


# ---------------------------------------------------------------------------------------------
# Concurrency, other processes, crashes
# ---------------------------------------------------------------------------------------------


def test_four_threads_two_connections(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first, second = SQLiteStore(path), SQLiteStore(path)  # two connections, like two processes
    errors: list[BaseException] = []
    new_shared: list[int] = []
    lock = threading.Lock()
    batches, per_batch = 30, 10

    def work(n: int) -> None:
        s = first if n % 2 else second
        try:
            for b in range(batches):
                now = T0 + timedelta(seconds=b)
                own = [entry(f"t{n}-{b}-{i}", source=f"thread{n}") for i in range(per_batch)]
                s.save_entries(own, now)
                shared = [entry(f"s{b}-{i}", source="shared") for i in range(per_batch)]
                counts = s.save_entries(shared, now)
                with lock:
                    new_shared.append(counts.new)
                s.save_state(SourceState(source_id=f"thread{n}", status="ok", entry_count=b))
                s.save_validators({f"http://t{n}.test/": Validators(etag=str(b))})
                assert len(s.entries(f"thread{n}", 5)) == 5
                s.known("shared", [e.key for e in shared])
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    first.close()
    try:
        assert errors == []
        for n in range(4):
            assert second.count(f"thread{n}") == batches * per_batch
            assert second.state(f"thread{n}").entry_count == batches - 1
            assert second.validators(f"http://t{n}.test/") == Validators(etag=str(batches - 1))
        assert second.count("shared") == batches * per_batch
        assert sum(new_shared) == batches * per_batch  # each shared key inserted exactly once
    finally:
        second.close()


READER = """
import json, sys
from pathlib import Path
from feedbridge.store import SQLiteStore
with SQLiteStore(Path(sys.argv[1])) as s:
    print(json.dumps({"count": s.count("src"), "first": s.entries("src", 1)[0].title}))
"""


def test_another_process_sees_committed_data(store: SQLiteStore) -> None:
    store.save_entries([entry("a"), entry("b", title="Newest 🆕", published=T0 + timedelta(1))], T0)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", READER, str(store.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert json.loads(out) == {"count": 2, "first": "Newest 🆕"}


WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from feedbridge.model import Entry
from feedbridge.store import SQLiteStore
batch = int(sys.argv[2])
s = SQLiteStore(Path(sys.argv[1]))
b = s.count("kill") // batch
t0 = datetime(2024, 1, 1, tzinfo=UTC)
while True:
    now = t0 + timedelta(seconds=b)
    s.save_entries([
        Entry("kill", f"b{b}-{i}", f"id{b}-{i}", f"http://x.test/{b}/{i}", f"T {b}/{i}",
              now, now, content_html="<p>" + "x" * 4000 + "</p>", content_hash=str(b))
        for i in range(batch)
    ], now)
    print(b, flush=True)
    b += 1
"""


def test_sigkill_mid_transaction_leaves_whole_batches(tmp_path: Path) -> None:
    path = tmp_path / "kill.sqlite"
    batch = 200
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    committed = 0
    for after_lines, extra_sleep in ((1, 0.0), (3, 0.004), (2, 0.011), (5, 0.002)):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(batch)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for _ in range(after_lines):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "writer died"
            committed += 1
        time.sleep(extra_sleep)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()

        raw = sqlite3.connect(path)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            raw.close()
        with SQLiteStore(path) as s:
            count = s.count("kill")
            assert count % batch == 0, count  # only whole batches
            assert count >= committed * batch  # nothing reported as committed was lost
            per_batch = s._conn.execute(
                "SELECT content_hash, count(*) FROM entries GROUP BY content_hash"
            ).fetchall()
            assert all(n == batch for _, n in per_batch)
        committed = count // batch  # a batch may have committed after the last line read


# ---------------------------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------------------------


def test_migrates_version_zero_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()  # an existing, empty database at user_version 0
    with SQLiteStore(path) as s:
        assert s.version == len(MIGRATIONS)
        s.save_entries([entry("a")], T0)
        s.save_validators({"http://x.test/": Validators(etag="e")})
        assert s.count("src") == 1


def test_migrates_file_made_by_older_step_list(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with SQLiteStore(path, migrations=MIGRATIONS[:1]) as old:
        assert old.version == 1
        old.save_entries([entry("a"), entry("b")], T0)
        old.save_state(SourceState(source_id="src", status="ok", entry_count=2))
        with pytest.raises(StoreError, match="http_validators"):
            old.validators("http://x.test/")  # that table comes with step 2
    with SQLiteStore(path) as s:
        assert s.version == len(MIGRATIONS)
        assert [e.key for e in s.entries("src")] == ["a", "b"]  # ties: by key
        assert s.state("src").entry_count == 2
        s.save_validators({"http://x.test/": Validators(etag="e")})
        assert s.validators("http://x.test/") == Validators(etag="e")
        assert s.entry_by_url("src", "http://example.test/a") is not None


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    SQLiteStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    raw.close()
    with pytest.raises(StoreError, match=r"newer than this feedbridge knows.*upgrade"):
        SQLiteStore(path)
    raw = sqlite3.connect(path)
    try:  # refused, not touched
        assert pragma(raw, "user_version") == len(MIGRATIONS) + 5
    finally:
        raw.close()


def test_failed_step_rolls_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    SQLiteStore(path).close()
    broken = (*MIGRATIONS, "CREATE TABLE half_done (a);\nTHIS IS NOT SQL;\n")
    with pytest.raises(StoreError, match="syntax error"):
        SQLiteStore(path, migrations=broken)
    raw = sqlite3.connect(path)
    try:
        assert pragma(raw, "user_version") == len(MIGRATIONS)
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables
    finally:
        raw.close()


def test_function_steps_and_triggers_in_scripts(tmp_path: Path) -> None:
    def add_notes(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        conn.execute("INSERT INTO notes (text) VALUES ('seeded')")

    trigger = """
CREATE TABLE note_log (text TEXT);
CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN
    INSERT INTO note_log (text) VALUES (new.text);
END;
"""
    path = tmp_path / "db.sqlite"
    with SQLiteStore(path, migrations=(*MIGRATIONS, add_notes, trigger)) as s:
        assert s.version == len(MIGRATIONS) + 2
        s._conn.execute("INSERT INTO notes (text) VALUES ('later')")
        rows = s._conn.execute("SELECT text FROM note_log").fetchall()
        assert [tuple(r) for r in rows] == [("later",)]


def test_robots_answers_roundtrip(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    with SQLiteStore(tmp_path / "r.sqlite") as store:
        assert store.robots("http://a.example") is None
        when = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        store.save_robots("http://a.example", when, 200, "User-agent: *\nDisallow: /x\n")
        store.save_robots("http://a.example", when, 200, "User-agent: *\nDisallow: /y\n")
        assert store.robots("http://a.example") == (when, 200, "User-agent: *\nDisallow: /y\n")
