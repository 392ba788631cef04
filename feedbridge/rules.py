"""Applying field rules to lxml elements: the shared core of ``listing`` and ``extract``.

Pure: elements in, strings out. Trees never leave ``listing``/``extract``/this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

from lxml import etree, html

from feedbridge.model import Rule, Selector
from feedbridge.normalize import CONTROL_CHARS
from feedbridge.selectors import compile_regex, compile_selector

# Elements whose boundaries separate words: text on either side must not be glued together.
BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "br",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
# XML 1.0 forbids these; sites do send them.

LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-url")
LAZY_SRCSET_ATTRS = ("data-srcset", "srcset")


# The characters of CONTROL_CHARS below U+0100, as bytes (for a fast test; see _has_control).
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20)) + b"\x7f"


# lxml.html's parser picks each element's class with a Python callback (special classes for
# forms and inputs, which nothing here uses); a C-level default lookup keeps HtmlElement and
# saves that call for every element the code touches.
_PARSER = etree.HTMLParser()
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=html.HtmlElement,
        comment=html.HtmlComment,
        pi=html.HtmlProcessingInstruction,
        entity=html.HtmlEntity,
    )
)


def parse_document(text: str, url: str) -> html.HtmlElement:
    """Parse (possibly broken) HTML leniently; an empty or unparsable body gives an empty <html>."""
    if _has_control(text):
        text = CONTROL_CHARS.sub("", text)
    if text.startswith("<?xml"):
        text = re.sub(r"^<\?xml[^>]*>", "", text)
    try:
        doc = html.document_fromstring(text or "<html></html>", parser=_PARSER, base_url=url)
    except (etree.ParserError, ValueError):
        doc = html.document_fromstring("<html></html>", parser=_PARSER, base_url=url)
    return doc


def _has_control(text: str) -> bool:
    """Whether ``text`` holds a character of ``CONTROL_CHARS``.

    Pages almost never do, and the regex costs as much as lxml's parse of the page. Searching
    for the two noncharacters and deleting the C0 controls from the Latin-1 part of the text
    (which holds every one of them) with ``bytes.translate`` finds the same in a quarter of the
    time.
    """
    if "\ufffe" in text or "\uffff" in text:
        return True
    low = text.encode("latin-1", "ignore")
    return len(low.translate(None, _CONTROL_BYTES)) != len(low)


def select(selector: Selector | None, context: html.HtmlElement) -> list[html.HtmlElement]:
    """Elements matched by ``selector`` below ``context`` (the context itself if None)."""
    if selector is None:
        return [context]
    found = compile_selector(selector)(context)
    if not isinstance(found, list):
        return []
    return [e for e in found if isinstance(e, etree._Element)]


def select_values(selector: Selector | None, context: html.HtmlElement) -> list[str]:
    """Like :func:`select`, but XPath may also yield strings (``@href``, ``text()``)."""
    if selector is None:
        return []
    found = compile_selector(selector)(context)
    if isinstance(found, str):
        return [found]
    if not isinstance(found, list):
        return [str(found)] if found is not None else []
    return [str(v) for v in found if isinstance(v, str)]


def text_of(el: etree._Element) -> str:
    """Visible text with spaces kept around inline elements and added at block boundaries.

    ``General Secretary <nobr><span>Kim Jong Un</span></nobr> to`` stays three words apart,
    ``<p>a</p><p>b</p>`` becomes ``a b``; whitespace is collapsed.
    """
    return collapse(" ".join(_text_parts(el)))


def _text_parts(el: etree._Element) -> Iterator[str]:
    if not isinstance(el.tag, str) or el.tag in ("script", "style", "template", "noscript"):
        return
    block = el.tag in BLOCK_TAGS
    if block:
        yield " "
    if el.text:
        yield el.text
    for child in el:
        yield from _text_parts(child)
        if child.tail:
            yield child.tail
    if block:
        yield " "


def collapse(text: str) -> str:
    return " ".join(CONTROL_CHARS.sub("", text).split())


def inner_html(el: etree._Element) -> str:
    parts = [el.text or ""]
    parts.extend(etree.tostring(c, encoding="unicode", method="html") for c in el)
    return "".join(parts)


def outer_html(el: etree._Element) -> str:
    # with_tail=False: the text after the element belongs to its parent, not to it
    return str(etree.tostring(el, encoding="unicode", method="html", with_tail=False))


def apply_regex(pattern: str | None, value: str) -> str | None:
    """Keep the match of ``pattern`` (group 1 if it has groups); None when it does not match."""
    if pattern is None:
        return value
    m = compile_regex(pattern).search(value)
    if m is None:
        return None
    return m.group(1) if m.re.groups else m.group(0)


def attr(el: etree._Element, name: str) -> str | None:
    """An attribute's value, or None when it is missing or empty."""
    value = el.get(name)
    return str(value) if value else None


