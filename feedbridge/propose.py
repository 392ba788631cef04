"""Pure: propose candidate item selectors for a listing page nobody has configured yet.

``feedbridge preview URL`` without ``--items`` calls :func:`propose`. A listing shows its
items as repeated structures, and each item has a link to its article, so:

1. group the page's ``<a href>`` elements (with text) by their *signature*: the chain of tag
   names and classes from the document root down to the link;
2. in each group, walk up from the links while every link still has its own ancestor: the
   highest such ancestor is the *item* (``div.article``, ``li``, ``article.teaser``);
3. build a CSS selector for the items (tag and shared classes, qualified by ancestors until it
   matches exactly the group's items) and sub-selectors for title, link, date and summary;
4. score: repetition (distinct hrefs), title-like link text, same-host links, a date in most
   items; penalize groups inside navigation, headers, footers and menus.

The result is a ranked list of :class:`Proposal` values with a sample of what each extracts;
preview shows them with a config snippet to start from. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import mean
from urllib.parse import urljoin, urlsplit

from lxml import html

from feedbridge import rules
from feedbridge.model import ListingSpec, Rule, Selector
from feedbridge.selectors import compile_selector

#: Date patterns seen on listings, with the strptime format that reads the match.
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MON = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
DATE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),
    (r"\d{4}\.\d{1,2}\.\d{1,2}", "%Y.%m.%d"),
    (r"\d{4}/\d{1,2}/\d{1,2}", "%Y/%m/%d"),
    (r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y"),
    (r"\d{1,2}\.\d{1,2}\.\d{4}", "%d.%m.%Y"),
    (rf"(?:{_MONTHS}) \d{{1,2}}, \d{{4}}", "%B %d, %Y"),
    (rf"(?:{_MON}) \d{{1,2}}, \d{{4}}", "%b %d, %Y"),
    (rf"\d{{1,2}} (?:{_MONTHS}) \d{{4}}", "%d %B %Y"),
    (rf"\d{{1,2}} (?:{_MON}) \d{{4}}", "%d %b %Y"),
)
_CHROME = re.compile(r"\b(nav|menu|header|footer|breadcrumb|sidebar|widget|pagination|pager)", re.I)
_CHROME_TAGS = frozenset({"nav", "header", "footer", "aside"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head"})
MIN_REPEAT = 3
#: Share of items in which a sub-field must be found to be proposed.
FIELD_SHARE = 0.6


@dataclass(frozen=True)
class Sample:
    """What a proposal extracts from one item."""

    title: str
    url: str
    date: str | None = None


@dataclass(frozen=True)
class DateRule:
    css: str | None  # relative to the item; None: the item itself
    attribute: str | None = None  # e.g. "datetime" on <time>
    regex: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class Proposal:
    """A candidate listing config: ``items`` and field sub-selectors (CSS, relative to the
    item; ``None`` means the item element itself)."""

    items: str
    link: str | None
    title: str | None
    date: DateRule | None
    summary: str | None
    count: int
    score: float
    same_host: float  # share of links on the page's host
    samples: tuple[Sample, ...]

    def spec(self, url: str, max_items: int = 200) -> ListingSpec:
        """The proposal as a ListingSpec, to parse the page with it (preview, tests)."""
        fields = {
            "title": Rule(_sel(self.title)),
            "link": Rule(_sel(self.link)),
        }
        if self.date is not None:
            fields["date"] = Rule(
                _sel(self.date.css),
                take="attribute" if self.date.attribute else "text",
                attribute=self.date.attribute,
                regex=self.date.regex,
                formats=(self.date.format,) if self.date.format else (),
            )
        if self.summary:
            fields["summary"] = Rule(_sel(self.summary))
        return ListingSpec(
            urls=(url,), items=Selector("css", self.items), fields=fields, max_items=max_items
        )

    def config(self) -> dict[str, object]:
        """The ``listing`` keys this proposal stands for, ready to dump as YAML."""
        fields: dict[str, object] = {
            "title": self.title if self.title else {"take": "text"},
            "link": self.link if self.link else {"attribute": "href"},
        }
        if self.date is not None:
            rule: dict[str, object] = {}
            if self.date.css:
                rule["css"] = self.date.css
            if self.date.attribute:
                rule["attribute"] = self.date.attribute
            if self.date.regex:
                rule["regex"] = self.date.regex
            if self.date.format:
                rule["formats"] = [self.date.format]
            fields["date"] = rule
        if self.summary:
            fields["summary"] = {"css": self.summary, "take": "text"}
        return {"items": self.items, "fields": fields}


def _sel(css: str | None) -> Selector | None:
    return Selector("css", css) if css else None


def propose(text: str, url: str, limit: int = 5) -> list[Proposal]:
    """Candidate item selectors for a listing page, best first (at most ``limit``)."""
    doc = rules.parse_document(text, url)
    host = (urlsplit(url).hostname or "").lower()
    groups: dict[str, list[html.HtmlElement]] = defaultdict(list)
    for a in doc.iter("a"):
        href = (a.get("href") or "").strip()
        if not _usable_href(href) or not rules.text_of(a):
            continue
        if any(anc.tag in _SKIP_TAGS for anc in a.iterancestors()):
            continue
        groups[_signature(a)].append(a)
    found: dict[str, Proposal] = {}
    for anchors in groups.values():
        if len({a.get("href") for a in anchors}) < MIN_REPEAT:
            continue
        proposal = _proposal(doc, anchors, url, host)
        if proposal is None:
            continue
        best = found.get(proposal.items)
        if best is None or proposal.score > best.score:
            found[proposal.items] = proposal
    ranked = sorted(found.values(), key=lambda p: (-p.score, p.items))
    return ranked[:limit]


# ---------------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------------


def _usable_href(href: str) -> bool:
    low = href.lower()
    return bool(href) and not low.startswith(("#", "javascript:", "mailto:", "tel:", "data:"))


def _classes(el: html.HtmlElement) -> tuple[str, ...]:
    return tuple(sorted(c for c in (el.get("class") or "").split() if _css_ident(c)))


def _css_ident(name: str) -> bool:
    return re.fullmatch(r"-?[A-Za-z_][\w-]*", name) is not None


def _step(el: html.HtmlElement) -> str:
    return str(el.tag) + "".join(f".{c}" for c in _classes(el))


def _signature(el: html.HtmlElement) -> str:
    chain = [el, *el.iterancestors()]
    return " > ".join(_step(e) for e in reversed(chain))


def _item_level(anchors: Sequence[html.HtmlElement]) -> int:
    """How many levels above the links the item element sits (0: the link itself)."""
    chains = [[a, *a.iterancestors()] for a in anchors]
    depth = min(len(c) for c in chains)
    level = 0
    for k in range(1, depth):
        ancestors = {id(c[k]) for c in chains}
        if len(ancestors) < len(chains) or chains[0][k].tag in ("body", "html"):
            break
        level = k
    return level


# ---------------------------------------------------------------------------------------------
# Building one proposal
# ---------------------------------------------------------------------------------------------


def _proposal(
    doc: html.HtmlElement, anchors: list[html.HtmlElement], url: str, host: str
) -> Proposal | None:
    level = _item_level(anchors)
    items = [([a, *a.iterancestors()])[level] for a in anchors]
    items = list({id(i): i for i in items}.values())
    if len(items) < MIN_REPEAT:
        return None
    item_css = _item_selector(doc, items)
    if item_css is None:
        return None
    link_css = _relative_css(items[0], anchors[0]) if level else None
    title_css = _title_selector(items, link_css)
    date = _date_rule(items)
    summary = _summary_selector(items, anchors)
    links = [urljoin(url, a.get("href", "")) for a in anchors]
    same_host = mean(1.0 if (urlsplit(u).hostname or "").lower() == host else 0.0 for u in links)
    samples = tuple(
        Sample(
            title=_first_text(item, title_css),
            url=urljoin(url, rules.first_link(item) if link_css is None else _link(item, link_css)),
            date=_date_text(item, date),
        )
        for item in items[:3]
    )
    titles = [rules.text_of(a) for a in anchors]
    return Proposal(
        items=item_css,
        link=link_css,
        title=title_css,
        date=date,
        summary=summary,
        count=len(items),
        score=_score(anchors, items, titles, same_host, date is not None),
        same_host=same_host,
        samples=samples,
    )


def _item_selector(doc: html.HtmlElement, items: list[html.HtmlElement]) -> str | None:
    """The least qualified CSS selector that matches exactly ``items`` (in document)."""
    wanted = {id(i) for i in items}
    tag = str(items[0].tag)
    shared = set(_classes(items[0]))
    for i in items[1:]:
        shared &= set(_classes(i))
    base = tag + "".join(f".{c}" for c in sorted(shared))
    candidates = [base]
    parents = [i.getparent() for i in items]
    if all(p is not None for p in parents):
        parent = parents[0]
        assert parent is not None
        if parent.get("id") and _css_ident(parent.get("id", "")):
            candidates.append(f"#{parent.get('id')} > {base}")
        candidates.append(f"{_step(parent)} > {base}")
        grand = parent.getparent()
        if grand is not None and grand.tag not in ("html",):
            candidates.append(f"{_step(grand)} > {_step(parent)} > {base}")
    near: list[tuple[int, str]] = []
    for css in candidates:
        try:
            matched = compile_selector(Selector("css", css))(doc)
        except Exception:  # noqa: BLE001 - an odd class name; try the next candidate
            continue
        if not isinstance(matched, list):
            continue
        got = {id(m) for m in matched}
        if got == wanted:
            return css
        if wanted <= got and len(got) <= 1.5 * len(wanted):
            near.append((len(got), css))  # a header row or two more: they give no item
    return min(near)[1] if near else None


def _relative_css(item: html.HtmlElement, target: html.HtmlElement) -> str:
    """``h5.block a``-style selector of ``target`` inside ``item`` (parent step + own step)."""
    parent = target.getparent()
    if parent is None or parent is item:
        return _step(target)
    return f"{_step(parent)} {_step(target)}"


def _title_selector(items: list[html.HtmlElement], link_css: str | None) -> str | None:
    """A heading inside the items if most have one with text, else the link's text."""
    for level in ("h1", "h2", "h3", "h4", "h5", "h6"):
        found = [next(iter(i.iter(level)), None) for i in items]
        with_text = [h for h in found if h is not None and rules.text_of(h)]
        if len(with_text) >= FIELD_SHARE * len(items):
            classes = _classes(with_text[0])
            shared = [c for c in classes if all(c in _classes(h) for h in with_text)]
            return level + "".join(f".{c}" for c in shared)
    return link_css


