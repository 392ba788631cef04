"""Pure: an article page (text + URL + ArticleSpec) → Article with sanitized full-text HTML.

Order of work on the page tree: drop ``remove`` elements and non-content elements → read the
fields → in the body, cut ``strip`` patterns out of the text, drop what they left empty, make
links and (lazy) images absolute → sanitize (normalize.sanitize_html).
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree, html

from feedbridge import rules
from feedbridge.errors import ExtractError
from feedbridge.model import Article, ArticleSpec, Selector
from feedbridge.normalize import clean_text, parse_date, sanitize_html
from feedbridge.selectors import compile_regex

_ALWAYS_REMOVE = ("script", "style", "noscript", "template", "iframe", "object", "embed", "form")
_KEEP_EMPTY = frozenset({"img", "br", "hr", "source", "picture", "video", "audio", "td", "th"})


def extract_article(text: str, url: str, spec: ArticleSpec, tz: str, now: datetime) -> Article:
    """Read an article page with configured selectors.

    Raises ExtractError when ``spec.body`` is configured but matches nothing: the caller falls
    back (generic extractor or listing summary) and logs it.
    """
    doc = rules.parse_document(text, url)
    for sel in spec.remove:
        for el in rules.select(sel, doc):
            _drop(el)
    title = clean_text(rules.first_value(spec.title, doc, "title", url)) or None
    parsed = None
    if spec.date is not None:
        raw = rules.first_value(spec.date, doc, "date", url)
        parsed = parse_date(raw, spec.date.formats, spec.date.timezone or tz, now) if raw else None
    body_html: str | None = None
    if spec.body is not None:
        body_html = body_from(doc, spec, url)
        if not body_html:
            raise ExtractError(
                url,
                f"body selector {_expr(spec.body.selector)!r} found no content",
            )
    cats = rules.values(spec.categories, doc, "categories", url) if spec.categories else []
    return Article(
        url=url,
        title=title,
        published=parsed.value if parsed else None,
        date_precision=int(parsed.precision) if parsed else 0,
        content_html=body_html,
        author=clean_text(rules.first_value(spec.author, doc, "author", url)) or None,
        categories=tuple(dict.fromkeys(c2 for c in cats if (c2 := clean_text(c)))),
        image=rules.first_value(spec.image, doc, "image", url),
        method="selectors",
    )


def body_from(doc: html.HtmlElement, spec: ArticleSpec, url: str) -> str:
    """The sanitized HTML of every element the body rule selects, in document order."""
    assert spec.body is not None
    selected = rules.select(spec.body.selector, doc)
    # a selected element inside another selected one would be emitted twice
    chosen = {id(e) for e in selected}
    selected = [e for e in selected if not any(id(a) in chosen for a in e.iterancestors())]
    parts: list[str] = []
    for el in selected:
        # non-content inside the body only: a page wrapped in one big <form> (ASP.NET) keeps
        # its body. One walk; dropping keeps each tail in place, so the order does not matter.
        for junk in list(el.iterdescendants(*_ALWAYS_REMOVE)):
            _drop(junk)
        _strip_patterns(el, spec.strip)
        if _is_empty(el):
            continue
        rules.absolutize(el, url)
        raw = rules.inner_html(el) if spec.body.take == "inner_html" else rules.outer_html(el)
        if spec.body.regex:
            raw = rules.apply_regex(spec.body.regex, raw) or ""
        parts.append(raw)
    return sanitize_html("\n".join(parts))


def without_removed(text: str, url: str, spec: ArticleSpec | None) -> str:
    """The page with the configured ``remove`` elements dropped (for the generic extractor,
    which then never sees what the source's config already knows is not content)."""
    if spec is None or not spec.remove:
        return text
    doc = rules.parse_document(text, url)
    for sel in spec.remove:
        for el in rules.select(sel, doc):
            _drop(el)
    return str(etree.tostring(doc, encoding="unicode", method="html"))


def strip_fragment(fragment: str, patterns: tuple[str, ...]) -> str:
    """Apply the ``strip`` patterns to an HTML fragment (e.g. a generic extractor's output)."""
    if not patterns or not fragment:
        return fragment
    root = html.fragment_fromstring(fragment, create_parent="div")
    _strip_patterns(root, patterns)
    return rules.inner_html(root)


def _expr(selector: Selector | None) -> str:
    return selector.expr if selector else "(the element itself)"


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text (it belongs to the parent)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _strip_patterns(root: etree._Element, patterns: tuple[str, ...]) -> None:
    """Cut every ``strip`` regex out of each text node, then drop elements left empty."""
    if not patterns:
        return
    compiled = [compile_regex(p) for p in patterns]
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if el.text:
            el.text = _cut(el.text, compiled)
        if el.tail and el is not root:
            el.tail = _cut(el.tail, compiled)
    for el in list(root.iter()):
        if el is not root and isinstance(el.tag, str) and _is_empty(el):
            _drop(el)


def _cut(text: str, compiled: list) -> str:  # type: ignore[type-arg]
    for rx in compiled:
        text = rx.sub("", text)
    return text


def _is_empty(el: etree._Element) -> bool:
    if el.tag in _KEEP_EMPTY or next(el.iter(*_KEEP_EMPTY), None) is not None:
        return False
    # stops at the first text that is not blank (joining first would build the whole text)
    return not any(not t.isspace() for t in el.itertext() if t)
