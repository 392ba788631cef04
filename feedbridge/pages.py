"""Pure reading of fetched bodies: which charset, and whether the page is a block.

No I/O here: :func:`decode_body` takes bytes and a Content-Type, :func:`detect_block` a
:class:`~feedbridge.model.Page`, :func:`looks_like_login` a URL. ``fetch`` calls them on every
answer; their tables are data so that a new kind of bot check is one line.
"""

from __future__ import annotations

import codecs
import html
import re
from urllib.parse import urlsplit

import charset_normalizer

from feedbridge.model import Page


def mime_type(content_type: str) -> str:
    """``text/html`` out of ``Text/HTML; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


# -- pure: decoding ---------------------------------------------------------------------------

_TEXT_MIMES = frozenset(
    {
        "application/xhtml+xml",
        "application/xml",
        "application/json",
        "application/javascript",
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/x-rss+xml",
        "application/rdf+xml",
        "application/ld+json",
    }
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)["']""")
# Browsers read these labels as windows-1252 (WHATWG Encoding); so do we.
_AS_CP1252 = frozenset({"latin_1", "iso8859-1", "ascii"})


def is_text(content_type: str, content: bytes) -> bool:
    """Whether a body is text worth decoding (images, PDFs and the like are not)."""
    mime = mime_type(content_type)
    if not mime:
        return b"\x00" not in content[:1024]
    return (
        mime.startswith("text/")
        or mime in _TEXT_MIMES
        or mime.endswith(("+xml", "+json", "/xml", "/json"))
    )


def _codec(label: str | bytes | None) -> str | None:
    """Python's codec name for a charset label, or None when unknown."""
    if label is None:
        return None
    name = label.decode("ascii", "ignore") if isinstance(label, bytes) else label
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if codec in _AS_CP1252 else codec


def declared_encodings(content: bytes, content_type: str) -> list[str]:
    """The encodings a body claims, strongest first: BOM → Content-Type charset → ``<meta>``
    in the first 4 KB → XML declaration (known codecs only, no repeats)."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return [name]
    header = _HEADER_CHARSET.search(content_type)
    head = content[:4096]
    meta = _META_CHARSET.search(head)
    xml = _XML_ENCODING.search(head)
    found: list[str] = []
    for label in (
        header.group(1) if header else None,
        meta.group(1) if meta else None,
        xml.group(1) if xml else None,
    ):
        codec = _codec(label)
        if codec and codec not in found:
            found.append(codec)
    return found


def sniff_encoding(content: bytes, content_type: str) -> str:
    """The encoding of a text body: the strongest declaration, else detection, else utf-8."""
    declared = declared_encodings(content, content_type)
    return declared[0] if declared else detect_encoding(content)


def detect_encoding(content: bytes) -> str:
    """charset-normalizer's guess on the first 64 KB (cut at a line end), else utf-8.

    Short Western pages often fit several single-byte codecs equally well (cp1250, cp1252,
    cp1257 all read "Café" without chaos); on such a tie cp1252 wins, the web's most common
    single-byte encoding (the WHATWG default for Western locales), so "£" does not become "Ł".
    """
    sample = content[:65536]
    if len(content) > len(sample) and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n")]
    matches = list(charset_normalizer.from_bytes(sample))
    if not matches:
        return "utf-8"
    least = min(m.chaos for m in matches)
    tied = [m.encoding for m in matches if m.chaos == least]
    if "cp1252" in tied:
        return "cp1252"
    return _codec(matches[0].encoding) or "utf-8"


def decode_body(content: bytes, content_type: str) -> tuple[str, str | None]:
    """``(text, encoding)`` of a body; ``("", None)`` for bodies that are not text."""
    if not content or not is_text(content_type, content):
        return "", None
    text, encoding = _decode_declared(content, content_type)
    if text is None:
        encoding = detect_encoding(content)
        text = content.decode(encoding, errors="replace")
    return (text[1:] if text.startswith("\ufeff") else text), encoding


def _decode_declared(content: bytes, content_type: str) -> tuple[str | None, str]:
    """The first declared encoding that decodes the body without errors. A site that declares
    UTF-8 but sends Latin-1 falls through to the next declaration, then to detection; only
    single-byte codecs that accept any byte (cp1252, latin-1…) never fail."""
    for encoding in declared_encodings(content, content_type):
        try:
            return content.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None, "utf-8"


# -- pure: blocks -----------------------------------------------------------------------------

_LOGIN_SEGMENTS = frozenset(
    {
        "login",
        "log-in",
        "signin",
        "sign-in",
        "wp-login",
        "free-member-form",
        "member",
        "members",
        "membership",
        "register",
        "subscribe",
        "paywall",
    }
)


def looks_like_login(url: str) -> bool:
    """Whether ``url``'s path leads to a login or member wall (a redirect there is a block)."""
    path = urlsplit(url).path.lower()
    return any(seg.split(".", 1)[0] in _LOGIN_SEGMENTS for seg in path.split("/") if seg)