def _date_rule(items: list[html.HtmlElement]) -> DateRule | None:
    times = [next((t for t in i.iter("time") if t.get("datetime")), None) for i in items]
    if sum(t is not None for t in times) >= FIELD_SHARE * len(items):
        return DateRule(css="time", attribute="datetime")
    for pattern, fmt in DATE_PATTERNS:
        rx = re.compile(pattern)
        holders: list[html.HtmlElement] = []
        for item in items:
            holder = _smallest_holder(item, rx)
            if holder is not None:
                holders.append(holder)
        if len(holders) < FIELD_SHARE * len(items):
            continue
        item_of = {
            id(h): next(i for i in items if h is i or i in h.iterancestors()) for h in holders
        }
        first = holders[0]
        css = None if first is item_of[id(first)] else _relative_css(item_of[id(first)], first)
        whole = all(rx.fullmatch(rules.text_of(h)) for h in holders)
        return DateRule(css=css, regex=None if whole else pattern, format=fmt)
    return None


def _smallest_holder(item: html.HtmlElement, rx: re.Pattern[str]) -> html.HtmlElement | None:
    """The first element of ``item`` whose text matches ``rx`` while no child's does."""
    for el in item.iter():
        if not isinstance(el.tag, str) or el.tag in _SKIP_TAGS:
            continue
        if rx.search(rules.text_of(el)) and not any(
            isinstance(c.tag, str) and rx.search(rules.text_of(c)) for c in el
        ):
            return el
    return None


