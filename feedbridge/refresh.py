"""One refresh of one source: wires fetch → listing → extract → normalize → store → publish and
owns the error policy.

Policy:
- A listing that is blocked (403, login wall, bot check) or breaks the source's expectations
  (layout drift) aborts the run before anything is stored: stored entries and published feeds
  stay as they were, the source is marked degraded with the precise reason.
- An article that cannot be fetched for a transient reason is skipped this run (counted, logged)
  and the listing's HTTP validators are not saved, so the next run sees the item again; a
  paginated listing is then marked to be paged as far as on a first run (the skipped item
  may sit on page 2, behind a page 1 that brings nothing new).
- An article that is gone (404/410), refused for good (over ``max_body_bytes``, or its URL or
  a redirect leads to a host or address the source may not reach) or whose body selector
  finds nothing falls back to the listing's summary, and the entry is marked so
  (``method = "listing"``): retrying would fail the same way every run and keep the listing
  from ever answering 304.
- Files are rewritten only when an entry was added or changed (or a file is missing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from feedbridge import listing as listing_mod
from feedbridge.errors import (
    BlockedError,
    DriftError,
    ExtractError,
    FeedbridgeError,
    FetchError,
    PublishError,
    ResponseTooLarge,
    RobotsDisallowed,
    StoreError,
    UnsafeURLError,
)
from feedbridge.extract import extract_article, strip_fragment, without_removed
from feedbridge.model import (
    Article,
    Entry,
    ListingItem,
    Page,
    RefreshResult,
    Settings,
    Source,
    SourceState,
    Validators,
)
from feedbridge.normalize import (
    ParsedDate,
    Precision,
    best_date,
    canonical_url,
    clean_text,
    content_hash,
    entry_key,
    html_to_text,
    publication_instant,
    sanitize_html,
    summarize,
)
from feedbridge.publish import feed_meta, publish
from feedbridge.store import SQLiteStore

log = logging.getLogger(__name__)

GONE_STATUSES = (404, 410)
#: article fetch failures that would repeat on every run (see the policy above)
PERMANENT = (ResponseTooLarge, UnsafeURLError)
NOTICE_KINDS = ("blocked", "drift")  # failures that get a notice entry (expect.notice_entry)


class Session(Protocol):
    requests_sent: int

    def get(
        self, url: str, *, validators: Validators | None = None, referer: str | None = None
    ) -> Page: ...
    def post(self, url: str, data: dict[str, str], *, referer: str | None = None) -> Page: ...
    def close(self) -> None: ...


class Client(Protocol):
    def session(self, source: Source) -> Session: ...


@dataclass
class _Run:
    """Mutable bookkeeping of one run (never leaves this module)."""

    source: Source
    settings: Settings
    store: SQLiteStore
    session: Session
    now: datetime
    first_run: bool
    reextract: bool = False  # refetch and re-extract every listed article (after a config fix)
    errors: int = 0
    validators: dict[str, Validators] = field(default_factory=dict)
    hold_validators: set[str] = field(default_factory=set)
    # page URL (final, after redirects; page 2, 3 … too) → the configured listing URL whose
    # validators an item found on that page must hold back
    roots: dict[str, str] = field(default_factory=dict)
    stale_feed: bool = False
    entry_count: int = 0  # entries in the store, kept up to date by the run
    notices_possible: bool = True


def refresh_source(
    source: Source,
    settings: Settings,
    client: Client,
    store: SQLiteStore,
    now: datetime | None = None,
    *,
    generic: Callable[[str, str], str | None] | None = None,
    reextract: bool = False,
) -> RefreshResult:
    """Refresh one source. Never raises for site problems: the outcome is in the result and in
    the stored SourceState. ``reextract`` fetches the listing and every article on it in full
    and updates the entries whose extraction changed (after fixing a selector)."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    if generic is None and (source.article is None or source.article.body is None):
        generic = _generic_extractor(source)
    state, stored = store.state_and_count(source.id)
    session = client.session(source)
    run = _Run(source, settings, store, session, now, first_run=stored == 0, reextract=reextract)
    # a notice entry exists only after a failed run: an "ok" state has none to look for
    run.notices_possible = state.status != "ok"
    # entries saved by a run that died before publishing: publish them now
    run.stale_feed = stored != state.entry_count
    run.entry_count = stored
    try:
        try:
            result = _refresh(run, generic)
        except FeedbridgeError:
            raise
        except Exception as bug:  # a bug must cost one source one run, never the whole process
            log.exception("%s: internal error", source.id)
            raise FeedbridgeError(f"internal error: {bug!r} (please report it)") from bug
    except FeedbridgeError as e:
        kind = _error_kind(e)
        log.error("%s: %s: %s", source.id, kind, e)
        _save_failure(store, state, now, e, kind)
        _maybe_notice(run, e, kind)
        return RefreshResult(
            source.id,
            errors=run.errors + 1,
            seconds=time.monotonic() - started,
            ok=False,
            reason=str(e),
            error_kind=kind,
            requests=session.requests_sent,
        )
    finally:
        session.close()
    store.save_state(
        replace(
            state,
            last_attempt=now,
            last_success=now,
            consecutive_failures=0,
            last_error=None,
            status="ok",
            retry_after=None,
            entry_count=run.entry_count,
        )
    )
    return replace(result, seconds=time.monotonic() - started, requests=session.requests_sent)


