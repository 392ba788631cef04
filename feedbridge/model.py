"""Frozen value types that cross the pipeline stages.

Config side (built once by ``config.py``, read by everyone):
    Settings, Source (ListingSpec, ArticleSpec, Rule, Pagination, HttpPolicy, Expectations,
    Schedule), Config.

Data side (fetch → listing → extract → normalize → store → publish):
    Page            a fetched, decoded HTTP body             (fetch)
    ListingItem     one item found on a listing page          (listing)
    Article         what an article page yields                (extract)
    Entry           a normalized entry as stored and published (normalize/store)
    SourceState     per-source bookkeeping kept in the store   (store)

No lxml, requests or feedparser objects appear here: those never leave the module that made
them. All datetimes are timezone-aware; stored and published ones are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------

#: The fields a listing item can have (``listing.fields`` keys).
LISTING_FIELDS = ("title", "link", "date", "summary", "author", "categories", "image")

#: ``RefreshResult.error_kind`` values: why a run failed.
ERROR_KINDS = ("fetch", "blocked", "drift", "extract", "store", "publish", "internal")

SelectorKind = Literal["css", "xpath"]
Take = Literal["text", "html", "inner_html", "attribute"]


@dataclass(frozen=True)
class Selector:
    """A CSS selector or an XPath expression, as written in the config."""

    kind: SelectorKind
    expr: str


@dataclass(frozen=True)
class Rule:
    """How one field is taken out of a page.

    ``selector`` finds the element(s) (relative to the item element on listings, to the
    document on article pages); ``None`` means the context element itself. ``take`` says
    what of the element to keep: its text (spaces around inline elements kept, whitespace
    collapsed), its outer HTML, its inner HTML, or one attribute. ``regex`` then keeps only
    the match (group 1 if the pattern has a group). ``formats`` are ``strptime`` formats tried
    in order for date fields (empty: ISO 8601 and RFC 822 are tried). ``timezone`` overrides
    the source's timezone for this field.
    """

    selector: Selector | None
    take: Take = "text"
    attribute: str | None = None
    regex: str | None = None
    formats: tuple[str, ...] = ()
    timezone: str | None = None


@dataclass(frozen=True)
class Pagination:
    """How to reach listing pages after the first.

    kind:
      ``rel_next``   follow ``<link rel=next>`` / ``<a rel=next>``
      ``selector``   follow the href of ``next_selector``
      ``template``   ``url_template`` with ``{page}`` (from ``start``, step ``step``) or
                     ``{offset}``
      ``form_post``  POST the form ``form_selector`` (its hidden inputs and the session
                     cookie) with ``page_field`` set to the page number
    """

    kind: Literal["rel_next", "selector", "template", "form_post"]
    max_pages: int = 1
    next_selector: Selector | None = None
    url_template: str | None = None
    start: int = 2
    step: int = 1
    form_selector: Selector | None = None
    page_field: str = "page_num"


@dataclass(frozen=True)
class ListingSpec:
    """Where the items of a source are listed and how to read them.

    ``kind`` is ``html`` (items found with ``items`` and ``fields``) or ``feed`` (the listing
    URL is an RSS/Atom/JSON feed). ``fields`` keys: title, link, date, summary, author,
    categories, image; ``link`` is required for ``html``.
    """

    urls: tuple[str, ...]
    kind: Literal["html", "feed"] = "html"
    items: Selector | None = None
    fields: dict[str, Rule] = field(default_factory=dict)
    pagination: Pagination | None = None
    max_items: int = 200


@dataclass(frozen=True)
class ArticleSpec:
    """How an article page is read. Missing ``body`` means: generic extraction (if installed)
    or the listing summary. ``remove`` elements are dropped before anything is taken;
    ``strip`` regexes are cut out of the body text (e.g. the ``-0-`` end marker)."""

    title: Rule | None = None
    date: Rule | None = None
    body: Rule | None = None
    author: Rule | None = None
    categories: Rule | None = None
    image: Rule | None = None
    remove: tuple[Selector, ...] = ()
    strip: tuple[str, ...] = ()
    refetch_days: float = 0.0


@dataclass(frozen=True)
class HttpPolicy:
    """Per-source politeness and access settings (defaults come from Settings)."""

    min_delay: float = 1.0
    max_concurrency: int = 2
    respect_robots: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    proxy: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allow_private: bool = False
    verify: bool | str = True


@dataclass(frozen=True)
class Expectations:
    """Layout-drift alarms: a run that breaks these changes nothing and marks the source."""

    min_items: int = 1
    field_coverage: dict[str, float] = field(default_factory=lambda: {"title": 0.8, "link": 1.0})
    min_body_chars: int = 0
    notice_entry: bool = False


@dataclass(frozen=True)
class Schedule:
    interval_minutes: float = 60.0
    cron: str | None = None
    jitter_seconds: float = 60.0
    stale_after_minutes: float | None = None  # default: 3 × interval


EntryIdKind = Literal["url", "url_regex", "title_date"]


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    listing: ListingSpec
    description: str = ""
    language: str | None = None
    home_url: str | None = None
    timezone: str = "UTC"
    article: ArticleSpec | None = None
    entry_id: EntryIdKind = "url"
    entry_id_regex: str | None = None
    max_entries: int = 50
    http: HttpPolicy = field(default_factory=HttpPolicy)
    expect: Expectations = field(default_factory=Expectations)
    schedule: Schedule = field(default_factory=Schedule)
    origin: str = ""  # "file:line" where the source is defined, for messages


@dataclass(frozen=True)
class Settings:
    output_dir: Path = Path("feeds")
    state_db: Path = Path("state/feedbridge.sqlite")
    base_url: str = "http://localhost:8080/feeds/"
    user_agent: str = ""  # empty: "feedbridge/<version> (+<contact_url>)"
    contact_url: str = "https://github.com/feedbridge/feedbridge"
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_body_bytes: int = 10_000_000
    max_redirects: int = 5
    retries: int = 3
    refresh_budget_seconds: float = 600.0
    future_skew_seconds: float = 600.0
    formats: tuple[str, ...] = ("atom", "rss", "json")


@dataclass(frozen=True)
class Config:
    settings: Settings
    sources: tuple[Source, ...]
    path: Path | None = None

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators remembered per URL for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Page:
    """A fetched body. ``text`` is decoded (HTTP charset → <meta charset> → detection);
    ``not_modified`` is True for a 304 answer (then ``content``/``text`` are empty)."""

    url: str  # final URL after redirects
    status: int
    content: bytes
    text: str
    content_type: str
    validators: Validators = Validators()
    not_modified: bool = False
    encoding: str | None = None


@dataclass(frozen=True)
class ListingItem:
    url: str  # absolute
    listing_url: str
    title: str | None = None
    published: datetime | None = None
    summary_html: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None
    guid: str | None = None  # from feed listings
    date_precision: int = 0  # normalize.Precision: 1 inferred year, 2 day, 3 time


@dataclass(frozen=True)
class Article:
    url: str
    title: str | None = None
    published: datetime | None = None
    content_html: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None
    method: Literal["selectors", "generic", "listing"] = "selectors"
    date_precision: int = 0


@dataclass(frozen=True)
class Entry:
    """One entry of a source, as stored and published. ``key`` dedupes within a source;
    ``entry_id`` is the permanent Atom id / RSS guid (set at first sight, never changed)."""

    source_id: str
    key: str
    entry_id: str
    url: str
    title: str
    published: datetime
    updated: datetime
    content_html: str = ""
    summary: str = ""
    author: str | None = None
    categories: tuple[str, ...] = ()
    image: str | None = None
    content_hash: str = ""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    method: str = "selectors"
    is_notice: bool = False


@dataclass(frozen=True)
class SourceState:
    source_id: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    status: Literal["ok", "degraded", "failing", "new"] = "new"
    retry_after: datetime | None = None
    entry_count: int = 0


@dataclass(frozen=True)
class RefreshResult:
    source_id: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    seconds: float = 0.0
    ok: bool = True
    published: bool = False
    reason: str | None = None
    error_kind: str | None = None  # one of ERROR_KINDS
    requests: int = 0
