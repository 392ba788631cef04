"""The only module that talks SQL: stored entries, per-source state, HTTP validators.

The store knows no HTML or XML; it keeps the value types of ``feedbridge.model`` and gives
them back unchanged (datetimes as aware UTC).

Choices, and why:

* **SQLite through the stdlib.** One file, no server, transactions that survive a killed
  process. The journal is WAL (readers never block the writer, a crash mid-transaction
  leaves the last committed state) with ``synchronous=NORMAL``: a power cut may lose the
  last commits but never corrupts the file; the published feed files are the durable output.
* **One connection per store, guarded by a lock** (not one connection per thread). A
  refresh spends seconds on HTTP and milliseconds here, so serialising store calls costs
  nothing, while it rules out ``database is locked`` between our own threads, keeps every
  transaction whole, and lets ``close()`` really close everything. Other processes (or
  other stores on the same file) are handled by SQLite's locking, ``busy_timeout`` and
  ``BEGIN IMMEDIATE`` for every write (no read→write lock upgrade that could deadlock).
* **Datetimes as ISO 8601 UTC text** in one fixed-width form, ``2024-05-01T08:30:00.000000Z``:
  readable in the ``sqlite3`` shell and by SQLite's date functions, exact to the microsecond,
  and, being fixed width, sorted chronologically by the index that orders the feed.
* **Schema versioned with ``PRAGMA user_version``**: ``MIGRATIONS`` is an ordered list of steps
  (SQL scripts or functions); version *n* means the first *n* steps are applied. Each step
  runs in its own ``BEGIN IMMEDIATE`` transaction together with its version bump, so two
  processes opening a fresh file at once cannot both apply it, and a failed step leaves the
  previous version intact. A file from a newer feedbridge is refused, never downgraded.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from feedbridge.errors import StoreError
from feedbridge.model import Entry, SourceState, Validators

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
# Keys per ``IN (...)`` list: far below SQLite's variable limit (999 before 3.32).
CHUNK = 500

Migration = str | Callable[[sqlite3.Connection], None]


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------

_V1_CORE = """
CREATE TABLE sources (
    source_id            TEXT PRIMARY KEY,
    last_attempt         TEXT,
    last_success         TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT,
    status               TEXT NOT NULL DEFAULT 'new'
                         CHECK (status IN ('ok', 'degraded', 'failing', 'new')),
    retry_after          TEXT,
    entry_count          INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE entries (
    source_id    TEXT NOT NULL REFERENCES sources (source_id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    url          TEXT NOT NULL,
    title        TEXT NOT NULL,
    published    TEXT NOT NULL,
    updated      TEXT NOT NULL,
    content_html TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    author       TEXT,
    categories   TEXT NOT NULL DEFAULT '[]',
    image        TEXT,
    content_hash TEXT NOT NULL DEFAULT '',
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    method       TEXT NOT NULL DEFAULT 'selectors',
    is_notice    INTEGER NOT NULL DEFAULT 0 CHECK (is_notice IN (0, 1)),
    PRIMARY KEY (source_id, key)
);
-- The feed order, so that entries(source, 50) reads 50 index entries and sorts nothing.
CREATE INDEX entries_feed ON entries (source_id, published DESC, first_seen DESC, key);
"""

_V2_VALIDATORS_AND_URLS = """
CREATE TABLE http_validators (
    url           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT
);
CREATE INDEX entries_url ON entries (source_id, url, published DESC, first_seen DESC, key);
"""

_V3_ROBOTS = """
-- robots.txt answers, so that a `run --once` every few minutes does not ask for it each time
CREATE TABLE robots (
    origin     TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    status     INTEGER NOT NULL,
    body       TEXT NOT NULL
);
"""

_V4_STORED_COUNT = """
-- Entries per source, kept by triggers in the transaction that adds or removes them, so that
-- count() reads one row instead of walking the source's index (7 ms at 100,000 entries, on
-- every refresh: bench scenario 6).
ALTER TABLE sources ADD COLUMN stored INTEGER NOT NULL DEFAULT 0;
UPDATE sources
    SET stored = (SELECT count(*) FROM entries WHERE entries.source_id = sources.source_id);
CREATE TRIGGER entries_stored_insert AFTER INSERT ON entries BEGIN
    UPDATE sources SET stored = stored + 1 WHERE source_id = NEW.source_id;
END;
CREATE TRIGGER entries_stored_delete AFTER DELETE ON entries BEGIN
    UPDATE sources SET stored = stored - 1 WHERE source_id = OLD.source_id;
END;
"""

# Append only: never edit or reorder a released step.
MIGRATIONS: tuple[Migration, ...] = (
    _V1_CORE,
    _V2_VALIDATORS_AND_URLS,
    _V3_ROBOTS,
    _V4_STORED_COUNT,
)

_ENTRY_COLUMNS = (
    "source_id, key, entry_id, url, title, published, updated, content_html, summary, author,"
    " categories, image, content_hash, first_seen, last_seen, method, is_notice"
)
_FEED_SQL = (
    f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE source_id = ?"
    " ORDER BY published DESC, first_seen DESC, key ASC LIMIT ?"
)
_BY_URL_SQL = (
    f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE source_id = ? AND url = ?"
    " ORDER BY published DESC, first_seen DESC, key ASC LIMIT 1"
)
_INSERT_SQL = (
    f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES ("
    + ", ".join(":" + c.strip() for c in _ENTRY_COLUMNS.split(","))
    + ")"
)
_STATE_COLUMNS = (
    "source_id, last_attempt, last_success, consecutive_failures, last_error, status,"
    " retry_after, entry_count"
)


def _known_sql(n: int) -> str:
    marks = ", ".join("?" * n)
    return f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE source_id = ? AND key IN ({marks})"


# ---------------------------------------------------------------------------------------------
# Pure helpers: conversions between value types and rows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveCounts:
    """What ``save_entries`` did: rows inserted, content-changed rows, rows only seen again."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0


def dt_to_text(value: datetime, what: str = "datetime") -> str:
    """Aware datetime → fixed-width UTC text; naive datetimes are a caller bug, refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StoreError(f"{what}: naive datetime {value!r}; the store keeps aware UTC times")
    try:
        utc = value.astimezone(UTC).replace(tzinfo=None)
    except (OverflowError, ValueError) as e:
        raise StoreError(f"{what}: cannot convert {value!r} to UTC: {e}") from e
    return utc.isoformat(timespec="microseconds") + "Z"


def text_to_dt(text: str) -> datetime:
    """Stored text → aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def _opt_dt(text: str | None) -> datetime | None:
    return None if text is None else text_to_dt(text)


def _opt_text(value: datetime | None, what: str) -> str | None:
    return None if value is None else dt_to_text(value, what)


def _entry_from_row(row: sqlite3.Row) -> Entry:
    """One ``entries`` row → Entry; a corrupt row is a StoreError naming source and key."""
    try:
        categories = json.loads(row["categories"])
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ValueError(f"categories is not a list of strings: {row['categories']!r}")
        return Entry(
            source_id=row["source_id"],
            key=row["key"],
            entry_id=row["entry_id"],
            url=row["url"],
            title=row["title"],
            published=text_to_dt(row["published"]),
            updated=text_to_dt(row["updated"]),
            content_html=row["content_html"],
            summary=row["summary"],
            author=row["author"],
            categories=tuple(categories),
            image=row["image"],
            content_hash=row["content_hash"],
            first_seen=text_to_dt(row["first_seen"]),
            last_seen=text_to_dt(row["last_seen"]),
            method=row["method"],
            is_notice=bool(row["is_notice"]),
        )
    except (ValueError, TypeError) as e:
        raise StoreError(
            f"source {row['source_id']}: stored entry {row['key']!r} is unreadable: {e}"
        ) from e


def _content_params(entry: Entry) -> dict[str, Any]:
    """The columns an update may change, as named SQL parameters."""
    where = f"source {entry.source_id}, entry {entry.key!r}"
    return {
        "source_id": entry.source_id,
        "key": entry.key,
        "url": entry.url,
        "title": entry.title,
        "updated": dt_to_text(entry.updated, f"{where}: updated"),
        "content_html": entry.content_html,
        "summary": entry.summary,
        "author": entry.author,
        "categories": json.dumps(list(entry.categories), ensure_ascii=False),
        "image": entry.image,
        "content_hash": entry.content_hash,
        "method": entry.method,
    }


def _state_from_row(row: sqlite3.Row) -> SourceState:
    return SourceState(
        source_id=row["source_id"],
        last_attempt=_opt_dt(row["last_attempt"]),
        last_success=_opt_dt(row["last_success"]),
        consecutive_failures=row["consecutive_failures"],
        last_error=row["last_error"],
        status=row["status"],
        retry_after=_opt_dt(row["retry_after"]),
        entry_count=row["entry_count"],
    )


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


# ---------------------------------------------------------------------------------------------
# Migrations
# ---------------------------------------------------------------------------------------------


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the caller's transaction (``executescript`` would
    commit first). Statements are cut where ``sqlite3.complete_statement`` says they end, so
    triggers with inner semicolons work; a statement must end at the end of a line."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            conn.execute(buffer)
            buffer = ""
    if buffer.strip() and not buffer.strip().startswith("--"):
        raise StoreError(f"migration script ends with an incomplete statement: {buffer!r}")


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, steps: Sequence[Migration], where: str) -> int:
    """Bring the database on ``conn`` (autocommit mode) to ``len(steps)``; return the version.

    The version is re-read under the write lock before each step, so concurrent openers
    apply every step exactly once. ``where`` (the file) goes into error messages.
    """
    target = len(steps)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            if version > target:
                raise StoreError(
                    f"store {where}: schema version {version} is newer than this feedbridge "
                    f"knows ({target}); it was written by a newer release: upgrade feedbridge "
                    "or point state_db at another file"
                )
            if version == target:
                conn.execute("COMMIT")
                return version
            step = steps[version]
            if isinstance(step, str):
                _run_script(conn, step)
            else:
                step(conn)
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
            log.info("store %s: migrated schema to version %d", where, version + 1)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


