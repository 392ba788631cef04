""" "Harbor Gazette": a generic news site with everything a careless scraper trips on.

- Listing ``/news/`` then ``/news/archive/2.html``, ``3.html`` … (``<link rel="next">`` and
  ``<a rel="next">``), 10 ``<article class="teaser">`` a page with RELATIVE links
  (``story/124.html``, ``../story/123.html``, root-relative ``/news/story/125.html``), a
  ``<time datetime="2026-11-20T08:15:00-05:00">`` and lazy images (``data-src``, ``srcset``,
  a placeholder ``src``).
- Articles ``/news/story/<id>.html``: ``<script>`` (also inside the body), ``onclick=`` and
  ``onerror=``, a ``javascript:`` link, an ``<iframe>``, a share bar inside the body, related
  stories and comments after it.
- Served as ISO-8859-1 with the charset ONLY in the Content-Type header (no ``<meta>``): é, £,
  « » are single Latin-1 bytes; characters outside Latin-1 are numeric references.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from feedbridge.samplesite.content import (
    GAZETTE_AUTHORS,
    GAZETTE_SECTIONS,
    Para,
    gazette_paragraphs,
    gazette_title,
    plain,
    seeded,
    truncate_words,
)
from feedbridge.samplesite.kcna import GIF
from feedbridge.samplesite.site import (
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

PER_PAGE = 10
CHARSET = "ISO-8859-1"
CONTENT_TYPE = f"text/html; charset={CHARSET}"
_STORY_RE = re.compile(r"^/news/story/(\d+)\.html$")
_ARCHIVE_RE = re.compile(r"^/news/archive/(\d+)\.html$")
SCRIPT_MARK = "trackPageview"
SHARE = ("Share on Facebook", "Share on X", "Email this story")
FOOTER = "© 2026 Harbor Gazette Ltd · Quay Street 12 · All rights reserved"
AD = "Advertisement"


def render_para(para: Para) -> str:
    out = []
    for kind, text in para:
        if kind == "js":
            out.append(
                f'<a href="javascript:void(0)" onclick="openGlossary(\'harbour\'); '
                f'return false;">{esc(text)}</a>'
            )
        elif kind == "em":
            out.append(f"<em>{esc(text)}</em>")
        else:
            out.append(esc(text))
    return "".join(out)


class GenericSite(Site):
    """A local newspaper; dates are full datetimes in America/New_York."""

    name = "generic"
    timezone = "America/New_York"
    canonical_origin = "http://harbor-gazette.invalid"
    per_day = 4

    def make_key(self, serial: int) -> str:
        return str(100 + serial)

    def describe(self, article: SampleArticle) -> Info:
        rng = seeded("gazette-info", self.seed, article.serial)
        return Info(
            gazette_title(self.seed, article.serial),
            categories=(rng.choice(GAZETTE_SECTIONS),),
            author=rng.choice(GAZETTE_AUTHORS),
        )

    def compose(self, article: SampleArticle) -> Story:
        paras = gazette_paragraphs(self.seed, article.serial, article.revision)
        rng = seeded("gazette-caption", self.seed, article.serial)
        caption = (
            f"The {rng.choice(('north quay', 'old lighthouse', 'ferry terminal'))} at "
            f"dusk, {rng.choice(('Monday', 'Tuesday', 'Friday'))}. Photo: Gazette staff"
        )
        summary = truncate_words(plain(paras[0]), 110) + "…"
        return Story(tuple(paras), summary=summary, captions=(caption,))

    def published(self, article: SampleArticle) -> datetime:
        minutes = min(article.slot * 47, 17 * 60 + 50)
        local = datetime.combine(article.day, time(6), ZoneInfo(self.timezone))
        return local + timedelta(minutes=minutes, seconds=article.slot % 60)

    def article_path(self, article: SampleArticle) -> str:
        return f"/news/story/{article.key}.html"

    def listing_href(self, article: SampleArticle) -> str:
        """The href on page 1 (page 2 and later use ``../story/<id>.html``)."""
        return self.href_on_page(article, 1)

    def href_on_page(self, article: SampleArticle, page: int) -> str:
        if page > 1:
            return f"../story/{article.key}.html"
        if article.serial % 3 == 0:
            return f"/news/story/{article.key}.html"
        return f"story/{article.key}.html"

    def page_url(self, page: int) -> str:
        return "/news/" if page == 1 else f"/news/archive/{page}.html"

    def listing_page(self, page: int) -> list[SampleArticle]:
        return self.listed()[(page - 1) * PER_PAGE : page * PER_PAGE]

    def related(self, article: SampleArticle) -> list[SampleArticle]:
        others = [a for a in self.articles if a.key != article.key]
        return [a for a in others[:6] if a.title not in article.text][:3]

    def comments(self, article: SampleArticle) -> list[tuple[str, str]]:
        rng = seeded("gazette-comments", self.seed, article.serial)
        names = ("HarbourWatcher", "Old Salt", "Mère Poulard", "QuayResident")
        texts = (
            "Not another dredging plan, surely?",
            "Well done to everyone involved!",
            "Who pays for all this? Not the council, that's for sure.",
            "The ferry was late again this morning.",
        )
        return [(rng.choice(names), rng.choice(texts)) for _ in range(rng.randint(1, 3))]

    def must_not(self, article: SampleArticle) -> tuple[str, ...]:
        found = (
            list(article.story.captions)
            + list(SHARE)
            + [SCRIPT_MARK, FOOTER, AD, "Related stories"]
        )
        found += [a.title for a in self.related(article)]
        found += [text for _, text in self.comments(article)]
        return tuple(found)

    def listing_urls(self, origin: str) -> list[str]:
        return [f"{origin.rstrip('/')}/news/"]

    # -- HTTP ---------------------------------------------------------------------------------

    def classify(self, path: str) -> PathKind:
        if path in ("/news/", "/news/index.html") or _ARCHIVE_RE.match(path):
            return "listing"
        if _STORY_RE.match(path):
            return "article"
        return "other"

    def route(self, req: Request) -> Rendered | Response:
        if req.method not in ("GET", "HEAD"):
            return Response(405, b"", (("Allow", "GET, HEAD"),))
        path = req.path
        if path in ("/news/", "/news/index.html"):
            return self._listing(req, 1)
        if m := _ARCHIVE_RE.match(path):
            page = int(m.group(1))
            return self._listing(req, page) if page > 1 and self.listing_page(page) else NOT_FOUND
        if m := _STORY_RE.match(path):
            article = self.article(m.group(1))
            return NOT_FOUND if article is None else self._article(req, article)
        if path.startswith(("/media/", "/static/")):
            return Rendered(GIF, content_type="image/gif")
        return NOT_FOUND

    def _img(self, req: Request, article: SampleArticle, alt: str) -> str:
        media = f"{req.prefix}/media/{article.key}"
        return (
            f'<img src="{req.prefix}/static/placeholder.gif" data-src="{media}-640.jpg" '
            f'srcset="{media}-320.jpg 320w, {media}-640.jpg 640w, {media}-1280.jpg 1280w" '
            f'sizes="(max-width: 600px) 320px, 640px" alt="{esc(alt)}" loading="lazy" '
            "onerror=\"this.src='/static/broken.gif'\">"
        )

    def _listing(self, req: Request, page: int) -> Rendered:
        items = self.listing_page(page)
        cls = ("div", "story-card") if self.listing_markup_changed else ("article", "teaser")
        rows = []
        for a in items:
            href = self.href_on_page(a, page)
            pub = self.published(a)
            rows.append(
                f'<{cls[0]} class="{cls[1]}">\n<a class="thumb" href="{href}">'
                f"{self._img(req, a, a.title)}</a>\n"
                f'<h2 class="teaser-title"><a href="{href}">{esc(a.title)}</a></h2>\n'
                f'<time datetime="{pub.isoformat()}">{_human(pub)}</time>\n'
                f'<p class="dek">{esc(a.summary)}</p>\n'
                f'<span class="byline">By {esc(a.author or "")}</span>\n</{cls[0]}>'
            )
        more = bool(self.listing_page(page + 1))
        nxt = "archive/2.html" if page == 1 else f"{page + 1}.html"
        head = f'<link rel="next" href="{nxt}">' if more else ""
        if page > 1:
            head += '<link rel="prev" href="{}">'.format("../" if page == 2 else f"{page - 1}.html")
        pager = f'<a rel="next" class="older" href="{nxt}">Older stories »</a>' if more else ""
        main = (
            '<h1>Latest news</h1>\n<section class="river">\n'
            + "\n".join(rows)
            + f'\n</section>\n<nav class="pager">{pager}</nav>'
        )
        return Rendered(
            self._chrome(req, "News", main, head),
            kind="listing",
            content_type=CONTENT_TYPE,
            encoding=CHARSET,
        )

    def _article(self, req: Request, a: SampleArticle) -> Rendered:
        story = a.story
        paras = [f"<p>{render_para(p)}</p>" for p in story.paragraphs]
        paras.insert(min(2, len(paras)), f"<script>{SCRIPT_MARK}('mid-article', {a.key});</script>")
        paras.insert(
            min(4, len(paras)),
            '<div class="embed"><iframe src="https://video.harbor-gazette.invalid/embed/'
            f'{a.key}" width="560" height="315" allowfullscreen></iframe></div>',
        )
        share = (
            '<div class="share-buttons">'
            f'<a href="https://share.invalid/x?u={a.key}" onclick="return share(this)">'
            f"{SHARE[1]}</a> <button onclick=\"share('fb')\">{SHARE[0]}</button> "
            f'<a href="mailto:?subject=story-{a.key}">{SHARE[2]}</a></div>'
        )
        related = "".join(
            f'<li><a href="{r.key}.html">{esc(r.title)}</a></li>' for r in self.related(a)
        )
        comments = "".join(
            f'<div class="comment"><p class="comment-author">{esc(n)}</p><p>{esc(t)}</p></div>'
            for n, t in self.comments(a)
        )
        pub = self.published(a)
        author = (
            f'<a href="{req.prefix}/authors/{a.serial % 6}" rel="author">{esc(a.author or "")}</a>'
        )
        figure = f"{self._img(req, a, a.title)}<figcaption>{esc(story.captions[0])}</figcaption>"
        main = f"""<article class="story">
