"""A kcna.kp look-alike, current layout (since mid-2026), as ../shared/SITES.md describes it.

- Category lists ``/en/article/list/<32 hex>``: 15 items a page, ``div.article > h5.block > a``
  and ``<span><nobr>[2026.7.19.]</nobr></span>`` (dates not zero-padded, sometimes another
  ``<nobr>`` in the same span). Page 1 is a GET that starts a session (``JSESSIONID``) and
  carries ``form#article_form`` with hidden ``_csrf``, ``page_num``, ``cnt_per_page``,
  ``keyword``; page N is a POST of that form with the cookie and a Referer. A POST without a
  valid session, token or Referer gets 200 and an empty list, like the real site.
- Articles ``/en/article/detail/<32 hex>``: no date anywhere; body = ``<p>`` children of
  ``main article .container``; captions in nested ``div.photo``; ``-0-`` as its own paragraph
  or glued to the last one; leader names wrapped in ``<nobr><span class='fSpecCs'>``.
- An article may sit in two categories under one URL.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date

from feedbridge.samplesite.content import (
    Para,
    kcna_caption,
    kcna_paragraphs,
    kcna_title,
    month_day,
    plain,
    seeded,
)
from feedbridge.samplesite.site import (
    DEFAULT_TODAY,
    NOT_FOUND,
    Info,
    PathKind,
    Rendered,
    Request,
    Response,
    SampleArticle,
    Site,
    Story,
    esc,
)

LATEST = "a666dda1282180e0ee1b4427b0574ae7"
TOP = "6a47505ba5268fd7749c0fe11e4b24b4"
KJU = "b0721b9f23054ddc7fe56c2811a12715"
CATEGORIES = {LATEST: "Latest News", TOP: "Top News", KJU: "Kim Jong Un's Activities"}
PER_PAGE = 15

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_LIST_RE = re.compile(r"^/en/article/list/([0-9a-f]{32})/?$")
_DETAIL_RE = re.compile(r"^/en/article/detail/([0-9a-f]{32})/?$")
_GALLERY_RE = re.compile(r"^/en/gallery/detail/([0-9a-f]{32})/?$")
_CSRF_SLOT = "\x00csrf\x00"
_NAV_LABELS = ("Latest News", "Top News", "Kim Jong Un's Activities", "Photo", "Video")
FOOTER = "Copyright © 2026 by KCNA. All Rights Reserved."
SCRIPT_MARK = "var cur_lang"


def kcna_date(d: date) -> str:
    """``2026.7.19.``: the list date, not zero-padded."""
    return f"{d.year}.{d.month}.{d.day}."


def _hex(*parts: object, n: int = 32) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:n]


def render_para(para: Para) -> str:
    """Segments as kcna.kp writes them: leader names in ``nobr``/``span.fSpecCs``."""
    out = []
    for kind, text in para:
        if kind == "L":
            out.append(f"<nobr><span class='fSpecCs'>{esc(text)}</span></nobr>")
        else:
            out.append(esc(text))
    return "".join(out)


class KcnaSite(Site):
    """kcna.kp, English edition. Dates are Pyongyang local dates."""

    name = "kcna"
    timezone = "Asia/Pyongyang"
    canonical_origin = "http://www.kcna.kp"
    per_day = 12
    #: a POST without a Referer gets the empty list (set False to relax)
    require_referer = True

    def __init__(self, seed: int | str = 0, count: int = 50, today: date = DEFAULT_TODAY) -> None:
        self._sessions: dict[str, str] = {}
        self._session_counter = 0
        super().__init__(seed, count, today)

    # -- content ------------------------------------------------------------------------------

    def make_key(self, serial: int) -> str:
        return _hex("kcna", self.seed, serial)

    def describe(self, article: SampleArticle) -> Info:
        title, topic, subject = kcna_title(self.seed, article.serial)
        rng = seeded("kcna-info", self.seed, article.serial)
        cats = [LATEST]
        if topic == "leader":
            cats.append(KJU)
        if (topic == "leader" and article.serial % 3 == 0) or rng.random() < 0.15:
            cats.append(TOP)
        flags = {
            rng.choice(("dateline-spaced", "dateline-spaced", "dateline-tight", "dateline-emdash"))
        }
        flags.add("end-inline" if rng.random() < 0.3 else "end-separate")
        photos = rng.choice((0, 0, 1, 2)) if topic != "leader" else rng.choice((1, 2, 3))
        flags.update(f"photo-{i}" for i in range(photos))
        if photos and rng.random() < 0.6:
            flags.add("gallery")
        if rng.random() < 0.2:
            flags.add("video")
        return Info(
            title,
            topic,
            tuple(CATEGORIES[c] for c in cats),
            None,
            frozenset(flags),
            {"categories": ",".join(cats), "subject": subject},
        )

    def compose(self, article: SampleArticle) -> Story:
        info = article.info
        paras = kcna_paragraphs(
            self.seed, article.serial, article.revision, info.topic, info.extra["subject"]
        )
        paras[0] = (("t", self._dateline(article)),) + paras[0]
        photos = sum(1 for f in info.flags if f.startswith("photo-"))
        captions = tuple(
            plain(kcna_caption(self.seed, article.serial, info.topic, i)) for i in range(photos)
        )
        return Story(tuple(paras), summary="", captions=captions)

    def _dateline(self, article: SampleArticle) -> str:
        md = month_day(article.day)
        flags = article.info.flags
        if "dateline-tight" in flags:
            return f"Pyongyang, {md} (KCNA) --"
        if "dateline-emdash" in flags:
            return f"Pyongyang, {md} (KCNA) — "
        return f"Pyongyang, {md} (KCNA) -- "

    def categories_of(self, article: SampleArticle) -> tuple[str, ...]:
        return tuple(article.info.extra["categories"].split(","))

    def article_path(self, article: SampleArticle) -> str:
        return f"/en/article/detail/{article.key}"

    def must_not(self, article: SampleArticle) -> tuple[str, ...]:
        return article.story.captions + (
            "-0-",
            FOOTER,
            SCRIPT_MARK,
            "Photo Set",
            "Kim Jong Un's Activities",
            "Latest News",
        )

    def listing_urls(self, origin: str) -> list[str]:
        return [f"{origin.rstrip('/')}/en/article/list/{c}" for c in (LATEST, KJU, TOP)]

    def in_category(self, category: str, keyword: str = "") -> list[SampleArticle]:
        """Listed articles of a category hash, newest first (optionally title-filtered)."""
        items = [a for a in self.listed() if category in self.categories_of(a)]
        if keyword:
            items = [a for a in items if keyword.lower() in a.title.lower()]
        return items

    def listing_page(
        self, category: str, page: int, per_page: int = PER_PAGE
    ) -> list[SampleArticle]:
        """The truth of one list page."""
        items = self.in_category(category)
        return items[(page - 1) * per_page : page * per_page]

    # -- HTTP ---------------------------------------------------------------------------------

    def classify(self, path: str) -> PathKind:
        if _LIST_RE.match(path):
            return "listing"
        if _DETAIL_RE.match(path):
            return "article"
        return "other"

    def route(self, req: Request) -> Rendered | Response:
        path = req.path
        if m := _LIST_RE.match(path):
            if m.group(1) not in CATEGORIES:
                return NOT_FOUND
            if req.method == "POST":
                return self._list_post(req, m.group(1))
            return self._list_get(req, m.group(1))
        if req.method not in ("GET", "HEAD"):
            return Response(405, b"", (("Allow", "GET, HEAD"),))
        if m := _DETAIL_RE.match(path):
            article = self.article(m.group(1))
            return NOT_FOUND if article is None else self._article_page(req, article)
        if m := _GALLERY_RE.match(path):
            return Rendered(
                self._chrome(
                    req,
                    "Photo",
                    '<div class="gallery"><img src="'
                    f'{req.prefix}/photo/{_hex(m.group(1), n=64)}"></div>',
                )
            )
        if path.startswith("/photo/"):
            return Rendered(GIF, content_type="image/gif")
        if path in ("/", "/en", "/en/"):
            links = "".join(
                f'<li><a href="{req.prefix}/en/article/list/{h}">{esc(n)}</a></li>'
                for h, n in CATEGORIES.items()
            )
            return Rendered(self._chrome(req, "Home", f"<ul class='home'>{links}</ul>"))
        return NOT_FOUND

    def _new_session(self) -> tuple[str, str]:
        with self._lock:
            self._session_counter += 1
            sid = _hex("kcna-session", self.seed, self._session_counter).upper()
            token = _hex("kcna-csrf", sid, n=36)
            token = f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:32]}"
            self._sessions[sid] = token
            while len(self._sessions) > 10_000:
                del self._sessions[next(iter(self._sessions))]
            return sid, token

    def _list_get(self, req: Request, category: str) -> Rendered:
        sid = req.cookies.get("JSESSIONID", "")
        token = self._sessions.get(sid)
        headers: tuple[tuple[str, str], ...] = ()
        if token is None:
            sid, token = self._new_session()
            headers = (("Set-Cookie", f"JSESSIONID={sid}; Path={req.prefix or '/'}; HttpOnly"),)
        items = self.in_category(category)
        return self._list_page(req, category, 1, PER_PAGE, items, token, headers)

    def _list_post(self, req: Request, category: str) -> Rendered:
        form = req.form
        token = self._sessions.get(req.cookies.get("JSESSIONID", ""))
        valid = (
            token is not None
            and form.get("_csrf") == token
            and (req.header("referer") or not self.require_referer)
        )
        page = _int(form.get("page_num"), 1)
        per_page = min(max(_int(form.get("cnt_per_page"), PER_PAGE), 1), 50)
        items = self.in_category(category, form.get("keyword", "")) if valid else []
        return self._list_page(req, category, page, per_page, items, token or "", ())

    def _list_page(
        self,
        req: Request,
        category: str,
        page: int,
        per_page: int,
        items: list[SampleArticle],
        token: str,
        headers: tuple[tuple[str, str], ...],
    ) -> Rendered:
        total = len(items)
        page_cnt = -(-total // per_page)
        shown = items[(page - 1) * per_page : page * per_page] if page >= 1 else []
        rows = "\n".join(self._list_item(req, a) for a in shown)
        pager = " ".join(
            f'<a href="javascript:goPage({n})">{n}</a>' for n in range(1, min(page_cnt, 10) + 1)
        )
        main = f"""<div class="category-head"><h3>{esc(CATEGORIES[category])}</h3></div>
