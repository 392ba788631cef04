"""YAML config (+ environment) → a validated, typed :class:`~feedbridge.model.Config`.

Loading is three steps, so that every problem in every file is reported at once:

1. **read** – YAML text → plain data (dicts, lists, scalars) plus a table of key path → line,
   so messages can point at the offending key (``_read_document``);
2. **check** – walk the data against the tables of :mod:`feedbridge.config_schema` (the same
   tables the JSON Schema is generated from) and collect ``FILE:LINE: key.path: message``
   lines (``_Checker``), then check what spans files (includes, duplicate ids, environment);
3. **build** – only when nothing was found: turn the data into frozen dataclasses (pure).

:func:`rebase_origins` rewrites a loaded config so the shipped sources can run against fixture
sites on loopback; :func:`parse_duration` reads ``90s`` / ``30m`` / ``2h`` / ``1d``.
"""

from __future__ import annotations

import difflib
import glob
import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from apscheduler.triggers.cron import CronTrigger

from feedbridge.config_schema import (
    INCLUDED,
    TOP,
    AnyOf,
    Bool,
    Num,
    Section,
    Seq,
    Spec,
    Str,
    StrMap,
    When,
    resolve,
)
from feedbridge.errors import ConfigError
from feedbridge.model import (
    ArticleSpec,
    Config,
    Expectations,
    HttpPolicy,
    ListingSpec,
    Pagination,
    Rule,
    Schedule,
    Selector,
    Settings,
    Source,
    Take,
)
from feedbridge.selectors import SelectorSyntaxError, compile_regex, compile_selector

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path("config/feedbridge.yaml")
CONFIG_ENV = "FEEDBRIDGE_CONFIG"
ENV_OUTPUT_DIR = "FEEDBRIDGE_OUTPUT_DIR"
ENV_STATE_DB = "FEEDBRIDGE_STATE_DB"
ENV_BASE_URL = "FEEDBRIDGE_BASE_URL"

KeyPath = tuple[str | int, ...]


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def resolve_config_path(cli_path: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """``--config`` wins, then ``FEEDBRIDGE_CONFIG``, then :data:`DEFAULT_CONFIG_PATH`."""
    if cli_path:
        return Path(cli_path)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return DEFAULT_CONFIG_PATH


def load_config(path: Path, env: Mapping[str, str] = os.environ) -> Config:
    """Read, validate and build the config at ``path`` (and the files it includes).

    Raises :class:`ConfigError` listing every problem, each ``FILE:LINE: key.path: message``.
    """
    problems: list[str] = []
    main = _read_document(path, problems)
    if main is None:
        raise ConfigError(problems)
    problems += _Checker(main).run(TOP)
    documents = [main, *_included_documents(main, problems)]
    problems += _duplicate_ids(documents)
    raw_settings = _mapping_at(main.data, "settings")
    problems += _env_problems(env)
    if problems:
        raise ConfigError(problems)
    settings = _env_overrides(_build_settings(raw_settings), env)
    sources = tuple(
        _build_source(raw, doc.where(("sources", i)))
        for doc in documents
        for i, raw in enumerate(_sources_of(doc))
    )
    log.debug("config %s: %d sources from %d files", path, len(sources), len(documents))
    return Config(settings=settings, sources=sources, path=path)


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``90s``, ``30m``, ``2h``, ``1d``; a bare number (or numeric string) is minutes.

    Raises :class:`ValueError` for anything else, including negative or non-finite numbers.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"invalid duration {value!r}: must be a finite number ≥ 0")
        return float(value) * 60.0
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(
            f"invalid duration {value!r}: use e.g. 90s, 30m, 2h, 1d or a number of minutes"
        )
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*$")
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "": 60.0}