def _refresh(run: _Run, generic: Callable[[str, str], str | None] | None) -> RefreshResult:
    source = run.source
    items = _collect_items(run)
    keyed = _dedupe(source, items)
    known = run.store.known(source.id, keyed.keys())
    fresh = [(k, i) for k, i in keyed.items() if k not in known]
    log.info("%s: %d items listed, %d new", source.id, len(keyed), len(fresh))
    entries = _build_entries(run, fresh, generic)
    entries += _recheck_entries(run, keyed, known, generic)
    counts = run.store.save_entries(entries, run.now)
    run.store.touch(source.id, [k for k in keyed if k in known], run.now)
    # a recovered source drops its notice entry, and the feed must drop it too
    notices = (
        list(run.store.known(source.id, [f"notice:{k}" for k in NOTICE_KINDS]))
        if run.notices_possible
        else []
    )
    removed = run.store.delete(source.id, notices) if notices else 0
    run.entry_count += counts.new - removed
    changed = counts.new + counts.updated + removed > 0 or run.stale_feed
    published = _publish(run, changed=changed)
    # validators last: if publishing failed, the next run sees the listing again in full
    saved = {_vkey(run, u): v for u, v in run.validators.items() if u not in run.hold_validators}
    for url in set(run.roots.values()):  # set or clear the "page it in full" mark
        saved[_resume_key(run, url)] = Validators(etag="1" if url in run.hold_validators else None)
    run.store.save_validators(saved)
    return RefreshResult(
        source.id,
        new=counts.new,
        updated=counts.updated,
        unchanged=counts.unchanged + (len(keyed) - len(fresh)),
        errors=run.errors,
        published=published,
    )


# ---------------------------------------------------------------------------------------------
# Listings
# ---------------------------------------------------------------------------------------------


def _collect_items(run: _Run) -> list[ListingItem]:
    items: list[ListingItem] = []
    for url in run.source.listing.urls:
        items.extend(_collect_from(run, url))
    return items


def _collect_from(run: _Run, url: str) -> list[ListingItem]:
    """Items of one listing URL and, when paginated, its further pages."""
    spec = run.source.listing
    known = run.store.validators_of([_vkey(run, url), _resume_key(run, url)])  # one query
    resume = known.get(_resume_key(run, url), Validators()).etag is not None
    # a source with nothing stored (new, renamed) asks for the full page, never a 304
    conditional = not (resume or run.first_run or run.reextract)
    page = run.session.get(
        url, validators=known.get(_vkey(run, url), Validators()) if conditional else None
    )
    if page.not_modified:
        log.info("%s: %s not modified", run.source.id, url)
        return []
    run.validators[url] = page.validators
    run.roots[page.url] = url
    result = _parse_listing(run, page)
    items = list(result.items)
    pag = spec.pagination
    if pag is None or pag.max_pages <= 1:
        return items
    template_urls = listing_mod.template_urls(pag)
    for n in range(2, pag.max_pages + 1):
        if not run.first_run and not resume and not _has_new(run, result.items):
            break
        try:
            nxt = _next_page(run, result, page, template_urls, n)
        except BlockedError:
            raise
        except FetchError as e:
            if e.status in GONE_STATUSES:  # past the last page: the end, not a failure
                log.info("%s: %s: page %d is %s, paging ends", run.source.id, url, n, e.status)
                break
            # page 1 was good: keep its items, retry the rest next run
            log.warning(
                "%s: %s: page %d not fetched, paging stops here: %s", run.source.id, url, n, e
            )
            run.errors += 1
            run.hold_validators.add(url)
            break
        if nxt is None:
            break
        page = nxt
        run.roots[page.url] = url
        result = _parse_listing(run, page, required=False)
        if not result.items:
            break
        items.extend(result.items)
        if len(items) >= spec.max_items:  # max_items counts the whole listing, pages included
            break
    return items[: spec.max_items]