<form id="article_form" method="POST">
<input type="hidden" name="_csrf" value="{_CSRF_SLOT}">
<input type="hidden" name="page_num" value="{page}">
<input type="hidden" name="cnt_per_page" value="{per_page}">
<input type="hidden" name="keyword" value="">
</form>
<div class="article-list">
{rows}
</div>
<div class="pagination">{pager}</div>
<script>var total={total}; cur_page={page}; per_page={per_page}; page_cnt={page_cnt};
function goPage(n) {{ var f = document.getElementById('article_form');
f.page_num.value = n; f.submit(); }}</script>"""
        body = self._chrome(req, CATEGORIES[category], main)
        return Rendered(
            body.replace(_CSRF_SLOT, token), kind="listing", headers=headers, etag_source=body
        )

    def _list_item(self, req: Request, a: SampleArticle) -> str:
        flags = a.info.flags
        stamp = f"<nobr>[{kcna_date(a.day)}]</nobr>"
        if "photo-0" in flags:
            stamp = "<nobr>[Photo]</nobr> " + stamp
        if "video" in flags:
            stamp += " <nobr>[Video]</nobr>"
        item, head = ("art-row", "art-tit") if self.listing_markup_changed else ("article", "block")
        return (
            f'<div class="{item}"><h5 class="{head}"><a href="{req.prefix}{a.path}">'
            f"{esc(a.title)}</a></h5><span>{stamp}</span></div>"
        )

    def _article_page(self, req: Request, a: SampleArticle) -> Rendered:
        story, flags = a.story, a.info.flags
        paras = [render_para(p) for p in story.paragraphs]
        if "end-inline" in flags:
            paras[-1] += " -0-"
        else:
            paras.append("-0-")
        blocks = [f"<p>{p}</p>" for p in paras]
        for i in range(len(story.captions)):
            photo = _hex("kcna-photo", self.seed, a.serial, i, n=64)
            cap = render_para(kcna_caption(self.seed, a.serial, a.info.topic, i))
            blocks.insert(
                min(1 + 2 * i, len(blocks) - 1),
                f'<div class="photo"><img src="{req.prefix}/photo/{photo}" alt="">'
                f"<p>{cap}</p></div>",
            )
        if "gallery" in flags:
            g = _hex("kcna-gallery", self.seed, a.serial)
            blocks.append(
                f'<div class="photo-set"><a href="{req.prefix}/en/gallery/detail/{g}">'
                "Photo Set</a></div>"
            )
        main = (
            f'<article><div class="container"><h1 class="text-center article-title">'
            f"{esc(a.title)}</h1>\n" + "\n".join(blocks) + "\n</div></article>"
        )
        return Rendered(self._chrome(req, a.title, main), kind="article")

    def _chrome(self, req: Request, title: str, main: str) -> str:
        nav = "".join(
            f'<li><a href="{req.prefix}/en/article/list/{h}">{esc(n)}</a></li>'
            for h, n in CATEGORIES.items()
        )
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KCNA | {esc(title)}</title>
<link rel="stylesheet" href="{req.prefix}/css/main.css">
<script src="{req.prefix}/js/jquery.min.js"></script>
<script>{SCRIPT_MARK}='en'; var menu_open=false;</script>
</head>
<body>
<header class="header"><div class="logo"><a href="{req.prefix}/en">KCNA</a></div>
<nav class="menu"><ul>{nav}<li><a href="{req.prefix}/en/gallery/list/{_hex("gl")}">Photo</a></li>
<li><a href="{req.prefix}/en/video/list/{_hex("vl")}">Video</a></li></ul></nav></header>
<main>
{main}
</main>
<footer class="footer"><p>{esc(FOOTER)}</p></footer>
<script>$(function() {{ menu_open = false; }});</script>
</body>
</html>
"""


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
