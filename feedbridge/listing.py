"""Pure: a listing page (text + URL + ListingSpec) → ListingItems, field coverage, next pages.

Also reads the pagination hints of a page: ``rel=next`` links, a next-link selector and the
hidden inputs of a form to POST for the next page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from lxml import html

from feedbridge import rules
from feedbridge.model import ListingItem, ListingSpec, Pagination
from feedbridge.normalize import ParsedDate, canonical_url, clean_text, parse_date


@dataclass(frozen=True)
class FormRequest:
    """A form to POST for the next page: absolute action URL and its fields."""

    action: str
    fields: dict[str, str]


@dataclass(frozen=True)
class ListingResult:
    url: str
    items: tuple[ListingItem, ...]
    matched: int  # elements the item selector matched (before items without a link were dropped)
    coverage: dict[str, int] = field(default_factory=dict)  # field → items where it was found
    unparsed_dates: tuple[str, ...] = ()  # date texts found that did not parse
    next_url: str | None = None
    form: FormRequest | None = None


def parse_listing(text: str, url: str, spec: ListingSpec, tz: str, now: datetime) -> ListingResult:
    """Items of one listing page, in page order, duplicates (same canonical URL) dropped."""
    doc = rules.parse_document(text, url)
    elements = rules.select(spec.items, doc) if spec.items is not None else []
    rows = [_item(el, url, spec, tz, now) for el in elements[: spec.max_items]]
    items, coverage = gather((item, found) for item, found, _ in rows)
    unparsed = [bad for _, _, bad in rows if bad]
    return ListingResult(
        url=url,
        items=items,
        matched=len(elements),
        coverage=coverage,
        unparsed_dates=tuple(unparsed),
        next_url=_next_url(doc, url, spec.pagination),
        form=_form(doc, url, spec.pagination),
    )


def gather(
    rows: Iterable[tuple[ListingItem | None, Iterable[str]]],
) -> tuple[tuple[ListingItem, ...], dict[str, int]]:
    """Items in page order without repeats (same canonical URL), and how many rows had each
    field. Shared by HTML and feed listings."""
    items: list[ListingItem] = []
    seen: set[str] = set()
    coverage: Counter[str] = Counter()
    for item, found in rows:
        coverage.update(found)
        if item is None:
            continue
        key = canonical_url(item.url)
        if key not in seen:
            seen.add(key)
            items.append(item)
    return tuple(items), dict(coverage)


def _item(
    el: html.HtmlElement, base: str, spec: ListingSpec, tz: str, now: datetime
) -> tuple[ListingItem | None, list[str], str | None]:
    f = spec.fields
    got: dict[str, str | None] = {}
    for name in ("title", "link", "date", "summary", "author", "image"):
        got[name] = rules.first_value(f.get(name), el, name, base)
    cats = rules.values(f["categories"], el, "categories", base) if "categories" in f else []
    parsed: ParsedDate | None = None
    bad_date: str | None = None
    if got["date"]:
        rule = f["date"]
        parsed = parse_date(got["date"], rule.formats, rule.timezone or tz, now)
        if parsed is None:
            bad_date = got["date"]
    # a date counts as found only when it parsed: expectations then catch a format change
    found = [k for k, v in got.items() if v and not (k == "date" and parsed is None)]
    found += ["categories"] if cats else []
    link = got["link"]
    if not link or urlsplit(link).scheme not in ("http", "https"):
        return None, found, bad_date
    item = ListingItem(
        url=link,
        listing_url=base,
        title=clean_text(got["title"]) or None,
        published=parsed.value if parsed else None,
        summary_html=got["summary"],
        author=clean_text(got["author"]) or None,
        categories=tuple(dict.fromkeys(clean_text(c) for c in cats if clean_text(c))),
        image=got["image"],
        date_precision=int(parsed.precision) if parsed else 0,
    )
    return item, found, bad_date


def _next_url(doc: html.HtmlElement, base: str, pag: Pagination | None) -> str | None:
    if pag is None:
        return None
    if pag.kind == "rel_next":
        for el in doc.xpath("//link[@rel='next'][@href] | //a[@rel='next'][@href]"):
            return rules.absolute(base, str(el.get("href")))
        return None
    if pag.kind == "selector" and pag.next_selector is not None:
        for el in rules.select(pag.next_selector, doc):
            href = rules.first_link(el)
            if href:
                return rules.absolute(base, href)
    return None


def _form(doc: html.HtmlElement, base: str, pag: Pagination | None) -> FormRequest | None:
    if pag is None or pag.kind != "form_post" or pag.form_selector is None:
        return None
    forms = rules.select(pag.form_selector, doc)
    if not forms:
        return None
    form = forms[0]
    fields: dict[str, str] = {}
    for inp in form.iter("input", "select", "textarea"):
        name = inp.get("name")
        if not name or inp.get("type", "").lower() in ("submit", "button", "image", "file"):
            continue
        if inp.tag == "select":
            opt = next((o for o in inp.iter("option") if o.get("selected") is not None), None)
            fields[name] = opt.get("value", opt.text or "") if opt is not None else ""
        else:
            fields[name] = inp.get("value", "") if inp.tag == "input" else (inp.text or "")
    action = rules.absolute(base, form.get("action") or base)
    return FormRequest(action=action, fields=fields) if action else None


def template_urls(pag: Pagination) -> list[str]:
    """Page URLs 2..max_pages of a ``template`` pagination, in order."""
    if pag.kind != "template" or not pag.url_template:
        return []
    urls = []
    for n in range(pag.max_pages - 1):
        page = pag.start + n * pag.step
        urls.append(pag.url_template.replace("{page}", str(page)).replace("{offset}", str(page)))
    return urls