<header class="story-header"><p class="kicker">{esc(a.categories[0])}</p>
<h1 class="headline">{esc(a.title)}</h1>
<p class="byline">By {author}</p>
<time class="published" datetime="{pub.isoformat()}">{_human(pub)}</time></header>
<figure class="lead-image">{figure}</figure>
<div class="story-body">
{chr(10).join(paras)}
{share}
</div>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul></aside>
<section id="comments" class="comments"><h2>Comments</h2>{comments}</section>
</article>"""
        head = (
            f'<link rel="canonical" href="{req.origin}{a.path}">'
            f'<meta property="og:image" content="{req.origin}/media/{a.key}-1280.jpg">'
        )
        return Rendered(
            self._chrome(req, a.title, main, head),
            kind="article",
            content_type=CONTENT_TYPE,
            encoding=CHARSET,
        )

    def _chrome(self, req: Request, title: str, main: str, head: str) -> str:
        # deliberately no <meta charset>: the charset is only in the HTTP header
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<title>{esc(title)} | Harbor Gazette</title>
{head}
<script>window.dataLayer = []; function {SCRIPT_MARK}(p, id) {{ dataLayer.push([p, id]); }}</script>
</head>
<body onload="{SCRIPT_MARK}('load', 0)">
<header class="site-header"><a class="logo" href="{req.prefix}/">Harbor Gazette</a>
<nav><a href="{req.prefix}/news/">News</a> <a href="{req.prefix}/news/harbour/">Harbour</a>
<a href="{req.prefix}/weather/">Weather</a> <a href="javascript:openSearch()">Search</a></nav>
</header>
<div class="ad-slot" id="top-ad">{AD}</div>
<main id="main">
{main}
</main>
<footer class="site-footer"><p>{esc(FOOTER)}</p></footer>
</body>
</html>
"""


def _human(dt: datetime) -> str:
    hour = dt.hour % 12 or 12
    half = "a.m." if dt.hour < 12 else "p.m."
    return f"{dt:%B} {dt.day}, {dt.year} at {hour}:{dt.minute:02d} {half}"