def rebase_origins(
    config: Config, mapping: Mapping[str, str], *, allow_private: bool = True
) -> Config:
    """Point every source URL whose origin is a key of ``mapping`` at the mapped origin.

    Rewrites listing URLs, ``home_url`` and the pagination ``url_template``; an
    ``allowed_hosts`` entry naming a rebased host becomes the new host. Sources that changed
    get ``http.allow_private`` (when ``allow_private``) so they may reach loopback. Everything
    else is kept, so the shipped configs run unchanged against fixture sites.
    """
    table: dict[str, str] = {}
    for old, new in mapping.items():
        old_origin, new_origin = _origin(old), _origin(new)
        if old_origin is None or new_origin is None:
            raise ValueError(f"rebase_origins: not an origin: {old!r} → {new!r}")
        table[old_origin] = new_origin
    sources = tuple(_rebase_source(s, table, allow_private) for s in config.sources)
    return replace(config, sources=sources)


# ---------------------------------------------------------------------------------------------
# Step 1: read YAML, keeping lines
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    """One config file as plain data, with the line of every key and list item."""

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int:
        """The line of ``path``, or of its nearest ancestor that exists in the file."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def where(self, path: KeyPath) -> str:
        return f"{self.file}:{self.line(path)}"

    def problem(self, path: KeyPath, message: str) -> str:
        return f"{self.where(path)}: {format_path(path)}: {message}"


def format_path(path: KeyPath) -> str:
    """``("sources", 0, "listing", "url")`` → ``sources[0].listing.url``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _read_document(path: Path, problems: list[str]) -> _Document | None:
    """Read and parse one file; an unreadable file or a YAML error becomes a problem."""
    file = str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        problems.append(f"{file}: cannot read config: {e.strerror or e}")
        return None
    except UnicodeDecodeError as e:
        problems.append(f"{file}: not UTF-8 text: {e}")
        return None
    return _parse_yaml(text, file, problems)


# libyaml's loader when PyYAML was built with it: 6× faster and a third of the memory on a
# 2,000-source config (bench scenario 2); node marks, and so line numbers, are the same.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(text: str, file: str, problems: list[str]) -> _Document | None:
    loader = _Loader(text)
    reader = _Reader(loader, file)
    try:
        node = loader.get_single_node()
        data = {} if node is None else reader.convert(node, ())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        context = f" ({e.context})" if e.context else ""
        problems.append(f"{where}: invalid YAML: {e.problem}{context}")
        return None
    except yaml.YAMLError as e:
        problems.append(f"{file}: invalid YAML: {e}")
        return None
    finally:
        loader.dispose()
    problems.extend(reader.problems)
    return _Document(file, data, reader.lines)


