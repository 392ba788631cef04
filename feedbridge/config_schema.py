"""The config language as data: one table of sections, keys and types, read by two consumers.

``config.py`` walks a loaded YAML document against these tables (strict keys, types, ranges,
conditional requirements, plus semantic checks named by ``Str.check``), and
:func:`json_schema` turns the same tables into a JSON Schema (draft 2020-12) for editors.
Keeping one table means the validator and the schema cannot drift apart.

The vocabulary is deliberately small:

    Str      a string; ``enum``, ``pattern``, ``min_length``, and ``check`` — a semantic check
             only the loader can run (a selector compiles, a time zone exists, …)
    Num      a number (``integer`` for whole numbers) with optional bounds
    Bool     true / false
    Seq      a list of one item spec
    StrMap   a mapping with free string keys and one value spec (headers, cookies)
    Section  a mapping with fixed keys; ``required``, ``exactly_one_of``, ``at_most_one_of``
             and ``when`` (conditional rules, e.g. "type: selector requires next")
    AnyOf    alternatives told apart by their JSON type (string shorthand or mapping, …)
    Ref      a named definition from ``DEFS`` (becomes ``$defs`` in the schema)

Run ``python -m feedbridge.config_schema`` to print the schema; the output is committed as
``config/feedbridge.schema.json`` and a test checks they are equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any, TypeAlias

from feedbridge.model import LISTING_FIELDS

SCHEMA_ID = "https://github.com/feedbridge/feedbridge/config/feedbridge.schema.json"

SOURCE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
HTTP_URL_PATTERN = r"^[hH][tT][tT][pP][sS]?://[^\s/?#]+"
DURATION_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*[smhd]?$"
LANGUAGE_PATTERN = r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"

ARTICLE_FIELDS = ("title", "date", "body", "author", "categories", "image")
TAKES = ("text", "html", "inner_html", "attribute")
FEED_FORMATS = ("atom", "rss", "json")
PAGINATION_TYPES = ("rel_next", "selector", "template", "form_post")


@dataclass(frozen=True)
class Str:
    doc: str = ""
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    min_length: int = 0
    check: str | None = None  # name of a semantic check run by config.py
    hint: str = ""  # said instead of the bare pattern when ``pattern`` does not match


@dataclass(frozen=True)
class Num:
    doc: str = ""
    integer: bool = False
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Bool:
    doc: str = ""


@dataclass(frozen=True)
class Seq:
    item: Spec
    doc: str = ""
    min_items: int = 0
    unique: bool = False


@dataclass(frozen=True)
class StrMap:
    value: Spec
    doc: str = ""


@dataclass(frozen=True)
class When:
    """A conditional rule of a section: if ``key`` is present (and equals ``equals`` when that
    is set), the ``then_*`` parts apply, otherwise the ``else_*`` parts.

    Required entries are key paths, so ``("fields", "link")`` reads "fields.link is required".
    ``then_const`` pins keys that are present to one value. ``reason`` ends the message.
    """

    key: str
    equals: str | None = None
    then_required: tuple[tuple[str, ...], ...] = ()
    then_forbidden: tuple[str, ...] = ()
    then_const: tuple[tuple[str, str], ...] = ()
    else_required: tuple[tuple[str, ...], ...] = ()
    else_forbidden: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Section:
    keys: Mapping[str, Spec]
    doc: str = ""
    required: tuple[str, ...] = ()
    exactly_one_of: tuple[tuple[str, ...], ...] = ()
    at_most_one_of: tuple[tuple[str, ...], ...] = ()
    when: tuple[When, ...] = ()


@dataclass(frozen=True)
class AnyOf:
    options: tuple[Spec, ...]
    doc: str = ""


@dataclass(frozen=True)
class Ref:
    name: str


Resolved: TypeAlias = Str | Num | Bool | Seq | StrMap | Section | AnyOf
Spec: TypeAlias = Resolved | Ref


def _duration(doc: str, *, positive: bool) -> AnyOf:
    """A duration: a number of minutes, or a string like ``90s``, ``30m``, ``2h``, ``1d``."""
    number = Num(exclusive_minimum=0) if positive else Num(minimum=0)
    check = "duration_positive" if positive else "duration"
    text = Str(pattern=DURATION_PATTERN, check=check, hint="use e.g. 90s, 30m, 2h, 1d")
    return AnyOf((number, text), doc=doc + " (90s, 30m, 2h, 1d, or a number of minutes)")


def _formats_spec() -> AnyOf:
    fmt = Str(pattern="%", check="strptime", hint="a strptime format needs % directives")
    return AnyOf((fmt, Seq(fmt, min_items=1)), doc="strptime formats tried in order")


# ---------------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------------

SELECTOR = AnyOf(
    (
        Str(check="css", min_length=1, doc="a CSS selector"),
        Section(
            {
                "css": Str(check="css", min_length=1, doc="a CSS selector"),
                "xpath": Str(check="xpath", min_length=1, doc="an XPath expression"),
            },
            exactly_one_of=(("css", "xpath"),),
        ),
    ),
    doc="a CSS selector, or {css: …} / {xpath: …}",
)

RULE = AnyOf(
    (
        Str(check="css", min_length=1, doc="a CSS selector; the element's text is taken"),
        Section(
            {
                "css": Str(check="css", min_length=1, doc="CSS selector"),
                "xpath": Str(check="xpath", min_length=1, doc="XPath expression"),
                "take": Str(enum=TAKES, doc="what of the element to keep"),
                "attribute": Str(min_length=1, doc="attribute name; implies take: attribute"),
                "regex": Str(check="regex", doc="keep only the match (group 1 if any)"),
                "formats": _formats_spec(),
                "format": _formats_spec(),
                "timezone": Str(check="timezone", doc="IANA time zone for this field"),
            },
            at_most_one_of=(("css", "xpath"), ("formats", "format")),
            when=(
                When("take", "attribute", then_required=(("attribute",),)),
                When(
                    "attribute",
                    then_const=(("take", "attribute"),),
                    reason="attribute implies take: attribute",
                ),
            ),
        ),
    ),
    doc="a CSS selector (taking text) or a rule mapping",
)

_PAGINATION_KEYS: dict[str, dict[str, Spec]] = {
    "rel_next": {},
    "selector": {"next": Ref("selector")},
    "template": {
        "url_template": Str(check="url_template", doc="absolute URL with {page} or {offset}"),
        "start": Num(integer=True, minimum=0, doc="first page number built (default 2)"),
        "step": Num(integer=True, minimum=1, doc="page number increment (default 1)"),
    },
    "form_post": {
        "form": Ref("selector"),
        "page_field": Str(min_length=1, doc="form field holding the page number"),
    },
}
_PAGINATION_REQUIRED = {"selector": ("next",), "template": ("url_template",)}


def _pagination() -> Section:
    """The pagination section: each ``type`` allows only its own keys (checked per type)."""
    keys: dict[str, Spec] = {
        "type": Str(enum=PAGINATION_TYPES, doc="how further pages are reached"),
        "max_pages": Num(integer=True, minimum=1, doc="pages read at most (default 1)"),
    }
    for per_type in _PAGINATION_KEYS.values():
        keys.update(per_type)
    when = []
    for kind, own in _PAGINATION_KEYS.items():
        others = tuple(k for t, ks in _PAGINATION_KEYS.items() if t != kind for k in ks)
        required = tuple((k,) for k in _PAGINATION_REQUIRED.get(kind, ()))
        reason = f"type {kind} uses: {', '.join(['max_pages', *own])}"
        when.append(
            When("type", kind, then_required=required, then_forbidden=others, reason=reason)
        )
    return Section(keys, required=("type",), when=tuple(when))


LISTING = Section(
    {
        "url": Str(check="http_url", doc="the listing URL"),
        "urls": Seq(Str(check="http_url"), min_items=1, doc="listing URLs"),
        "type": Str(enum=("html", "feed"), doc="html (default) or feed"),
        "items": Ref("selector"),
        "fields": Section({name: Ref("rule") for name in LISTING_FIELDS}, doc="field rules"),
        "pagination": _pagination(),
        "max_items": Num(integer=True, minimum=1, doc="items taken per listing URL per run"),
    },
    exactly_one_of=(("url", "urls"),),
    when=(
        When(
            "type",
            "feed",
            then_forbidden=("items", "fields"),
            else_required=(("items",), ("fields", "link")),
            reason="html listings need items and fields.link; feed listings take neither",
        ),
    ),
)

ARTICLE = Section(
    {
        **{name: Ref("rule") for name in ARTICLE_FIELDS},
        "remove": Seq(Ref("selector"), doc="elements dropped before anything is taken"),
        "strip": Seq(Str(check="regex"), doc="regexes cut out of the body text"),
        "refetch_days": Num(minimum=0, doc="refetch articles younger than this"),
    }
)

HTTP = Section(
    {
        "min_delay": Num(minimum=0, doc="seconds between two requests to one host"),
        "max_concurrency": Num(integer=True, minimum=1, doc="requests in flight to one host"),
        "respect_robots": Bool(doc="honour robots.txt"),
        "headers": StrMap(Str(), doc="sent with every request"),
        "cookies": StrMap(Str(), doc="sent with every request"),
        "proxy": Str(check="proxy_url", doc="e.g. http://proxy:3128"),
        "allowed_hosts": Seq(Str(min_length=1), doc="hosts articles may be fetched from"),
        "allow_private": Bool(doc="allow private, loopback and link-local addresses"),
        "verify": AnyOf((Bool(), Str(min_length=1)), doc="TLS verification or a CA bundle"),
    }
)

_COVERAGE = Num(minimum=0, maximum=1)
EXPECT = Section(
    {
        "min_items": Num(integer=True, minimum=0, doc="fewer items = layout drift"),
        "field_coverage": Section(
            {name: _COVERAGE for name in LISTING_FIELDS},
            doc="share of items in which each field must be found (0..1)",
        ),
        "min_body_chars": Num(integer=True, minimum=0, doc="shorter bodies = drift"),
        "notice_entry": Bool(doc="add a notice entry to the feed on drift or block"),
    }
)

SCHEDULE = Section(
    {
        "interval": _duration("time between runs", positive=True),
        "cron": Str(check="cron", doc="crontab expression; wins over interval"),
        "jitter": _duration("random delay added to each run", positive=False),
        "stale_after": _duration("stale without success after this", positive=True),
    }
)

SOURCE = Section(
    {
        "id": Str(
            pattern=SOURCE_ID_PATTERN,
            doc="names the output files",
            hint="use 1-64 characters a-z 0-9 . _ -, starting with a letter or digit",
        ),
        "title": Str(min_length=1, doc="feed title"),
        "description": Str(doc="feed description"),
        "language": Str(pattern=LANGUAGE_PATTERN, doc="BCP 47", hint="a BCP 47 tag like en"),
        "home_url": Str(check="http_url", doc="the feed's alternate link"),
        "timezone": Str(check="timezone", doc="IANA name for dates without an offset"),
        "listing": Ref("listing"),
        "article": Ref("article"),
        "entry_id": AnyOf(
            (
                Str(enum=("url", "title_date")),
                Section(
                    {"regex": Str(check="regex_group", doc="group 1 matched against the URL")},
                    required=("regex",),
                ),
            ),
            doc="url (default) | title_date | {regex: PATTERN}",
        ),
        "max_entries": Num(integer=True, minimum=1, doc="entries shown in the feed"),
        "http": Ref("http"),
        "expect": Ref("expect"),
        "schedule": Ref("schedule"),
    },
    required=("id", "title", "listing"),
)

SETTINGS = Section(
    {
        "output_dir": Str(min_length=1, doc="where feed files are written"),
        "state_db": Str(min_length=1, doc="the SQLite store"),
        "base_url": Str(check="http_url", doc="public URL of the feed directory"),
        "user_agent": Str(doc="User-Agent sent to sites"),
        "contact_url": Str(check="http_url", doc="put in the default User-Agent"),
        "connect_timeout": Num(exclusive_minimum=0, doc="seconds"),
        "read_timeout": Num(exclusive_minimum=0, doc="seconds"),
        "max_body_bytes": Num(integer=True, minimum=1, doc="bodies are cut off beyond this"),
        "max_redirects": Num(integer=True, minimum=0),
        "retries": Num(integer=True, minimum=0),
        "refresh_budget_seconds": Num(exclusive_minimum=0),
        "future_skew_seconds": Num(minimum=0),
        "formats": Seq(Str(enum=FEED_FORMATS), min_items=1, unique=True),
    }
)

SOURCES = Seq(Ref("source"), doc="the sources")

TOP = Section(
    {
        "settings": SETTINGS,
        "include": Seq(Str(min_length=1), doc="globs of files holding sources, relative"),
        "sources": SOURCES,
    },
    doc="feedbridge configuration",
)

INCLUDED = Section({"sources": SOURCES}, doc="an included file holds only sources")

DEFS: dict[str, Spec] = {
    "selector": SELECTOR,
    "rule": RULE,
    "listing": LISTING,
    "article": ARTICLE,
    "http": HTTP,
    "expect": EXPECT,
    "schedule": SCHEDULE,
    "source": SOURCE,
}


def resolve(spec: Spec) -> Resolved:
    """Follow a :class:`Ref` to its definition."""
    while isinstance(spec, Ref):
        spec = DEFS[spec.name]
    return spec


# ---------------------------------------------------------------------------------------------
# JSON Schema
# ---------------------------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a main config file, from the tables above."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "feedbridge configuration",
    }
    schema.update(_to_schema(TOP))
    schema["$defs"] = {name: _to_schema(spec) for name, spec in DEFS.items()}
    return schema


def _to_schema(spec: Spec) -> dict[str, Any]:
    if isinstance(spec, Ref):
        return {"$ref": f"#/$defs/{spec.name}"}
    if isinstance(spec, Str):
        out = _str_schema(spec)
    elif isinstance(spec, Num):
        out = _num_schema(spec)
    elif isinstance(spec, Bool):
        out = {"type": "boolean"}
    elif isinstance(spec, Seq):
        out = {"type": "array", "items": _to_schema(spec.item)}
        if spec.min_items:
            out["minItems"] = spec.min_items
        if spec.unique:
            out["uniqueItems"] = True
    elif isinstance(spec, StrMap):
        out = {"type": "object", "additionalProperties": _to_schema(spec.value)}
    elif isinstance(spec, Section):
        out = _section_schema(spec)
    else:
        out = {"anyOf": [_to_schema(option) for option in spec.options]}
    if spec.doc:
        out = {"description": spec.doc, **out}
    return out


def _str_schema(spec: Str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if spec.enum:
        out["enum"] = list(spec.enum)
    if spec.pattern:
        out["pattern"] = spec.pattern
    if spec.min_length:
        out["minLength"] = spec.min_length
    if spec.check in ("regex", "regex_group"):
        out["format"] = "regex"
    if spec.check in ("http_url", "url_template"):
        out["pattern"] = HTTP_URL_PATTERN
    return out


def _num_schema(spec: Num) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "integer" if spec.integer else "number"}
    if spec.minimum is not None:
        out["minimum"] = spec.minimum
    if spec.exclusive_minimum is not None:
        out["exclusiveMinimum"] = spec.exclusive_minimum
    if spec.maximum is not None:
        out["maximum"] = spec.maximum
    return out


def _section_schema(spec: Section) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": {key: _to_schema(value) for key, value in spec.keys.items()},
        "additionalProperties": False,
    }
    if spec.required:
        out["required"] = list(spec.required)
    rules: list[dict[str, Any]] = []
    for group in spec.exactly_one_of:
        rules.append({"oneOf": [{"required": [key]} for key in group]})
    for group in spec.at_most_one_of:
        rules.extend({"not": {"required": list(pair)}} for pair in combinations(group, 2))
    for when in spec.when:
        rules.append(_when_schema(when))
    if rules:
        out["allOf"] = rules
    return out


def _when_schema(when: When) -> dict[str, Any]:
    condition: dict[str, Any] = {"required": [when.key]}
    if when.equals is not None:
        condition["properties"] = {when.key: {"const": when.equals}}
    out: dict[str, Any] = {"if": condition}
    then = _branch(when.then_required, when.then_forbidden, when.then_const)
    if then:
        out["then"] = then
    otherwise = _branch(when.else_required, when.else_forbidden, ())
    if otherwise:
        out["else"] = otherwise
    return out


def _branch(
    required: tuple[tuple[str, ...], ...],
    forbidden: tuple[str, ...],
    const: tuple[tuple[str, str], ...],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    props: dict[str, Any] = {key: False for key in forbidden}
    props.update({key: {"const": value} for key, value in const})
    for path in required:
        _require_path(out, path)
    if props:
        out.setdefault("properties", {}).update(props)
    return out


def _require_path(out: dict[str, Any], path: tuple[str, ...]) -> None:
    """Add ``required`` for a key path, nesting through ``properties`` for deeper keys."""
    head, rest = path[0], path[1:]
    required: list[str] = out.setdefault("required", [])
    if head not in required:
        required.append(head)
    if rest:
        inner = out.setdefault("properties", {}).setdefault(head, {})
        _require_path(inner, rest)


def main() -> None:
    print(json.dumps(json_schema(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