def _vkey(run: _Run, url: str) -> str:
    """Where a URL's HTTP validators are kept for this source. Per source: two sources on
    one listing URL must not answer each other's conditional requests (the second would get
    a 304 for items it never stored). The fragment is never sent, so it cannot clash."""
    return f"{url}#feedbridge:{run.source.id}"


def _resume_key(run: _Run, url: str) -> str:
    """Where the mark "page this listing in full next run" is kept, as a validators row."""
    return f"{url}#feedbridge-resume:{run.source.id}"


def _next_page(
    run: _Run, result: listing_mod.ListingResult, page: Page, template_urls: list[str], n: int
) -> Page | None:
    pag = run.source.listing.pagination
    assert pag is not None
    if pag.kind == "form_post":
        if result.form is None:
            return None
        data = dict(result.form.fields)
        data[pag.page_field] = str(n)
        return run.session.post(result.form.action, data, referer=page.url)
    if pag.kind == "template":
        return run.session.get(template_urls[n - 2]) if n - 2 < len(template_urls) else None
    return run.session.get(result.next_url, referer=page.url) if result.next_url else None


def _has_new(run: _Run, items: Sequence[ListingItem]) -> bool:
    keys = list(_dedupe(run.source, items).keys())
    return len(run.store.known(run.source.id, keys)) < len(keys)


def _parse_listing(run: _Run, page: Page, required: bool = True) -> listing_mod.ListingResult:
    source = run.source
    if source.listing.kind == "feed":
        from feedbridge.feeds import parse_feed_listing

        result = parse_feed_listing(
            page.content, page.url, source.listing, source.timezone, run.now
        )
    else:
        result = listing_mod.parse_listing(
            page.text, page.url, source.listing, source.timezone, run.now
        )
    if required:
        check_listing(source, result)
    for bad in result.unparsed_dates[:3]:
        log.warning(
            "%s: %s: date %r did not parse with the configured formats", source.id, page.url, bad
        )
    return result


def check_listing(source: Source, result: listing_mod.ListingResult) -> None:
    """Layout-drift alarm on one listing page: raises DriftError naming what broke."""
    exp = source.expect
    spec = source.listing
    items_expr = spec.items.expr if spec.items else "(none)"
    if result.matched < exp.min_items:
        raise DriftError(
            result.url,
            f"item selector {items_expr!r} matched {result.matched} elements "
            f"(expected at least {exp.min_items})",
        )
    n = max(result.matched, 1)
    for name, share in exp.field_coverage.items():
        if name not in spec.fields and name not in ("title", "link"):
            continue
        got = result.coverage.get(name, 0)
        if name in spec.fields and got / n < share:
            rule = spec.fields[name]
            expr = rule.selector.expr if rule.selector else "(item)"
            raise DriftError(
                result.url,
                f"field {name!r} (selector {expr!r}) found in {got} of {result.matched} items "
                f"(expected at least {share:.0%})",
            )


def _dedupe(source: Source, items: Sequence[ListingItem]) -> dict[str, ListingItem]:
    """Items by entry key; the first sighting wins, categories of later ones are merged."""
    out: dict[str, ListingItem] = {}
    for item in items:
        k = _key(source, item.url, item.title or "", item.published)
        if k in out:
            prev = out[k]
            merged = tuple(dict.fromkeys(prev.categories + item.categories))
            out[k] = replace(prev, categories=merged)
        else:
            out[k] = item
    return out


def _key(source: Source, url: str, title: str, published: datetime | None) -> str:
    day = published.date() if published else None
    return entry_key(source.entry_id, url, title, day, source.entry_id_regex)


# ---------------------------------------------------------------------------------------------
# Articles
# ---------------------------------------------------------------------------------------------


def _build_entries(
    run: _Run,
    fresh: list[tuple[str, ListingItem]],
    generic: Callable[[str, str], str | None] | None,
) -> list[Entry]:
    articles = _fetch_articles(run, [i for _, i in fresh], generic, recheck=False)
    entries = []
    for position, ((key, item), article) in enumerate(zip(fresh, articles, strict=True)):
        if article is None:
            run.hold_validators.add(run.roots.get(item.listing_url, item.listing_url))
            continue
        entries.append(make_entry(run.source, run.settings, key, item, article, run.now, position))
    return entries