class _Reader:
    """Turns a composed YAML node tree into plain data, recording lines by key path.

    Keys are kept as written (``on:`` stays the string ``on``); timestamps stay strings;
    merge keys (``<<``) are honoured; duplicate keys and recursive aliases are problems.
    """

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self.problems: list[str] = []
        self._open: set[int] = set()
        self._explicit: dict[KeyPath, bool] = {}  # key written in this mapping, not merged in

    def convert(self, node: yaml.Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in self._open:
            self._problem(node, path, "recursive alias")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        explicit = {id(key) for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"}
        self.loader.flatten_mapping(node)  # merged pairs come first, so explicit keys win
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, path, "mapping keys must be plain strings")
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            if key in out and id(key_node) in explicit and self._explicit.get(key_path):
                first = self.lines[key_path]
                self._problem(key_node, key_path, f"duplicate key (first given at line {first})")
                continue
            self._explicit[key_path] = id(key_node) in explicit
            self.lines[key_path] = key_node.start_mark.line + 1
            out[key] = self.convert(value_node, key_path)
        return out

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        try:
            return self.loader.construct_object(node)
        except yaml.constructor.ConstructorError as e:
            self._problem(node, path, str(e.problem))
            return node.value  # reported once; checked as the text it was written as

    def _problem(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append(f"{self.file}:{line}: {format_path(path)}: {message}")


# ---------------------------------------------------------------------------------------------
# Step 2: check against the tables of config_schema
# ---------------------------------------------------------------------------------------------


class _Checker:
    """Walks one document against a spec and collects every problem."""

    def __init__(self, doc: _Document) -> None:
        self.doc = doc
        self.problems: list[str] = []

    def run(self, spec: Spec) -> list[str]:
        self.check(self.doc.data, spec, ())
        return self.problems

    def report(self, path: KeyPath, message: str) -> None:
        self.problems.append(self.doc.problem(path, message))

    def check(self, value: Any, ref: Spec, path: KeyPath) -> None:
        spec = resolve(ref)
        if isinstance(spec, AnyOf):
            self._any_of(value, spec, path)
        elif not _type_matches(value, spec):
            quote = " (quote it to make it a string)" if _quotable(value, spec) else ""
            self.report(path, f"expected {_describe(spec)}, got {_describe_value(value)}{quote}")
        elif isinstance(spec, Str):
            self._string(value, spec, path)
        elif isinstance(spec, Num):
            self._number(value, spec, path)
        elif isinstance(spec, Seq):
            self._sequence(value, spec, path)
        elif isinstance(spec, StrMap):
            for key, item in value.items():
                self.check(item, spec.value, (*path, key))
        elif isinstance(spec, Section):
            self._section(value, spec, path)

    def _any_of(self, value: Any, spec: AnyOf, path: KeyPath) -> None:
        for option in spec.options:
            resolved = resolve(option)
            if _type_matches(value, resolved):
                self.check(value, resolved, path)
                return
        self.report(path, f"expected {_describe(spec)}, got {_describe_value(value)}")

    def _string(self, value: str, spec: Str, path: KeyPath) -> None:
        if spec.enum and value not in spec.enum:
            self.report(path, f"unknown value {value!r}{_suggest(value, spec.enum)}")
        elif len(value) < spec.min_length:
            self.report(path, "must not be empty")
        elif spec.pattern and not re.search(spec.pattern, value):
            self.report(
                path, f"invalid value {value!r}: {spec.hint or 'must match ' + spec.pattern}"
            )
        elif spec.check:
            message = CHECKS[spec.check](value)
            if message:
                self.report(path, message)

    def _number(self, value: float, spec: Num, path: KeyPath) -> None:
        if not math.isfinite(value):
            self.report(path, "must be a finite number")
        elif spec.minimum is not None and value < spec.minimum:
            self.report(path, f"must be at least {spec.minimum:g}, got {value:g}")
        elif spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
            self.report(path, f"must be greater than {spec.exclusive_minimum:g}, got {value:g}")
        elif spec.maximum is not None and value > spec.maximum:
            self.report(path, f"must be at most {spec.maximum:g}, got {value:g}")

    def _sequence(self, value: list[Any], spec: Seq, path: KeyPath) -> None:
        if len(value) < spec.min_items:
            self.report(path, f"needs at least {spec.min_items} item(s)")
        seen: list[Any] = []
        for i, item in enumerate(value):
            if spec.unique and item in seen:
                self.report((*path, i), f"duplicate item {item!r}")
            seen.append(item)
            self.check(item, spec.item, (*path, i))

    def _section(self, value: dict[str, Any], spec: Section, path: KeyPath) -> None:
        for key, item in value.items():
            if key in spec.keys:
                self.check(item, spec.keys[key], (*path, key))
            else:
                self.report((*path, key), f"unknown key{_suggest(key, tuple(spec.keys))}")
        for key in spec.required:
            if key not in value:
                self.report((*path, key), "required key missing")
        for group in spec.exactly_one_of:
            present = [key for key in group if key in value]
            if not present:
                self.report(path, f"one of {', '.join(group)} is required")
        for group in (*spec.exactly_one_of, *spec.at_most_one_of):
            present = [key for key in group if key in value]
            if len(present) > 1:
                self.report((*path, present[1]), f"give only one of {', '.join(present)}")
        for when in spec.when:
            self._when(value, when, path)

    def _when(self, value: dict[str, Any], when: When, path: KeyPath) -> None:
        applies = when.key in value and (when.equals is None or value[when.key] == when.equals)
        required = when.then_required if applies else when.else_required
        forbidden = when.then_forbidden if applies else when.else_forbidden
        pinned = when.then_const if applies else ()
        why = f" ({when.reason})" if when.reason else ""
        for key_path in required:
            self._require(value, key_path, path, why)
        for key in forbidden:
            if key in value:
                self.report((*path, key), f"not allowed here{why}")
        for key, expected in pinned:
            if key in value and value[key] != expected:
                self.report((*path, key), f"must be {expected!r}{why}")

    def _require(self, value: Any, key_path: tuple[str, ...], path: KeyPath, why: str) -> None:
        for depth, key in enumerate(key_path, start=1):
            if not isinstance(value, dict):
                return  # a type error was reported already
            if key not in value:
                self.report((*path, *key_path[:depth]), f"required key missing{why}")
                return
            value = value[key]


def _type_matches(value: Any, ref: Spec) -> bool:
    spec = resolve(ref)
    if isinstance(spec, Str):
        return isinstance(value, str)
    if isinstance(spec, Num):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return not spec.integer or isinstance(value, int) or float(value).is_integer()
    if isinstance(spec, Bool):
        return isinstance(value, bool)
    if isinstance(spec, Seq):
        return isinstance(value, list)
    if isinstance(spec, StrMap | Section):
        return isinstance(value, dict)
    return any(_type_matches(value, option) for option in spec.options)


def _quotable(value: Any, spec: Spec) -> bool:
    """YAML read an unquoted ``2024`` or ``yes`` as a number or boolean where text was meant."""
    return isinstance(value, int | float) and isinstance(spec, Str)


def _describe(ref: Spec) -> str:
    spec = resolve(ref)
    if isinstance(spec, Str):
        return "one of " + ", ".join(spec.enum) if spec.enum else "a string"
    if isinstance(spec, Num):
        return "an integer" if spec.integer else "a number"
    if isinstance(spec, Bool):
        return "true or false"
    if isinstance(spec, Seq):
        return "a list"
    if isinstance(spec, StrMap | Section):
        return "a mapping"
    return " or ".join(_describe(option) for option in spec.options)


def _describe_value(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _suggest(word: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; allowed: {', '.join(known)}"


# Semantic checks named by ``Str.check``: value → message, or None when fine.


def _check_selector(kind: str, value: str) -> str | None:
    try:
        compile_selector(Selector("css" if kind == "css" else "xpath", value))
    except SelectorSyntaxError as e:
        return str(e)
    return None


def _check_regex(value: str, *, need_group: bool = False) -> str | None:
    try:
        pattern = compile_regex(value)
    except SelectorSyntaxError as e:
        return f"invalid regex: {e.__cause__ or e}"
    if need_group and pattern.groups < 1:
        return "the regex needs a group ( … ) whose match identifies the entry"
    return None


def _check_timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {value!r} (use an IANA name like Asia/Pyongyang)"
    return None


_STRPTIME_DIRECTIVES = frozenset("aAwdbBmyYHIpMSfzZjUWcxXGuV%")


def _check_strptime(value: str) -> str | None:
    directives = re.findall(r"%(.?)", value)
    for directive in directives:
        if directive not in _STRPTIME_DIRECTIVES:
            return f"unknown strptime directive %{directive} in {value!r}"
    if not [d for d in directives if d != "%"]:
        return f"strptime format {value!r} has no % directive"
    return None


def _check_cron(value: str) -> str | None:
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except (ValueError, TypeError) as e:
        return f"invalid cron expression {value!r}: {e}"
    return None


def _check_url(value: str, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises for a bad port
    except ValueError as e:
        return f"invalid URL {value!r}: {e}"
    if parts.scheme.lower() not in schemes or not parts.hostname or re.search(r"\s", value):
        return f"not an absolute {'/'.join(schemes)} URL: {value!r}"
    return None


def _check_url_template(value: str) -> str | None:
    if "{page}" not in value and "{offset}" not in value:
        return f"url_template {value!r} needs {{page}} or {{offset}}"
    try:
        example = value.format(page=2, offset=0)
    except (KeyError, IndexError, ValueError) as e:
        return f"url_template {value!r}: only {{page}} and {{offset}} may be used ({e})"
    return _check_url(example)


def _check_duration(value: str, *, positive: bool) -> str | None:
    try:
        seconds = parse_duration(value)
    except ValueError as e:
        return str(e)
    if positive and seconds <= 0:
        return f"duration {value!r} must be greater than 0"
    return None


CHECKS: dict[str, Any] = {
    "css": lambda v: _check_selector("css", v),
    "xpath": lambda v: _check_selector("xpath", v),
    "regex": _check_regex,
    "regex_group": lambda v: _check_regex(v, need_group=True),
    "timezone": _check_timezone,
    "strptime": _check_strptime,
    "cron": _check_cron,
    "http_url": _check_url,
    "proxy_url": lambda v: _check_url(v, ("http", "https", "socks4", "socks5", "socks5h")),
    "url_template": _check_url_template,
    "duration": lambda v: _check_duration(v, positive=False),
    "duration_positive": lambda v: _check_duration(v, positive=True),
}


# Checks that span files or come from the environment.


def _included_documents(main: _Document, problems: list[str]) -> list[_Document]:
    """Read the files ``include`` names (sorted glob matches, relative to the main file)."""
    patterns = _mapping_at(main.data, "include", default=[])
    if not isinstance(patterns, list):
        return []
    base = Path(main.file).parent
    seen = {Path(main.file).resolve()}
    documents: list[_Document] = []
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern:
            continue
        full = os.path.join(glob.escape(str(base)), pattern)  # an absolute pattern stays
        matches = [Path(m) for m in sorted(glob.glob(full, recursive=True))]
        files = [m for m in matches if m.is_file()]
        if not files:
            problems.append(main.problem(("include", i), f"{pattern!r} matches no file"))
        for file in files:
            if file.resolve() == Path(main.file).resolve():
                problems.append(main.problem(("include", i), "matches the including file"))
            if file.resolve() in seen:
                continue
            seen.add(file.resolve())
            doc = _read_document(file, problems)
            if doc is not None:
                problems += _Checker(doc).run(INCLUDED)
                documents.append(doc)
    return documents


def _duplicate_ids(documents: Iterable[_Document]) -> list[str]:
    """Every source id given twice, naming both places."""
    first: dict[str, str] = {}
    problems: list[str] = []
    for doc in documents:
        for i, raw in enumerate(_sources_of(doc)):
            source_id = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(source_id, str):
                continue
            path: KeyPath = ("sources", i, "id")
            if source_id in first:
                message = f"duplicate source id {source_id!r} (first defined at {first[source_id]})"
                problems.append(doc.problem(path, message))
            else:
                first[source_id] = doc.where(path)
    return problems


def _env_problems(env: Mapping[str, str]) -> list[str]:
    base_url = env.get(ENV_BASE_URL)
    message = _check_url(base_url) if base_url else None
    return [f"{ENV_BASE_URL} (environment): {message}"] if message else []


def _sources_of(doc: _Document) -> list[Any]:
    sources = _mapping_at(doc.data, "sources", default=[])
    return sources if isinstance(sources, list) else []


def _mapping_at(data: Any, key: str, default: Any = None) -> Any:
    """``data[key]`` when data is a mapping holding it, else ``default`` (or an empty dict)."""
    if isinstance(data, dict) and key in data:
        return data[key]
    return {} if default is None else default


# ---------------------------------------------------------------------------------------------
# Step 3: build (pure; the data has been checked)
# ---------------------------------------------------------------------------------------------

_SETTINGS_CONVERT: dict[str, Any] = {
    "output_dir": Path,
    "state_db": Path,
    "base_url": lambda v: _with_slash(v),
    "formats": tuple,
    "connect_timeout": float,
    "read_timeout": float,
    "refresh_budget_seconds": float,
    "future_skew_seconds": float,
    "max_body_bytes": int,
    "max_redirects": int,
    "retries": int,
}


def _build_settings(raw: Mapping[str, Any]) -> Settings:
    kwargs = {key: _SETTINGS_CONVERT.get(key, str)(value) for key, value in raw.items()}
    return Settings(**kwargs)


def _env_overrides(settings: Settings, env: Mapping[str, str]) -> Settings:
    changes: dict[str, Any] = {}
    if env.get(ENV_OUTPUT_DIR):
        changes["output_dir"] = Path(env[ENV_OUTPUT_DIR])
    if env.get(ENV_STATE_DB):
        changes["state_db"] = Path(env[ENV_STATE_DB])
    if env.get(ENV_BASE_URL):
        changes["base_url"] = _with_slash(env[ENV_BASE_URL])
    return replace(settings, **changes)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _build_source(raw: Mapping[str, Any], origin: str) -> Source:
    kwargs: dict[str, Any] = {
        "id": raw["id"],
        "title": raw["title"],
        "listing": _build_listing(raw["listing"]),
        "origin": origin,
    }
    for key in ("description", "language", "home_url", "timezone"):
        if key in raw:
            kwargs[key] = raw[key]
    if "article" in raw:
        kwargs["article"] = _build_article(raw["article"])
    entry_id = raw.get("entry_id", "url")
    if isinstance(entry_id, dict):
        kwargs["entry_id"], kwargs["entry_id_regex"] = "url_regex", entry_id["regex"]
    else:
        kwargs["entry_id"] = entry_id
    if "max_entries" in raw:
        kwargs["max_entries"] = int(raw["max_entries"])
    kwargs["http"] = _build_http(raw.get("http", {}))
    kwargs["expect"] = _build_expect(raw.get("expect", {}))
    kwargs["schedule"] = _build_schedule(raw.get("schedule", {}))
    if not kwargs["http"].respect_robots:
        log.warning(
            "source %s %s (%s): respect_robots is off; robots.txt is ignored",
            raw["id"],
            kwargs["listing"].urls[0],
            origin,
        )
    return Source(**kwargs)


def _build_selector(raw: str | Mapping[str, str]) -> Selector:
    if isinstance(raw, str):
        return Selector("css", raw)
    return Selector("css", raw["css"]) if "css" in raw else Selector("xpath", raw["xpath"])


# Fields whose rules take outer HTML unless told otherwise.
_HTML_FIELDS = frozenset({"body", "summary"})


def _build_rule(name: str, raw: str | Mapping[str, Any]) -> Rule:
    """One field rule, with the per-field default ``take``.

    ``link`` and ``image`` keep ``take="text"`` here even though they read attributes: the
    extractor applies their defaults (``href`` of the element or its first ``<a>``; ``src``
    with lazy-loading fallbacks) exactly when ``attribute is None and take == "text"``. A
    rule that names an attribute or a ``take`` explicitly is taken as written.
    """
    default_take: Take = "html" if name in _HTML_FIELDS else "text"
    if isinstance(raw, str):
        return Rule(Selector("css", raw), take=default_take)
    has_selector = "css" in raw or "xpath" in raw
    attribute = raw.get("attribute")
    formats = raw.get("formats", raw.get("format", ()))
    return Rule(
        selector=_build_selector(raw) if has_selector else None,
        take=raw.get("take", "attribute" if attribute else default_take),
        attribute=attribute,
        regex=raw.get("regex"),
        formats=(formats,) if isinstance(formats, str) else tuple(formats),
        timezone=raw.get("timezone"),
    )


def _build_listing(raw: Mapping[str, Any]) -> ListingSpec:
    kwargs: dict[str, Any] = {
        "urls": (raw["url"],) if "url" in raw else tuple(raw["urls"]),
        "kind": raw.get("type", "html"),
        "fields": {name: _build_rule(name, rule) for name, rule in raw.get("fields", {}).items()},
    }
    if "items" in raw:
        kwargs["items"] = _build_selector(raw["items"])
    if "pagination" in raw:
        kwargs["pagination"] = _build_pagination(raw["pagination"])
    if "max_items" in raw:
        kwargs["max_items"] = int(raw["max_items"])
    return ListingSpec(**kwargs)


def _build_pagination(raw: Mapping[str, Any]) -> Pagination:
    kwargs: dict[str, Any] = {"kind": raw["type"]}
    for key in ("max_pages", "start", "step"):
        if key in raw:
            kwargs[key] = int(raw[key])
    for key, target in (("next", "next_selector"), ("form", "form_selector")):
        if key in raw:
            kwargs[target] = _build_selector(raw[key])
    for key in ("url_template", "page_field"):
        if key in raw:
            kwargs[key] = raw[key]
    return Pagination(**kwargs)


def _build_article(raw: Mapping[str, Any]) -> ArticleSpec:
    kwargs: dict[str, Any] = {
        name: _build_rule(name, rule)
        for name, rule in raw.items()
        if name not in ("remove", "strip", "refetch_days")
    }
    kwargs["remove"] = tuple(_build_selector(s) for s in raw.get("remove", ()))
    kwargs["strip"] = tuple(raw.get("strip", ()))
    kwargs["refetch_days"] = float(raw.get("refetch_days", 0.0))
    return ArticleSpec(**kwargs)


def _build_http(raw: Mapping[str, Any]) -> HttpPolicy:
    convert: dict[str, Any] = {
        "min_delay": float,
        "max_concurrency": int,
        "headers": dict,
        "cookies": dict,
        "allowed_hosts": tuple,
    }
    return HttpPolicy(**{key: convert.get(key, _same)(value) for key, value in raw.items()})


def _build_expect(raw: Mapping[str, Any]) -> Expectations:
    """Expectations; ``field_coverage`` entries are merged over the defaults (title, link)."""
    kwargs: dict[str, Any] = {
        key: int(raw[key]) for key in ("min_items", "min_body_chars") if key in raw
    }
    if "notice_entry" in raw:
        kwargs["notice_entry"] = raw["notice_entry"]
    coverage = {key: float(value) for key, value in raw.get("field_coverage", {}).items()}
    kwargs["field_coverage"] = {**Expectations().field_coverage, **coverage}
    return Expectations(**kwargs)


def _build_schedule(raw: Mapping[str, Any]) -> Schedule:
    kwargs: dict[str, Any] = {}
    if "interval" in raw:
        kwargs["interval_minutes"] = parse_duration(raw["interval"]) / 60.0
    if "cron" in raw:
        kwargs["cron"] = raw["cron"]
    if "jitter" in raw:
        kwargs["jitter_seconds"] = parse_duration(raw["jitter"])
    if "stale_after" in raw:
        kwargs["stale_after_minutes"] = parse_duration(raw["stale_after"]) / 60.0
    return Schedule(**kwargs)


def _same(value: Any) -> Any:
    return value


# ---------------------------------------------------------------------------------------------
# Rebasing origins (tests and `feedbridge demo`)
# ---------------------------------------------------------------------------------------------


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` in lower case, default ports dropped; None if not absolute."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def _rebase_url(url: str, table: Mapping[str, str]) -> str:
    origin = _origin(url)
    if origin is None or origin not in table:
        return url
    rest = url.split("://", 1)[1]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return table[origin] + rest[cut:]


def _rebase_source(source: Source, table: Mapping[str, str], allow_private: bool) -> Source:
    listing = source.listing
    pagination = listing.pagination
    if pagination is not None and pagination.url_template:
        pagination = replace(pagination, url_template=_rebase_url(pagination.url_template, table))
    new_listing = replace(
        listing, urls=tuple(_rebase_url(u, table) for u in listing.urls), pagination=pagination
    )
    home_url = _rebase_url(source.home_url, table) if source.home_url else source.home_url
    hosts = {urlsplit(old).hostname: urlsplit(new).hostname or "" for old, new in table.items()}
    allowed = tuple(hosts.get(h.lower(), h) for h in source.http.allowed_hosts)
    if (
        new_listing == listing
        and home_url == source.home_url
        and allowed == source.http.allowed_hosts
    ):
        return source
    http = replace(
        source.http,
        allowed_hosts=allowed,
        allow_private=source.http.allow_private or allow_private,
    )
    return replace(source, listing=new_listing, home_url=home_url, http=http)
