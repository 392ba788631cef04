"""The optional full-text fallback: generic article extraction with trafilatura.

Used by ``refresh`` only when a source configures no ``article.body``; configured selectors
always win. trafilatura is an optional extra (``pip install feedbridge[fulltext]``): it adds
tens of megabytes and a noticeable import time, so it is imported lazily, inside
:func:`load_extractor`, and only when the fallback is needed. Without it, one log line per
process says how to get full text, and entries keep the listing's summary.

Why trafilatura with ``fast=True`` and HTML output: see docs/extraction.md (measured on our
fixture pages: same text F1 as the default mode in a fraction of the time; readability-lxml
kept teaser and comment text on several shapes). HTML output keeps paragraphs, lists,
quotes and tables; the caller sanitizes it (``normalize.sanitize_html``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

from lxml import etree, html

log = logging.getLogger(__name__)

#: trafilatura's fast mode (no fallback extractors) and precision bias; see docs/extraction.md.
FAST = True
PRECISION = True
INSTALL_HINT = "install feedbridge[fulltext] for full text"

_lock = threading.Lock()
_hinted = False


class Extractor(Protocol):
    """(page HTML text, page URL) → body HTML (not yet sanitized), or None when nothing
    article-like was found."""

    def __call__(self, html_text: str, url: str) -> str | None: ...


def load_extractor(source_id: str = "", *, fast: bool = FAST) -> Extractor | None:
    """The generic extractor, or None (logged once per process) when trafilatura is missing."""
    global _hinted
    try:
        import trafilatura
    except ImportError:
        with _lock:
            first, _hinted = not _hinted, True
        if first:
            log.warning(
                "%s: no article.body selector and trafilatura is missing: %s "
                "(pip install 'feedbridge[fulltext]'); entries keep the listing summary",
                source_id or "sources",
                INSTALL_HINT,
            )
        return None
    return _Trafilatura(trafilatura, source_id, fast)


class _Trafilatura:
    """The trafilatura call with our options; failures are logged and give None."""

    def __init__(self, module: ModuleType, source_id: str, fast: bool) -> None:
        self._extract: Callable[..., Any] = module.extract
        self._source_id = source_id
        self._fast = fast

    def __call__(self, html_text: str, url: str) -> str | None:
        try:
            result = self._extract(
                html_text,
                url=url,
                fast=self._fast,
                favor_precision=PRECISION,
                output_format="html",
                include_comments=False,
                include_tables=True,
                include_images=True,
                include_links=True,
                include_formatting=True,
                deduplicate=False,
            )
        except Exception as e:  # noqa: BLE001 - a third-party parser must not kill a refresh
            log.warning("%s: %s: generic extractor failed: %s", self._source_id, url, e)
            return None
        if not isinstance(result, str):
            return None
        return body_fragment(result)


def body_fragment(document: str) -> str | None:
    """The inner HTML of trafilatura's ``<body>``, without a leading ``<h1>`` (the entry has
    its title already); None when no text is left."""
    try:
        doc = html.document_fromstring(document)
    except (etree.ParserError, ValueError):
        return None
    body = doc.find("body")
    if body is None:
        return None
    for table in list(body.iter("table")):
        if table.getparent() is not None and _is_layout_table(table):
            _unwrap_largest_cell(table)
    for root in [body, *body.iter("div")]:
        _drop_link_tail(root)
    first = next((c for c in body if isinstance(c.tag, str)), None)
    if first is not None and first.tag == "h1" and not (body.text or "").strip():
        body.text = (body.text or "") + (first.tail or "")
        body.remove(first)
    if not "".join(body.itertext()).strip():
        return None
    parts = [etree.tostring(c, encoding="unicode", method="html") for c in body]
    return "".join(parts).strip() or None


_BLOCKS = ("p", "div", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "pre")
#: A cell holding at least this share of a table's text is the page's content column.
LAYOUT_SHARE = 0.6


def _text_len(el: etree._Element) -> int:
    return len("".join(el.itertext()).strip())


def _is_layout_table(table: etree._Element) -> bool:
    """A table used for page layout (old sites put the whole page in one): one cell carries
    most of the text in paragraphs. trafilatura keeps such tables whole, with the menu and
    footer cells around the story; data tables have no paragraphs in their cells."""
    cells = [c for c in table.iter("td", "th")]
    if len(cells) < 2:
        return False
    biggest = max(cells, key=_text_len)
    has_blocks = any(True for _ in biggest.iter(*_BLOCKS))
    return has_blocks and _text_len(biggest) >= LAYOUT_SHARE * max(_text_len(table), 1)


def _unwrap_largest_cell(table: etree._Element) -> None:
    """Replace ``table`` by the content of its largest cell (as a ``<div>``)."""
    cell = max((c for c in table.iter("td", "th")), key=_text_len)
    cell.tag = "div"
    for attr in list(cell.attrib):
        del cell.attrib[attr]
    cell.tail = table.tail
    parent = table.getparent()
    assert parent is not None
    parent.replace(table, cell)


_SEPARATORS = re.compile(r"[\s|·•,/–—-]+")
#: Trailing rows at most this long, mostly link text, are tools ("Print | Back to top").
LINK_ROW_CHARS = 150
LINK_ROW_SHARE = 0.7


def _link_row(text: str, link_text: str) -> bool:
    letters = len(_SEPARATORS.sub("", text))
    return 0 < letters <= LINK_ROW_CHARS and len(_SEPARATORS.sub("", link_text)) >= (
        LINK_ROW_SHARE * letters
    )


def _links_of(els: list[etree._Element]) -> str:
    return "".join("".join(a.itertext()) for el in els for a in el.iter("a"))


def _drop_link_tail(root: etree._Element) -> None:
    """Drop trailing rows that are mostly links (print/share/"back to top" tools, link lists)
    from the end of ``root``: an inline run after the last block, or a last block."""
    for _ in range(3):
        kids = [c for c in root if isinstance(c.tag, str)]
        if not kids:
            return
        blocks = [i for i, c in enumerate(kids) if c.tag in _BLOCKS or c.tag == "table"]
        last_block = blocks[-1] if blocks else -1
        run = kids[last_block + 1 :]
        if run:
            anchor = kids[last_block] if last_block >= 0 else None
            lead = (anchor.tail if anchor is not None else root.text) or ""
            text = lead + "".join("".join(c.itertext()) + (c.tail or "") for c in run)
            if not _link_row(text, _links_of(run)):
                return
            for c in run:
                root.remove(c)
            if anchor is not None:
                anchor.tail = None
            else:
                root.text = None
            continue
        last = kids[-1]
        if (last.tail or "").strip() or not _link_row("".join(last.itertext()), _links_of([last])):
            return
        root.remove(last)