def first_link(el: html.HtmlElement, attribute: str = "href") -> str | None:
    found = attr(el, attribute)
    if found:
        return found
    for a in el.iter("a"):
        found = attr(a, attribute)
        if found:
            return found
    return None


def image_src(el: html.HtmlElement) -> str | None:
    """The real image of an <img> (or the first inside ``el``), lazy-loading attributes first."""
    img = el if el.tag == "img" else next(el.iter("img"), None)
    if img is None:
        return attr(el, "src") or attr(el, "content")
    for name in LAZY_SRC_ATTRS:
        if attr(img, name):
            return attr(img, name)
    for name in LAZY_SRCSET_ATTRS:
        srcset = attr(img, name)
        if srcset:
            return best_srcset(srcset)
    return attr(img, "src")


def best_srcset(srcset: str) -> str | None:
    """The widest candidate of a ``srcset`` (the first if no widths are given)."""
    best: tuple[float, str] | None = None
    for cand in srcset.split(","):
        parts = cand.strip().split()
        if not parts:
            continue
        size = 0.0
        if len(parts) > 1 and parts[1][:-1].replace(".", "", 1).isdigit():
            size = float(parts[1][:-1])
        if best is None or size > best[0]:
            best = (size, parts[0])
    return best[1] if best else None


URL_ATTRS = (("a", "href"), ("img", "src"), ("source", "src"), ("video", "src"), ("audio", "src"))


def absolute(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; None for a link that is not a URL at all
    (``http://[oops/``: urljoin raises on those, and one bad link must not end a run)."""
    try:
        return urljoin(base, href.strip())
    except ValueError:
        return None


def absolutize(root: html.HtmlElement, base: str) -> None:
    """Make links and images under ``root`` absolute; give lazy images their real ``src``."""
    for img in root.iter("img"):
        real = image_src(img)
        if real:
            img.set("src", real)
    for tag, name in URL_ATTRS:
        for el in root.iter(tag):
            value = el.get(name)
            if value:
                fixed = absolute(base, value)
                if fixed is None:
                    del el.attrib[name]
                else:
                    el.set(name, fixed)
    for el in root.iter("source"):
        best = best_srcset(el.get("srcset", "")) if el.get("srcset") else None
        fixed = absolute(base, best) if best else None
        if fixed:
            el.set("srcset", fixed)


def values(rule: Rule, context: html.HtmlElement, field: str, base_url: str) -> list[str]:
    """Every value ``rule`` yields in ``context``, after ``take`` and ``regex``; empty dropped.

    ``link`` and ``image`` without an explicit ``take``/``attribute`` take the href / the real
    image source; URL values are made absolute against ``base_url``.
    """
    raw: list[str] = []
    if rule.selector is not None and rule.selector.kind == "xpath":
        raw = select_values(rule.selector, context)
    for el in select(rule.selector, context) if not raw else []:
        if rule.take in ("html", "inner_html"):
            absolutize(el, base_url)  # summaries and other HTML fields get absolute links too
        v = _take(rule, el, field)
        if v is not None:
            raw.append(v)
    out: list[str] = []
    for v in raw:
        got = apply_regex(rule.regex, v)
        if got is None:
            continue
        got = got.strip() if rule.take in ("text", "attribute") else got
        if field in ("link", "image") and got:
            got = absolute(base_url, got) or ""
        if got:
            out.append(got)
    return out


def _take(rule: Rule, el: html.HtmlElement, field: str) -> str | None:
    if rule.attribute is not None:
        return attr(el, rule.attribute)
    if rule.take == "text" and field == "link":
        return first_link(el)
    if rule.take == "text" and field == "image":
        return image_src(el)
    if rule.take == "html":
        return outer_html(el)
    if rule.take == "inner_html":
        return inner_html(el)
    if rule.take == "attribute":
        return None
    return text_of(el)


def first_value(rule: Rule | None, context: html.HtmlElement, field: str, base: str) -> str | None:
    if rule is None:
        return None
    found = values(rule, context, field, base)
    return found[0] if found else None