class Store(Protocol):
    """What the pipeline needs from a store; ``SQLiteStore`` is the implementation."""

    def close(self) -> None: ...
    def known(self, source_id: str, keys: Iterable[str]) -> dict[str, Entry]: ...
    def entries(self, source_id: str, limit: int | None = None) -> list[Entry]: ...
    def count(self, source_id: str) -> int: ...
    def save_entries(self, entries: Sequence[Entry], now: datetime) -> SaveCounts: ...
    def touch(self, source_id: str, keys: Iterable[str], now: datetime) -> None: ...
    def delete(self, source_id: str, keys: Iterable[str]) -> int: ...
    def validators(self, url: str) -> Validators: ...
    def validators_of(self, urls: Iterable[str]) -> dict[str, Validators]: ...
    def save_validators(self, items: Mapping[str, Validators]) -> None: ...
    def state(self, source_id: str) -> SourceState: ...
    def state_and_count(self, source_id: str) -> tuple[SourceState, int]: ...
    def save_state(self, state: SourceState) -> None: ...
    def states(self) -> list[SourceState]: ...
    def entry_by_url(self, source_id: str, url: str) -> Entry | None: ...


class SQLiteStore:
    """The SQLite store. Thread-safe: one connection, every call under one lock (see the
    module docstring for why). Usable as a context manager that closes it."""

    def __init__(self, path: Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        """Open or create the file (and its directory), set the pragmas, migrate.

        ``migrations`` exists for tests that build files of older schema versions.
        """
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"store {self.path}: cannot create directory: {e}") from e
        try:
            self._conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        except sqlite3.Error as e:
            raise StoreError(f"store {self.path}: cannot open: {e}") from e
        try:
            with self._guard("open"):
                self._conn.row_factory = sqlite3.Row
                self._configure()
                self.version = migrate(self._conn, migrations, str(self.path))
        except BaseException:
            self._conn.close()
            raise

    def _configure(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("store %s: journal_mode is %s, not wal", self.path, mode)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _guard(self, operation: str, source_id: str | None = None) -> Iterator[None]:
        """Serialise access and turn sqlite3 errors into StoreError naming file and source."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as e:
                who = f" (source {source_id})" if source_id else ""
                raise StoreError(f"store {self.path}: {operation}{who} failed: {e}") from e

    @contextmanager
    def _write(self, operation: str, source_id: str | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with BEGIN IMMEDIATE; rolled back on any error."""
        with self._guard(operation, source_id):
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return cast(list[sqlite3.Row], self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        """Close the connection (checkpointing the WAL). Closing twice is harmless."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- entries -----------------------------------------------------------------------------

    def known(self, source_id: str, keys: Iterable[str]) -> dict[str, Entry]:
        """The stored entries among ``keys`` (any number: the IN list is chunked)."""
        wanted = _unique(keys)
        found: dict[str, Entry] = {}
        with self._guard("known", source_id):
            for chunk in _chunks(wanted):
                for row in self._query(_known_sql(len(chunk)), (source_id, *chunk)):
                    found[row["key"]] = _entry_from_row(row)
        return found

    def entries(self, source_id: str, limit: int | None = None) -> list[Entry]:
        """Entries in feed order (published, then first seen, newest first; then key)."""
        if limit is not None and limit < 0:
            raise ValueError(f"source {source_id}: limit must be >= 0, not {limit}")
        with self._guard("entries", source_id):
            rows = self._query(_FEED_SQL, (source_id, -1 if limit is None else limit))
            return [_entry_from_row(r) for r in rows]

    def count(self, source_id: str) -> int:
        """Entries stored for the source (a counter kept by triggers: no index walk)."""
        with self._guard("count", source_id):
            rows = self._query("SELECT stored FROM sources WHERE source_id = ?", (source_id,))
            return int(rows[0][0]) if rows else 0

    def entry_by_url(self, source_id: str, url: str) -> Entry | None:
        """The entry with this URL (the first in feed order if several keys share it)."""
        with self._guard("entry_by_url", source_id):
            rows = self._query(_BY_URL_SQL, (source_id, url))
            return _entry_from_row(rows[0]) if rows else None

    def save_entries(self, entries: Sequence[Entry], now: datetime) -> SaveCounts:
        """Insert new keys, update changed content, mark the rest seen: one transaction.

        ``published``, ``entry_id`` and ``first_seen`` of a stored key never change: the
        feed's ids and order must stay stable. A key twice in one batch is applied in order.
        """
        seen = dt_to_text(now, "save_entries: now")
        if not entries:  # an unchanged refresh: no write transaction at all
            return SaveCounts()
        sources = _unique(e.source_id for e in entries)
        new = updated = unchanged = 0
        with self._write("save_entries", ", ".join(sources) or None) as conn:
            hashes = self._stored_hashes(entries)
            conn.executemany(
                "INSERT OR IGNORE INTO sources (source_id) VALUES (?)", [(s,) for s in sources]
            )
            for entry in entries:
                ident = (entry.source_id, entry.key)
                stored = hashes.get(ident)
                if stored is None:
                    self._insert(conn, entry, seen)
                    new += 1
                elif stored == entry.content_hash:
                    conn.execute(
                        "UPDATE entries SET last_seen = ? WHERE source_id = ? AND key = ?",
                        (seen, *ident),
                    )
                    unchanged += 1
                else:
                    self._update(conn, entry, seen)
                    updated += 1
                hashes[ident] = entry.content_hash
        counts = SaveCounts(new=new, updated=updated, unchanged=unchanged)
        log.debug("store %s: saved %s for %s", self.path, counts, ", ".join(sources))
        return counts

    def _stored_hashes(self, entries: Sequence[Entry]) -> dict[tuple[str, str], str]:
        """(source, key) → content_hash for the batch's keys already stored."""
        by_source: dict[str, list[str]] = {}
        for e in entries:
            by_source.setdefault(e.source_id, []).append(e.key)
        found: dict[tuple[str, str], str] = {}
        for source_id, keys in by_source.items():
            for chunk in _chunks(_unique(keys)):
                marks = ", ".join("?" * len(chunk))
                sql = (
                    "SELECT key, content_hash FROM entries"
                    f" WHERE source_id = ? AND key IN ({marks})"
                )
                for row in self._query(sql, (source_id, *chunk)):
                    found[(source_id, row["key"])] = row["content_hash"]
        return found

    @staticmethod
    def _insert(conn: sqlite3.Connection, entry: Entry, seen: str) -> None:
        params = _content_params(entry)
        params.update(
            entry_id=entry.entry_id,
            published=dt_to_text(entry.published, f"source {entry.source_id}: published"),
            first_seen=seen,
            last_seen=seen,
            is_notice=int(entry.is_notice),
        )
        conn.execute(_INSERT_SQL, params)

    @staticmethod
    def _update(conn: sqlite3.Connection, entry: Entry, seen: str) -> None:
        params = _content_params(entry)
        params["last_seen"] = seen
        conn.execute(
            "UPDATE entries SET title = :title, url = :url, content_html = :content_html,"
            " summary = :summary, author = :author, categories = :categories, image = :image,"
            " content_hash = :content_hash, method = :method, updated = :updated,"
            " last_seen = :last_seen WHERE source_id = :source_id AND key = :key",
            params,
        )

    def touch(self, source_id: str, keys: Iterable[str], now: datetime) -> None:
        """Mark stored entries as seen at ``now`` (unknown keys are ignored)."""
        seen = dt_to_text(now, f"source {source_id}: touch")
        wanted = _unique(keys)
        if not wanted:
            return
        with self._write("touch", source_id) as conn:
            for chunk in _chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                conn.execute(
                    f"UPDATE entries SET last_seen = ? WHERE source_id = ? AND key IN ({marks})",
                    (seen, source_id, *chunk),
                )

    def delete(self, source_id: str, keys: Iterable[str]) -> int:
        """Delete entries by key; return how many rows went."""
        deleted = 0
        wanted = _unique(keys)
        if not wanted:
            return 0
        with self._write("delete", source_id) as conn:
            for chunk in _chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                cur = conn.execute(
                    f"DELETE FROM entries WHERE source_id = ? AND key IN ({marks})",
                    (source_id, *chunk),
                )
                deleted += cur.rowcount
        return deleted

    # -- HTTP validators ---------------------------------------------------------------------

    def validators(self, url: str) -> Validators:
        """The remembered ETag / Last-Modified of ``url`` (empty Validators if none)."""
        with self._guard(f"validators for {url}"):
            rows = self._query(
                "SELECT etag, last_modified FROM http_validators WHERE url = ?", (url,)
            )
        if not rows:
            return Validators()
        return Validators(etag=rows[0]["etag"], last_modified=rows[0]["last_modified"])

    def validators_of(self, urls: Iterable[str]) -> dict[str, Validators]:
        """The remembered validators of several URLs in one query (URLs without any are
        left out)."""
        wanted = _unique(urls)
        found: dict[str, Validators] = {}
        with self._guard("validators"):
            for chunk in _chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                sql = f"SELECT url, etag, last_modified FROM http_validators WHERE url IN ({marks})"
                for row in self._query(sql, chunk):
                    found[row["url"]] = Validators(
                        etag=row["etag"], last_modified=row["last_modified"]
                    )
        return found

    def save_validators(self, items: Mapping[str, Validators]) -> None:
        """Remember validators per URL; empty Validators forget the URL."""
        if not items:
            return
        with self._write("save_validators") as conn:
            for url, v in items.items():
                if v.etag is None and v.last_modified is None:
                    conn.execute("DELETE FROM http_validators WHERE url = ?", (url,))
                    continue
                conn.execute(
                    "INSERT INTO http_validators (url, etag, last_modified) VALUES (?, ?, ?)"
                    " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
                    " last_modified = excluded.last_modified",
                    (url, v.etag, v.last_modified),
                )

    # -- robots.txt --------------------------------------------------------------------------

    def robots(self, origin: str) -> tuple[datetime, int, str] | None:
        """The stored robots.txt answer of ``origin``: (fetched at, status, body), or None."""
        with self._guard(f"robots for {origin}"):
            rows = self._query(
                "SELECT fetched_at, status, body FROM robots WHERE origin = ?", (origin,)
            )
        if not rows:
            return None
        return text_to_dt(rows[0]["fetched_at"]), int(rows[0]["status"]), str(rows[0]["body"])

    def save_robots(self, origin: str, fetched_at: datetime, status: int, body: str) -> None:
        with self._write("save_robots") as conn:
            conn.execute(
                "INSERT INTO robots (origin, fetched_at, status, body) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (origin) DO UPDATE SET fetched_at = excluded.fetched_at,"
                " status = excluded.status, body = excluded.body",
                (origin, dt_to_text(fetched_at, "fetched_at"), status, body),
            )

    # -- source state ------------------------------------------------------------------------

    def state(self, source_id: str) -> SourceState:
        """The stored state, or a fresh ``status="new"`` one for a source never saved."""
        with self._guard("state", source_id):
            rows = self._query(
                f"SELECT {_STATE_COLUMNS} FROM sources WHERE source_id = ?", (source_id,)
            )
            return _state_from_row(rows[0]) if rows else SourceState(source_id=source_id)

    def state_and_count(self, source_id: str) -> tuple[SourceState, int]:
        """``state`` and ``count`` in one query (a refresh starts with both)."""
        with self._guard("state", source_id):
            rows = self._query(
                f"SELECT {_STATE_COLUMNS}, stored FROM sources WHERE source_id = ?", (source_id,)
            )
            if not rows:
                return SourceState(source_id=source_id), 0
            return _state_from_row(rows[0]), int(rows[0]["stored"])

    def save_state(self, state: SourceState) -> None:
        """Store a source's state as given (``entry_count`` included: the caller sets it)."""
        where = f"source {state.source_id}"
        params = (
            state.source_id,
            _opt_text(state.last_attempt, f"{where}: last_attempt"),
            _opt_text(state.last_success, f"{where}: last_success"),
            state.consecutive_failures,
            state.last_error,
            state.status,
            _opt_text(state.retry_after, f"{where}: retry_after"),
            state.entry_count,
        )
        with self._write("save_state", state.source_id) as conn:
            conn.execute(
                f"INSERT INTO sources ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source_id) DO UPDATE SET last_attempt = excluded.last_attempt,"
                " last_success = excluded.last_success,"
                " consecutive_failures = excluded.consecutive_failures,"
                " last_error = excluded.last_error, status = excluded.status,"
                " retry_after = excluded.retry_after, entry_count = excluded.entry_count",
                params,
            )

    def states(self) -> list[SourceState]:
        """Every source the store knows (saved state or stored entries), by id."""
        with self._guard("states"):
            rows = self._query(f"SELECT {_STATE_COLUMNS} FROM sources ORDER BY source_id")
            return [_state_from_row(r) for r in rows]