def _summary_selector(items: list[html.HtmlElement], anchors: list[html.HtmlElement]) -> str | None:
    """A paragraph-like element (not holding the link) with sentence-length text."""
    # keep the proxies alive: lxml may reuse the id() of a proxy that was freed
    holding = [x for a in anchors for x in (a, *a.iterancestors())]
    linked = {id(x) for x in holding}
    by_css: dict[str, list[int]] = defaultdict(list)
    for item in items:
        for el in item.iter("p", "div"):
            if id(el) in linked or el is item:
                continue
            text = rules.text_of(el)
            if len(text) >= 40:
                by_css[_relative_css(item, el)].append(len(text))
    good = [(mean(v), css) for css, v in by_css.items() if len(v) >= FIELD_SHARE * len(items)]
    return max(good)[1] if good else None


def _score(
    anchors: list[html.HtmlElement],
    items: list[html.HtmlElement],
    titles: list[str],
    same_host: float,
    has_date: bool,
) -> float:
    distinct = len({a.get("href") for a in anchors})
    length = mean(min(len(t), 120) for t in titles)
    title_like = min(length / 40.0, 1.0) * (0.3 if length < 12 else 1.0)
    chrome = any(_in_chrome(i) for i in items[:1])
    return round(
        distinct
        * title_like
        * (0.2 + 0.8 * same_host)
        * (1.5 if has_date else 1.0)
        * (0.2 if chrome else 1.0),
        3,
    )


def _in_chrome(el: html.HtmlElement) -> bool:
    for anc in (el, *el.iterancestors()):
        if anc.tag in _CHROME_TAGS:
            return True
        if _CHROME.search(f"{anc.get('class', '')} {anc.get('id', '')}"):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------


def _select_rel(item: html.HtmlElement, css: str | None) -> Iterable[html.HtmlElement]:
    if css is None:
        return [item]
    return rules.select(Selector("css", css), item)


def _first_text(item: html.HtmlElement, css: str | None) -> str:
    return next((t for el in _select_rel(item, css) if (t := rules.text_of(el))), "")


def _link(item: html.HtmlElement, css: str) -> str:
    return next((h for el in _select_rel(item, css) if (h := rules.first_link(el))), "")


def _date_text(item: html.HtmlElement, rule: DateRule | None) -> str | None:
    if rule is None:
        return None
    for el in _select_rel(item, rule.css):
        value = el.get(rule.attribute, "") if rule.attribute else rules.text_of(el)
        if rule.regex:
            m = re.search(rule.regex, value)
            value = m.group(0) if m else ""
        if value:
            return value
    return None