# Page titles of bot checks and block pages (lowercase prefix match on the <title>).
_BLOCK_TITLES = (
    ("just a moment", "a Cloudflare bot check ('Just a moment...')"),
    ("attention required", "a Cloudflare block page ('Attention Required!')"),
    ("checking your browser", "a bot check ('Checking your browser')"),
    ("access denied", "an 'Access denied' page"),
    ("ddos-guard", "a DDoS-Guard bot check"),
    ("pardon our interruption", "an Imperva bot check ('Pardon Our Interruption')"),
    ("are you a robot", "a bot check ('Are you a robot?')"),
    ("human verification", "a bot check ('Human verification')"),
    ("security check", "a bot check ('Security check')"),
    ("please wait", "a bot check ('Please wait')"),
)
# Markers that only challenge pages carry.
_STRONG_MARKERS = (
    ("_cf_chl_opt", "a Cloudflare challenge (cf_chl marker)"),
    ("cf-chl-", "a Cloudflare challenge (cf-chl marker)"),
    ("cf-browser-verification", "a Cloudflare browser check"),
    ("_incapsula_resource", "an Imperva/Incapsula bot check"),
)
_AMBIGUOUS_TITLES = frozenset({"access denied", "please wait", "security check"})
_CAPTCHA_PAGE = "a captcha page"
_CAPTCHA_WORD = re.compile(r"\bcaptcha\b", re.I)
_CAPTCHA_WIDGET = re.compile(
    r"""class=["'][^"']*\b(?:g-recaptcha|h-captcha|cf-turnstile)\b""", re.I
)
_TINY_TEXT = 600  # visible characters: what a block page shows, shorter than any article
# Markers that mean a block only on a page with little else on it: Cloudflare injects
# challenge-platform scripts into real pages, and articles may mention captchas.
_WEAK_MARKERS = (
    ("challenge-platform", "a Cloudflare challenge (challenge-platform)"),
    ("captcha", "a captcha page"),
)
_SMALL_TEXT = 2000  # visible characters
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_INVISIBLE = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def detect_block(page: Page) -> str | None:
    """What kind of block page ``page`` is (bot check, captcha, access denied), or None for a
    real page. Only HTML is judged; feeds and other types pass."""
    mime = page.content_type
    if mime and "html" not in mime:
        return None
    text = page.text
    lower = text.lower()
    match = _TITLE.search(text, 0, 65536)
    title = " ".join(html.unescape(match.group(1)).split()).lower() if match else ""
    visible: str | None = None

    def small(limit: int = _SMALL_TEXT) -> bool:  # computed once, only for suspicious pages
        nonlocal visible
        if visible is None:
            visible = " ".join(_TAG.sub(" ", _INVISIBLE.sub(" ", text)).split())
        return len(visible) < limit

    for prefix, what in _BLOCK_TITLES:
        # "Access denied: the files…" can be an article's headline: such titles count only
        # on a page with little else on it
        if title.startswith(prefix) and (prefix not in _AMBIGUOUS_TITLES or small(_TINY_TEXT)):
            return what
    for marker, what in _STRONG_MARKERS:
        if marker in lower:
            return what
    weak = [what for marker, what in _WEAK_MARKERS if marker in lower]
    if not weak or not small():  # the usual page
        return None
    # a captcha people see (the word, or a widget), not a "recaptcha" script a form loads
    if weak == [_CAPTCHA_PAGE] and not (
        _CAPTCHA_WORD.search(visible or "") or _CAPTCHA_WIDGET.search(text)
    ):
        return None
    return weak[0]
