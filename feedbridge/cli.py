"""The ``feedbridge`` command: run, check-config, demo, serve, preview.

Exit codes: 0 success; 1 every refreshed source failed (or preview expectations failed);
2 invalid config or usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from feedbridge import __version__
from feedbridge.config import load_config, rebase_origins, resolve_config_path
from feedbridge.errors import ConfigError, FeedbridgeError
from feedbridge.model import Config, RefreshResult, Source

log = logging.getLogger("feedbridge")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose - args.quiet)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_CONFIG
    try:
        return int(args.func(args))
    except ConfigError as e:
        for line in e.problems:
            print(f"config error: {line}", file=sys.stderr)
        return EXIT_CONFIG
    except FeedbridgeError as e:  # e.g. the state database cannot be opened
        print(f"feedbridge: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="feedbridge", description=__doc__.splitlines()[0] if __doc__ else None
    )
    p.add_argument("--version", action="version", version=f"feedbridge {__version__}")
    p.add_argument(
        "-c", "--config", help="config file (default: $FEEDBRIDGE_CONFIG or config/feedbridge.yaml)"
    )
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (repeatable)"
    )
    p.add_argument("-q", "--quiet", action="count", default=0, help="less log output (repeatable)")
    p.add_argument(
        "--override-origin",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="run against another origin, e.g. http://www.kcna.kp=http://127.0.0.1:8001 "
        "(for mirrors and tests; allows private addresses for the rebased sources)",
    )
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    run = sub.add_parser("run", help="refresh sources and write their feeds")
    run.add_argument(
        "--once",
        action="store_true",
        help="refresh once and exit (required: the scheduled service is `feedbridge serve`)",
    )
    run.add_argument("sources", nargs="*", metavar="SOURCE", help="source ids (default: all)")
    run.add_argument(
        "--reextract",
        action="store_true",
        help="refetch every article on the listing and update entries whose text changed "
        "(after fixing a selector; costs one request per article)",
    )
    run.add_argument(
        "--workers", type=int, default=4, help="sources refreshed in parallel (default 4)"
    )
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="validate the config and exit (2 when invalid)")
    check.set_defaults(func=cmd_check_config)

    demo = sub.add_parser(
        "demo", help="serve the bundled sample sites on 127.0.0.1 and build feeds from them"
    )
    demo.add_argument(
        "--output", default="feedbridge-demo", help="folder for the demo's feeds and state"
    )
    demo.set_defaults(func=cmd_demo)

    _add_optional_commands(sub)
    return p


def _add_optional_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Commands that live in their own modules (service, preview)."""
    try:
        from feedbridge import service
    except ImportError:  # pragma: no cover - only while a module is missing
        service = None  # type: ignore[assignment]
    if service is not None:
        serve = sub.add_parser("serve", help="run the scheduler and serve feeds over HTTP")
        service.add_arguments(serve)
        serve.set_defaults(func=lambda a: service.run(a, _config_path(a)))
    try:
        from feedbridge import preview
    except ImportError:  # pragma: no cover
        preview = None  # type: ignore[assignment]
    if preview is not None:
        pv = sub.add_parser("preview", help="show what a source or a URL + selectors extracts")
        preview.add_arguments(pv)
        pv.set_defaults(func=lambda a: preview.run(a, _config_path(a)))


def setup_logging(level: int) -> None:
    levels = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}
    logging.basicConfig(
        level=levels.get(max(-2, min(1, level)), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    if level < 1:
        logging.getLogger("urllib3").setLevel(logging.WARNING)


def _config_path(args: argparse.Namespace) -> Path:
    return resolve_config_path(args.config)


def load(args: argparse.Namespace) -> Config:
    """The config named by the arguments, with any ``--override-origin`` applied."""
    config = load_config(_config_path(args))
    mapping = {}
    for pair in args.override_origin:
        old, sep, new = pair.partition("=")
        if not sep:
            raise ConfigError(f"--override-origin {pair!r}: expected OLD=NEW")
        mapping[old.rstrip("/")] = new.rstrip("/")
    return rebase_origins(config, mapping) if mapping else config


def cmd_check_config(args: argparse.Namespace) -> int:
    config = load(args)
    print(
        f"{config.path}: OK, {len(config.sources)} sources: "
        + ", ".join(s.id for s in config.sources)
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    if not args.once:
        print(
            "feedbridge run: add --once to refresh now and exit; "
            "`feedbridge serve` refreshes on a schedule",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    config = load(args)
    results = run_sources(
        config, args.sources or None, workers=args.workers, reextract=args.reextract
    )
    for r in results:
        print(summary_line(r))
    return EXIT_FAILED if results and not any(r.ok for r in results) else EXIT_OK


def run_sources(
    config: Config, ids: Sequence[str] | None, workers: int = 4, *, reextract: bool = False
) -> list[RefreshResult]:
    """Refresh the named sources (default all) once, in parallel; results in config order."""
    from feedbridge.fetch import HttpClient
    from feedbridge.refresh import refresh_source
    from feedbridge.store import SQLiteStore

    by_id: dict[str, Source] = {}  # one table: finding 2,000 sources by scanning was N²
    for s in config.sources:
        by_id.setdefault(s.id, s)  # the first of an id, as Config.source gives it
    wanted = list(ids) if ids else [s.id for s in config.sources]
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise ConfigError(f"{config.path}: no source with id {', '.join(map(repr, unknown))}")
    sources = [by_id[i] for i in wanted]
    store = SQLiteStore(config.settings.state_db)
    client = HttpClient(config.settings, robots_store=store)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(
                pool.map(
                    lambda s: refresh_source(
                        s, config.settings, client, store, reextract=reextract
                    ),
                    sources,
                )
            )
    except FeedbridgeError as e:  # pragma: no cover - refresh_source records its own failures
        log.error("%s", e)
        raise
    finally:
        client.close()
        store.close()


def summary_line(r: RefreshResult) -> str:
    if not r.ok:
        return (
            f"{r.source_id}: FAILED ({r.error_kind}) after {r.seconds:.2f} s, "
            f"{r.requests} requests: {r.reason}"
        )
    return (
        f"{r.source_id}: {r.new} new, {r.updated} updated, {r.unchanged} unchanged, "
        f"{r.errors} errors in {r.seconds:.2f} s ({r.requests} requests)"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from feedbridge.demo import run_demo

    path = _config_path(args)
    if not path.exists():
        raise ConfigError(
            f"{path}: not found; run the demo from a feedbridge checkout (the shipped configs "
            "are in config/) or name them with --config"
        )
    return run_demo(args, load_config(path))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
