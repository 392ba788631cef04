"""Selectors compiled once: CSS is translated to XPath a single time per expression.

Both config validation and the pure parsing stages go through :func:`compile_selector`, so a
selector that loads is one that runs, and no call translates CSS again.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cssselect import GenericTranslator, SelectorError
from lxml import etree

from feedbridge.model import Selector

_translator = GenericTranslator()

# cssselect writes ``.name`` on any element as ``*[@class and contains(@class, 'name') and
# contains(concat(' ', normalize-space(@class), ' '), ' name ')]``. libxml2 then evaluates the
# predicate on every element of the page, which costs three times as much as testing the class
# attributes themselves and going back to their elements: ``*/@class[…]/..`` selects the same
# elements in the same (document) order. Only a step that ends the path (or is followed by
# another step or a union) is rewritten, so no positional predicate changes meaning.
_LITERAL = r"""('[^']*'|"[^"]*")"""
_CLASS_STEP = re.compile(
    rf"(?:(?<=::)|(?<=/))\*\[@class and contains\(@class, {_LITERAL}\) and "
    rf"contains\(concat\(' ', normalize-space\(@class\), ' '\), {_LITERAL}\)\]"
    r"(?=$|/| \| )"
)
_CLASS_VIA_ATTRIBUTE = (
    r"*/@class[contains(., \1) and contains(concat(' ', normalize-space(.), ' '), \2)]/.."
)


class SelectorSyntaxError(ValueError):
    """The selector does not compile; the message says why."""


@lru_cache(maxsize=4096)
def compile_selector(selector: Selector) -> etree.XPath:
    """Compile a CSS selector or XPath expression into an :class:`lxml.etree.XPath`.

    CSS selectors are relative to the context element (``descendant-or-self``), so the same
    rule works on an item element and on a whole document.
    """
    if selector.kind == "css":
        try:
            expr = _translator.css_to_xpath(selector.expr, prefix="descendant-or-self::")
        except SelectorError as e:
            raise SelectorSyntaxError(f"invalid CSS selector {selector.expr!r}: {e}") from e
        expr = _CLASS_STEP.sub(_CLASS_VIA_ATTRIBUTE, expr)
    else:
        expr = selector.expr
    try:
        return etree.XPath(expr, smart_strings=False)
    except etree.XPathSyntaxError as e:
        raise SelectorSyntaxError(f"invalid XPath {selector.expr!r}: {e}") from e


@lru_cache(maxsize=4096)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a config regex once (case-sensitive, ``re.S`` so ``.`` spans lines)."""
    try:
        return re.compile(pattern, re.S)
    except re.error as e:
        raise SelectorSyntaxError(f"invalid regex {pattern!r}: {e}") from e