def _recheck_entries(
    run: _Run,
    keyed: dict[str, ListingItem],
    known: dict[str, Entry],
    generic: Callable[[str, str], str | None] | None,
) -> list[Entry]:
    """Refetch (conditionally) the articles younger than ``article.refetch_days`` to catch
    edits; an edited one comes back with ``updated`` = now (``published`` is kept by the store)."""
    spec = run.source.article
    if not run.reextract and (spec is None or spec.refetch_days <= 0):
        return []
    days = float("inf") if run.reextract else (spec.refetch_days if spec else 0.0)
    horizon = run.now.timestamp() - days * 86400
    young = [
        (k, i)
        for k, i in keyed.items()
        if k in known
        and not known[k].is_notice
        and (known[k].first_seen or run.now).timestamp() >= horizon
    ]
    articles = _fetch_articles(run, [i for _, i in young], generic, recheck=not run.reextract)
    entries = []
    for (key, item), article in zip(young, articles, strict=True):
        if article is None or article.method == "listing":
            continue
        entry = make_entry(run.source, run.settings, key, item, article, run.now)
        if entry.content_hash != known[key].content_hash:
            log.info("%s: %s: article changed", run.source.id, item.url)
            entries.append(replace(entry, updated=run.now))
    return entries


def _fetch_articles(
    run: _Run,
    items: list[ListingItem],
    generic: Callable[[str, str], str | None] | None,
    recheck: bool,
) -> list[Article | None]:
    if not items:
        return []
    workers = max(1, min(run.source.http.max_concurrency, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"fb-{run.source.id}") as pool:
        return list(pool.map(lambda i: _article_for(run, i, generic, recheck), items))


def _article_for(
    run: _Run,
    item: ListingItem,
    generic: Callable[[str, str], str | None] | None,
    recheck: bool = False,
) -> Article | None:
    """The article of an item; None when it must be retried next run (or, on a recheck,
    when it has not changed)."""
    source = run.source
    spec = source.article
    if spec is None and generic is None:
        return _from_listing(item)
    try:
        validators = run.store.validators(_vkey(run, item.url)) if recheck else None
        page = run.session.get(item.url, validators=validators, referer=item.listing_url)
    except RobotsDisallowed as e:
        # the site asks us not to fetch this one page: publish what its listing says
        log.warning("%s: %s: %s; using the listing summary", source.id, item.url, e.reason)
        run.errors += 1
        return _from_listing(item)
    except BlockedError:
        raise
    except FetchError as e:
        if e.status in GONE_STATUSES or isinstance(e, PERMANENT):
            what = f"gone ({e.status})" if e.status in GONE_STATUSES else f"unusable ({e.reason})"
            log.warning("%s: %s: article %s; using the listing summary", source.id, item.url, what)
            run.errors += 1
            return _from_listing(item)
        log.warning(
            "%s: %s: article not fetched, will retry next run: %s", source.id, item.url, e.reason
        )
        run.errors += 1
        return None
    if page.not_modified:
        return None
    if page.validators.etag or page.validators.last_modified:
        run.validators[item.url] = page.validators
    if spec is not None and spec.body is not None:
        try:
            article = extract_article(page.text, page.url, spec, source.timezone, run.now)
        except ExtractError as e:
            log.warning("%s: %s: %s; using the listing summary", source.id, item.url, e.reason)
            run.errors += 1
            return _from_listing(item)
        _check_body(run, article)
        return article
    base = (
        extract_article(page.text, page.url, spec, source.timezone, run.now)
        if spec is not None
        else Article(url=page.url)
    )
    text = generic(without_removed(page.text, page.url, spec), page.url) if generic else None
    if text:
        log.info("%s: %s: body from the generic extractor", source.id, item.url)
        body = strip_fragment(text, spec.strip if spec else ())
        return replace(base, content_html=sanitize_html(body), method="generic")
    log.info(
        "%s: %s: no body rule and no generic extractor; using the listing summary",
        source.id,
        item.url,
    )
    return replace(
        _from_listing(item),
        title=base.title,
        published=base.published,
        date_precision=base.date_precision,
    )


def _generic_extractor(source: Source) -> Callable[[str, str], str | None] | None:
    """The optional full-text fallback (``pip install feedbridge[fulltext]``), or None."""
    try:
        from feedbridge.generic import load_extractor
    except ImportError:
        return None
    return load_extractor(source.id)


def _check_body(run: _Run, article: Article) -> None:
    minimum = run.source.expect.min_body_chars
    if minimum and len(html_to_text(article.content_html or "")) < minimum:
        spec = run.source.article
        rule = spec.body if spec else None
        expr = rule.selector.expr if rule and rule.selector else "(none)"
        raise DriftError(
            article.url,
            f"article body has fewer than {minimum} characters (body selector {expr!r})",
        )


def _from_listing(item: ListingItem) -> Article:
    return Article(url=item.url, content_html=None, method="listing")


def make_entry(
    source: Source,
    settings: Settings,
    key: str,
    item: ListingItem,
    article: Article,
    now: datetime,
    position: int = 0,
) -> Entry:
    """Merge what the listing and the article page say into a normalized Entry (pure)."""
    title = clean_text(article.title or item.title or "") or "(untitled)"
    date = best_date(
        _pd(article.published, article.date_precision), _pd(item.published, item.date_precision)
    )
    published = publication_instant(
        date, now, source.timezone, position, settings.future_skew_seconds
    )
    content = article.content_html or sanitize_html(item.summary_html or "")
    summary = summarize(item.summary_html or content)
    url = canonical_url(article.url or item.url)
    return Entry(
        source_id=source.id,
        key=key,
        entry_id=url,
        url=url,
        title=title,
        published=published,
        updated=published,
        content_html=content,
        summary=summary,
        author=article.author or item.author,
        categories=tuple(dict.fromkeys(item.categories + article.categories)),
        image=article.image or item.image,
        content_hash=content_hash(title, content, summary),
        method=article.method,
    )


def _pd(value: datetime | None, precision: int) -> ParsedDate | None:
    if value is None:
        return None
    return ParsedDate(value, Precision(precision) if precision else Precision.DAY)


# ---------------------------------------------------------------------------------------------
# Publishing and state
# ---------------------------------------------------------------------------------------------


def _publish(run: _Run, changed: bool) -> bool:
    settings = run.settings
    source = run.source
    paths = [settings.output_dir / f"{source.id}.{fmt}" for fmt in settings.formats]
    if not changed and all(p.exists() for p in paths):
        return False
    entries = run.store.entries(source.id, source.max_entries)
    written = publish(feed_meta(source, settings), entries, settings.output_dir, settings.formats)
    return bool(written)


def _error_kind(e: FeedbridgeError) -> str:
    if isinstance(e, BlockedError):
        return "blocked"
    if isinstance(e, DriftError):
        return "drift"
    if isinstance(e, FetchError):
        return "fetch"
    if isinstance(e, ExtractError):
        return "extract"
    if isinstance(e, StoreError):
        return "store"
    if isinstance(e, PublishError):
        return "publish"
    return "internal"


def _save_failure(
    store: SQLiteStore, state: SourceState, now: datetime, e: FeedbridgeError, kind: str
) -> None:
    retry_after = None
    if isinstance(e, FetchError) and e.retry_after:
        retry_after = now + timedelta(seconds=e.retry_after)
    store.save_state(
        replace(
            state,
            last_attempt=now,
            consecutive_failures=state.consecutive_failures + 1,
            last_error=f"{kind}: {e}",
            status="degraded" if kind in ("blocked", "drift") else "failing",
            retry_after=retry_after,
            # not recounted: entries stored by a run that then failed to publish must make
            # the next run publish (it compares this count with the store's)
            entry_count=state.entry_count,
        )
    )


def _maybe_notice(run: _Run, e: FeedbridgeError, kind: str) -> None:
    """With ``expect.notice_entry``, one clearly marked entry tells feed readers what broke."""
    if not run.source.expect.notice_entry or kind not in NOTICE_KINDS:
        return
    source = run.source
    what = "blocked" if kind == "blocked" else "layout changed"
    title = f"[feedbridge] {source.title}: source {what}"
    body = (
        f"<p>feedbridge could not refresh this source: {clean_text(str(e))}</p>"
        "<p>Entries already published are kept.</p>"
    )
    key = f"notice:{kind}"
    entry = Entry(
        source_id=source.id,
        key=key,
        entry_id=f"{feed_meta(source, run.settings).feed_id}#notice-{kind}-{run.now:%Y%m%d}",
        url=source.home_url or source.listing.urls[0],
        title=title,
        published=run.now,
        updated=run.now,
        content_html=sanitize_html(body),
        summary=clean_text(str(e)),
        content_hash=content_hash(title, body, ""),
        method="notice",
        is_notice=True,
    )
    try:
        existing = run.store.known(source.id, [key])
        if key not in existing:
            run.store.save_entries([entry], run.now)
            _publish(run, changed=True)
    except FeedbridgeError as err:  # the notice is best effort; the failure is already recorded
        log.error("%s: could not publish the notice entry: %s", source.id, err)
