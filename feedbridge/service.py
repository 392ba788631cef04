"""``feedbridge serve``: the long-running service — scheduler, HTTP server, signals, reload.

Life of the process:

* start: load and validate the config (exit 2 if invalid), open the store, read every source's
  stored state, schedule the sources (staggered; a source refreshed recently resumes where it
  left off instead of refetching), serve HTTP.
* SIGHUP: reload the config file; if it is invalid, log why and keep running the old one.
* SIGTERM / SIGINT: stop scheduling, give in-flight refreshes ``--stop-timeout`` seconds,
  then exit 0. A refresh still running is abandoned: feed files are replaced by rename and
  every store write is one transaction, so nothing is left half-written, and the next start
  resumes from the stored state.

Threads: the main thread only waits for signals; waitress serves on its own threads; the
scheduler runs refreshes in a bounded pool. They share one ``HttpClient`` (so per-host
politeness holds across sources) and one ``SQLiteStore`` (thread-safe), and the pages read an
in-memory copy of the source states that each refresh updates.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from feedbridge.errors import ConfigError, FeedbridgeError
from feedbridge.metrics import Metrics
from feedbridge.model import Config, RefreshResult, Source, SourceState
from feedbridge.schedule import RefreshScheduler
from feedbridge.server import FeedServer, HttpServer, View, token_from_env

log = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
DEFAULT_WORKERS = 4
#: Below Docker's and Podman's 10 s between SIGTERM and SIGKILL.
DEFAULT_STOP_TIMEOUT = 8.0
ENV = {
    "host": "FEEDBRIDGE_HOST",
    "port": "FEEDBRIDGE_PORT",
    "workers": "FEEDBRIDGE_WORKERS",
    "stop_timeout": "FEEDBRIDGE_STOP_TIMEOUT",
    "log_level": "FEEDBRIDGE_LOG_LEVEL",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``feedbridge serve``; each has an environment variable (the option wins)."""
    parser.add_argument(
        "--host", help=f"address to listen on (${ENV['host']}, default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, help=f"port to listen on (${ENV['port']}, default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help=f"sources refreshed at once (${ENV['workers']}, default {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        help="seconds to let refreshes finish on SIGTERM "
        f"(${ENV['stop_timeout']}, default {DEFAULT_STOP_TIMEOUT:g})",
    )


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    workers: int
    stop_timeout: float
    token: str | None
    overrides: tuple[tuple[str, str], ...] = ()


def resolve_options(args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> Options:
    """Options from the arguments, else the environment, else the defaults."""

    def pick(name: str, default: str) -> str:
        value = getattr(args, name, None)
        return str(value) if value is not None else env.get(ENV[name]) or default

    try:
        port = int(pick("port", str(DEFAULT_PORT)))
        workers = int(pick("workers", str(DEFAULT_WORKERS)))
        stop_timeout = float(pick("stop_timeout", str(DEFAULT_STOP_TIMEOUT)))
    except ValueError as e:
        raise ConfigError(f"serve: invalid option or environment value: {e}") from e
    if not 0 <= port <= 65535 or workers < 1 or stop_timeout < 0:
        raise ConfigError(
            f"serve: out of range: port {port} (0–65535), workers {workers} (≥ 1), "
            f"stop timeout {stop_timeout} (≥ 0)"
        )
    overrides = []
    for pair in getattr(args, "override_origin", None) or []:
        old, sep, new = str(pair).partition("=")
        if not sep:
            raise ConfigError(f"--override-origin {pair!r}: expected OLD=NEW")
        overrides.append((old.rstrip("/"), new.rstrip("/")))
    return Options(
        host=pick("host", DEFAULT_HOST),
        port=port,
        workers=workers,
        stop_timeout=stop_timeout,
        token=token_from_env(env),
        overrides=tuple(overrides),
    )


def load(path: Path, overrides: Sequence[tuple[str, str]] = ()) -> Config:
    """Load and validate the config (raises ConfigError), with any origin overrides."""
    from feedbridge.config import load_config, rebase_origins

    config = load_config(path)
    return rebase_origins(config, dict(overrides)) if overrides else config


class Service:
    """The running service: config (swappable on reload), store, client, scheduler, metrics."""

    def __init__(
        self,
        config: Config,
        *,
        workers: int = DEFAULT_WORKERS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        from feedbridge.fetch import HttpClient
        from feedbridge.store import SQLiteStore

        self._clock = clock
        self._lock = threading.Lock()
        self._config = config
        self._store = SQLiteStore(config.settings.state_db)
        self._client = HttpClient(config.settings, robots_store=self._store)
        self._retired: list[object] = []  # stores/clients replaced by a reload, closed at exit
        self._states: dict[str, SourceState] = {s.source_id: s for s in self._store.states()}
        self.started = clock()
        self.metrics = Metrics(self._metrics_view, clock)
        self.metrics.declare(s.id for s in config.sources)
        self.scheduler = RefreshScheduler(self._refresh, workers=workers, clock=clock)
        config.settings.output_dir.mkdir(parents=True, exist_ok=True)

    # -- what the pages see ------------------------------------------------------------------

    def view(self) -> View:
        with self._lock:
            config, states = self._config, dict(self._states)
        return View(
            config,
            states,
            self.started,
            next_runs=self.scheduler.next_runs(),
            running=frozenset(self.scheduler.running()),
        )

    def _metrics_view(self) -> tuple[Sequence[Source], Mapping[str, SourceState], datetime]:
        with self._lock:
            return self._config.sources, dict(self._states), self.started

    # -- running -----------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            sources, states = self._config.sources, dict(self._states)
        self.scheduler.start(sources, states)

    def _refresh(self, source: Source) -> SourceState:
        """One scheduled refresh; returns the state it left in the store."""
        from feedbridge.refresh import refresh_source

        with self._lock:
            settings, client, store = self._config.settings, self._client, self._store
        url = source.listing.urls[0] if source.listing.urls else ""
        try:
            result = refresh_source(source, settings, client, store)
        except FeedbridgeError as e:  # refresh_source records site problems itself
            log.error("source %s (%s): refresh failed: %s", source.id, url, e)
            result = RefreshResult(source.id, ok=False, errors=1, reason=str(e), error_kind="store")
        state = store.state(source.id)
        with self._lock:
            self._states[source.id] = state
        self.metrics.observe(result)
        if result.ok:
            log.info(
                "source %s (%s): %d new, %d updated, %d unchanged, %d errors, %d requests "
                "in %.2f s",
                source.id,
                url,
                result.new,
                result.updated,
                result.unchanged,
                result.errors,
                result.requests,
                result.seconds,
            )
        else:
            log.warning(
                "source %s (%s): %s: %s (%d failures in a row)",
                source.id,
                url,
                result.error_kind,
                result.reason,
                state.consecutive_failures,
            )
        return state

    def reload(self, new: Config) -> None:
        """Switch to a validated new config; the scheduler follows the change of sources."""
        from feedbridge.fetch import HttpClient
        from feedbridge.store import SQLiteStore

        with self._lock:
            old = self._config
        # everything that can fail happens before anything is swapped: a reload that fails
        # leaves the running config, store and client exactly as they were
        new.settings.output_dir.mkdir(parents=True, exist_ok=True)
        store = (
            SQLiteStore(new.settings.state_db)
            if new.settings.state_db != old.settings.state_db
            else None
        )
        with self._lock:
            if store is not None:
                self._retired.append(self._store)
                self._store = store
                self._states = {s.source_id: s for s in self._store.states()}
            if new.settings != old.settings:
                self._retired.append(self._client)
                self._client = HttpClient(new.settings, robots_store=self._store)
            self._config = new
            states = dict(self._states)
        self.metrics.declare(s.id for s in new.sources)
        self.scheduler.update(new.sources, states)
        before, after = {s.id for s in old.sources}, {s.id for s in new.sources}
        log.info(
            "config reloaded: %d sources (%d added, %d removed)",
            len(after),
            len(after - before),
            len(before - after),
        )

    def stop(self, timeout: float) -> bool:
        """Stop scheduling and wait (bounded) for refreshes in flight; True if none is left."""
        clean = self.scheduler.stop(timeout)
        if clean:
            self.close()
        return clean

    def close(self) -> None:
        for thing in [*self._retired, self._client, self._store]:
            close = getattr(thing, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as e:  # closing at exit must not hide the exit itself
                    log.warning("closing %s: %s", type(thing).__name__, e)


class _Signals:
    """Signals become flags the main thread acts on: handlers do nothing else."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.stop: str | None = None
        self.reload = False

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop = signal.Signals(signum).name
        self.wake.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.reload = True
        self.wake.set()


def _apply_log_level(env: Mapping[str, str]) -> None:
    """``FEEDBRIDGE_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR) sets the root level, if given."""
    name = env.get(ENV["log_level"], "").strip().upper()
    if not name:
        return
    level = logging.getLevelName(name)
    if isinstance(level, int):
        logging.getLogger().setLevel(level)
    else:
        log.warning("%s=%r is not a log level; keeping the default", ENV["log_level"], name)


def run(args: argparse.Namespace, config_path: Path) -> int:
    """``feedbridge serve``: returns 0 after a clean stop, 2 for an invalid config or options."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    _apply_log_level(os.environ)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # APScheduler logs two lines per run; ours already says what each run did
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        options = resolve_options(args)
        config = load(config_path, options.overrides)
    except ConfigError as e:
        for line in e.problems:
            print(f"config error: {line}", file=sys.stderr)
        return 2
    signals = _Signals()
    signals.install()  # before anything starts, so an early SIGTERM is not lost
    service = Service(config, workers=options.workers)
    app = FeedServer(service.view, token=options.token, metrics=service.metrics)
    try:
        http = HttpServer(app, options.host, options.port)
    except OSError as e:
        log.error("cannot listen on %s:%s: %s", options.host, options.port, e)
        service.close()
        return 1
    http.start()
    service.start()
    log.info(
        "serving %d sources on %s (config %s, feeds in %s, state in %s%s)",
        len(config.sources),
        http.url,
        config_path,
        config.settings.output_dir,
        config.settings.state_db,
        ", token required" if options.token else "",
    )
    while signals.stop is None:
        signals.wake.wait()
        signals.wake.clear()
        if signals.reload and signals.stop is None:
            signals.reload = False
            _reload(service, config_path, options.overrides)
    log.info("%s: stopping; waiting up to %g s for refreshes", signals.stop, options.stop_timeout)
    clean = service.stop(options.stop_timeout)
    http.stop(timeout=2.0)
    if not clean:
        # Worker threads are not daemons; exiting now abandons them. Safe: see the docstring.
        log.warning("exiting with refreshes abandoned; the next start resumes from the store")
        logging.shutdown()
        os._exit(0)
    log.info("stopped")
    return 0


def _reload(service: Service, config_path: Path, overrides: Sequence[tuple[str, str]]) -> None:
    log.info("SIGHUP: reloading %s", config_path)
    try:
        new = load(config_path, overrides)
    except ConfigError as e:
        log.error("config reload failed, keeping the running config: %s", "; ".join(e.problems))
        return
    except Exception:  # a reload must never take the running service down
        log.exception("config reload failed, keeping the running config")
        return
    try:
        service.reload(new)
    except Exception:  # e.g. the new state_db cannot be opened
        log.exception("config reload failed, keeping the running config")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m feedbridge.service``: the serve command without the rest of the CLI."""
    from feedbridge.config import resolve_config_path

    parser = argparse.ArgumentParser(prog="feedbridge-serve", description=__doc__)
    parser.add_argument("-c", "--config", help="config file")
    parser.add_argument("--override-origin", action="append", default=[], metavar="OLD=NEW")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args, resolve_config_path(args.config))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
