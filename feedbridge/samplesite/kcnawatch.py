"""A kcnawatch.org look-alike: a WordPress-style aggregator of DPRK state media.

- Listing ``/newstream/`` (and ``/newstream/page/N/`` or ``?page=N``), 10 items a page:
  ``div.article-desc`` with ``h4 a`` and ``<p><span>April 29, 2025</span></p>``; some links
  lack the trailing slash (the server answers 301 to the canonical URL, as WordPress does); a
  Korean slug is percent-encoded.
- Article page in reading order: a decoy site-header date, the source label, the ``h1`` title,
  ``Date: 29/04/2025 | Source: KCNA.kp (En) | Read original version at source``, then
  ``div.article-content`` (dateline … ``-0-``, then ``www.kcna.kp (2025.04.29.)`` for KCNA
  items), then a ``div.more-from`` teaser block — outside the content normally, INSIDE it on
  the "teasers-inside" variant (every fifth article), so a config must remove it.
- ``/wp-admin/admin-ajax.php?action=get_cat_by_source&from=0&to=10&id=N``: the "load more"
  fragment, per source (``SOURCE_IDS``; 0 = all).
- ``/newstream/feed/``: RSS 2.0, DELIBERATELY MALFORMED (one unquoted attribute) like the
  real feed, so feed sources must parse leniently. The response says so in a header.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from urllib.parse import quote, unquote

from feedbridge.samplesite.content import (
    kcna_paragraphs,
    kcna_title,
    month_day,
    pick_unique,
    plain,
    seeded,
    truncate_words,
)
from feedbridge.samplesite.kcna import render_para
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
    html_response,
)

PER_PAGE = 10
SOURCES = (
    ("KCNA.kp (En)", "http://www.kcna.kp/en/article/detail/{h}", 5),
    (
        "Rodong Sinmun (En)",
        "http://www.rodong.rep.kp/en/index.php?strPageID=SF01_02_01&newsID={h}",
        2,
    ),
    ("Pyongyang Times", "http://www.pyongyangtimes.com.kp/?bbs=article&no={n}", 2),
    ("Voice of Korea", "http://www.vok.rep.kp/index.php/detail/{h}", 1),
)
#: ids of the AJAX listing ``/wp-admin/admin-ajax.php?action=get_cat_by_source&id=N``
SOURCE_IDS = {1: "KCNA.kp (En)", 2: "Rodong Sinmun (En)", 3: "Pyongyang Times", 4: "Voice of Korea"}
KOREAN_A = ("조선중앙통신", "로동신문", "평양방송", "민주조선")
KOREAN_B = ("보도", "론평", "사설", "소식", "기사")
_ARTICLE_RE = re.compile(r"^/newstream/(\d{10}-\d{9})(?:/([^/]*))?(/?)$")
_LIST_RE = re.compile(r"^/newstream/(?:page/(\d+)/?)?$")
FOOTER = "© 2026 KCNA Watch. All rights reserved. Sign up for the daily digest."
MALFORMED_NOTE = "SAMPLESITE: deliberately malformed RSS (unquoted attribute), like the real feed"


def long_date(d: date) -> str:
    """``April 29, 2025`` (WordPress ``F d, Y``: day zero-padded)."""
    return d.strftime("%B %d, %Y")


def slugify(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", " ", title.lower()).split()
    slug = ""
    for w in words:
        if len(slug) + len(w) + 1 > 70:
            break
        slug = f"{slug}-{w}" if slug else w
    return slug


class KcnaWatchSite(Site):
    """kcnawatch.org's newstream. Dates are shown as dates only (read in Asia/Pyongyang)."""

    name = "kcnawatch"
    timezone = "Asia/Pyongyang"
    canonical_origin = "https://kcnawatch.org"
    per_day = 10

    # -- content ------------------------------------------------------------------------------

    def make_key(self, serial: int) -> str:
        rng = seeded("kcnawatch-key", self.seed, serial)
        return (
            f"{1_650_000_000 + serial * 4_099 + rng.randrange(4_000)}-{rng.randrange(10**8, 10**9)}"
        )

    def describe(self, article: SampleArticle) -> Info:
        rng = seeded("kcnawatch-info", self.seed, article.serial)
        title, topic, subject = kcna_title(("kcnawatch", self.seed), article.serial)
        weights = [w for _, _, w in SOURCES]
        source, link, _ = rng.choices(SOURCES, weights)[0]
        slug = slugify(title)
        flags = set()
        if article.serial % 50 == 3:
            a, b, cyc = pick_unique(article.serial // 50, (self.seed, "ko"), (KOREAN_A, KOREAN_B))
            title, source, flags = f"{a} {b}{cyc}", "Rodong Sinmun (Ko)", {"korean"}
            slug = f"{a}-{b}" + (f"-{article.serial}" if cyc else "")
        if article.serial % 5 == 2:
            flags.add("teasers-inside")
        if article.serial % 4 == 1:
            flags.add("no-slash")
        original = link.format(
            h=self.make_key(article.serial).replace("-", ""), n=article.serial + 1000
        )
        extra = {"source": source, "slug": slug, "subject": subject, "original": original}
        return Info(title, topic, (source,), None, frozenset(flags), extra)

    def compose(self, article: SampleArticle) -> Story:
        info = article.info
        paras = kcna_paragraphs(
            ("kcnawatch", self.seed),
            article.serial,
            article.revision,
            info.topic,
            info.extra["subject"],
        )
        if self.is_kcna(article):
            paras[0] = (("t", f"Pyongyang, {month_day(article.day)} (KCNA) -- "),) + paras[0]
        summary = truncate_words(plain(paras[0]), 140) + " […]"
        return Story(tuple(paras), summary=summary)

    def is_kcna(self, article: SampleArticle) -> bool:
        return article.info.extra["source"] == "KCNA.kp (En)"

    def article_path(self, article: SampleArticle) -> str:
        return f"/newstream/{article.key}/{quote(article.info.extra['slug']).lower()}/"

    def listing_href(self, article: SampleArticle) -> str:
        path = self.article_path(article)
        return path.rstrip("/") if "no-slash" in article.info.flags else path

    def decoy_date(self, article: SampleArticle) -> date:
        """The site-header date shown on every page: never the article's date."""
        d = date(self.today.year, 1, 4)
        return d + timedelta(days=1) if d == article.day else d

    def carried_line(self, article: SampleArticle) -> str:
        d = article.day
        return f"www.kcna.kp ({d.year}.{d.month:02d}.{d.day:02d}.)"

    def teasers(self, article: SampleArticle) -> list[tuple[SampleArticle, str]]:
        """Up to six other articles of the same source, with their truncated snippets; none
        whose title or snippet happens to occur in this article's text."""
        source = article.info.extra["source"]
        others = [a for a in self.articles if a.key != article.key]
        same = [a for a in others if a.info.extra["source"] == source] or others
        text = article.text
        out = []
        for a in same[:12]:
            snippet = truncate_words(plain(a.story.paragraphs[0]), 100)
            if snippet not in text and a.title not in text:
                out.append((a, snippet))
            if len(out) == 6:
                break
        return out

    def must_not(self, article: SampleArticle) -> tuple[str, ...]:
        decoy = self.decoy_date(article)
        found: list[str] = [
            f"More From {article.info.extra['source']}",
            "Read original version at source",
            long_date(decoy),
            decoy.strftime("%b %d, %Y"),
            "-0-",
            self.carried_line(article),
            FOOTER,
        ]
        for a, snippet in self.teasers(article):
            found += [a.title, snippet]
        return tuple(found)

    def listing_urls(self, origin: str) -> list[str]:
        return [f"{origin.rstrip('/')}/newstream/"]

    def listing_page(self, page: int) -> list[SampleArticle]:
        """The truth of one listing page."""
        return self.listed()[(page - 1) * PER_PAGE : page * PER_PAGE]

    # -- HTTP ---------------------------------------------------------------------------------

    def classify(self, path: str) -> PathKind:
        if _LIST_RE.match(path) or path.startswith(("/newstream/feed", "/wp-admin/admin-ajax")):
            return "listing"
        if _ARTICLE_RE.match(path):
            return "article"
        return "other"

    def route(self, req: Request) -> Rendered | Response:
        if req.method not in ("GET", "HEAD"):
            return Response(405, b"", (("Allow", "GET, HEAD"),))
        path = req.path
        if path in ("/newstream/feed/", "/newstream/feed"):
            return self._feed(req)
        if m := _LIST_RE.match(path):
            page = int(m.group(1) or req.params.get("page", "1") or 1)
            return self._listing(req, page)
        if m := _ARTICLE_RE.match(path):
            article = self.article(m.group(1))
            if article is None:
                return NOT_FOUND
            canonical = self.article_path(article)
            if unquote(path) != unquote(canonical):
                return html_response(301, "", (("Location", req.origin + canonical),))
            return self._article(req, article)
        if path == "/wp-admin/admin-ajax.php" and req.params.get("action") == "get_cat_by_source":
            return self._ajax(req)
        if path == "/":
            return html_response(302, "", (("Location", f"{req.origin}/newstream/"),))
        return NOT_FOUND

    def _rows(self, req: Request, items: list[SampleArticle]) -> str:
        cls = "post-summary" if self.listing_markup_changed else "article-desc"
        return "\n".join(
            f'<div class="{cls}"><h4><a href="{req.prefix}{a.listing_href}">{esc(a.title)}</a>'
            f"</h4><p><span>{long_date(a.day)}</span></p>"
            f'<p class="source-label">{esc(a.info.extra["source"])}</p>'
            f'<p class="excerpt">{esc(a.summary)}</p></div>'
            for a in items
        )

    def by_source(self, source_id: int) -> list[SampleArticle]:
        """Listed articles of one source (``SOURCE_IDS``; 0 = all), newest first."""
        name = SOURCE_IDS.get(source_id)
        items = self.listed()
        return items if name is None else [a for a in items if a.info.extra["source"] == name]

    def _ajax(self, req: Request) -> Rendered:
        """The "load more" endpoint: an HTML fragment of items ``from``..``to``."""
        p = req.params
        start, stop = int(p.get("from", "0") or 0), int(p.get("to", "10") or 10)
        items = self.by_source(int(p.get("id", "0") or 0))[max(start, 0) : max(stop, 0)]
        return Rendered(self._rows(req, items), kind="listing")

    def _listing(self, req: Request, page: int) -> Rendered | Response:
        items = self.listing_page(page) if page >= 1 else []
        if not items and page != 1:
            return NOT_FOUND
        rows = self._rows(req, items)
        more = len(self.listed()) > page * PER_PAGE
        nxt = f"{req.prefix}/newstream/page/{page + 1}/"
        head = f'<link rel="next" href="{req.origin}/newstream/page/{page + 1}/">' if more else ""
        pager = (
            f'<a class="next page-numbers" href="{nxt}">Next &raquo;</a>'
            f'<button class="load-more" data-page="{page + 1}">Load more</button>'
            if more
            else ""
        )
        main = f"""<h1 class="page-title">Newstream</h1>
<div class="newstream-list">
{rows}
</div>
<nav class="pagination">{pager}</nav>"""
        return Rendered(self._chrome(req, "Newstream", main, self.today, head), kind="listing")

    def _article(self, req: Request, a: SampleArticle) -> Rendered:
        info, source = a.info, a.info.extra["source"]
        paras = [render_para(p) for p in a.story.paragraphs]
        if self.is_kcna(a):
            paras[-1] += " -0-"
            paras.append(esc(self.carried_line(a)))
        teasers = "\n".join(
            f'<li class="teaser"><h4><a href="{req.prefix}{t.path}">{esc(t.title)}</a></h4>'
            f'<p class="teaser-snippet">{esc(snippet)}</p>'
            f'<span class="teaser-date">{long_date(t.day)}</span></li>'
            for t, snippet in self.teasers(a)
        )
        more = (
            f'<div class="more-from"><h3>More From {esc(source)}</h3>'
            f'<ul class="teasers">{teasers}</ul><a href="{req.prefix}/newstream/">'
            "More Articles</a></div>"
        )
        inside = "teasers-inside" in info.flags
        body = "\n".join(f"<p>{p}</p>" for p in paras) + ("\n" + more if inside else "")
        d, link = a.day, esc(info.extra["original"])
        meta = (
            f"Date: {d.day:02d}/{d.month:02d}/{d.year} | Source: {esc(source)} | "
            f'<a href="{link}" target="_blank" rel="nofollow">Read original version at source</a>'
        )
        main = f"""<div class="article-header">
<div class="article-source-label"><a href="{req.prefix}/newstream/">{esc(source)}</a></div>
<h1 class="entry-title">{esc(a.title)}</h1>
<p class="article-meta">{meta}</p>
</div>
<div class="article-content">
{body}
</div>
<div class="sharedaddy"><h3>Share this:</h3><a href="#" class="share-twitter">Twitter</a></div>
{"" if inside else more}"""
        head = f'<link rel="canonical" href="{req.origin}{a.path}">'
        return Rendered(self._chrome(req, a.title, main, self.decoy_date(a), head), kind="article")

    def _chrome(self, req: Request, title: str, main: str, shown: date, head: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<title>{esc(title)} | KCNA Watch</title>
{head}
<script>window._wpemojiSettings = {{"source": "{req.prefix}/wp-includes/js/wp-emoji.js"}};</script>
</head>
<body class="wp-site">
<header id="masthead">
<div class="site-date"><span class="date-long">{long_date(shown)}</span>\
<span class="date-short">{shown.strftime("%b %d, %Y")}</span></div>
<div class="site-branding"><a href="{req.prefix}/">KCNA Watch</a></div>
<nav class="main-navigation"><ul><li><a href="{req.prefix}/newstream/">Newstream</a></li>
<li><a href="{req.prefix}/calendar/">Calendar</a></li>
<li><a href="{req.prefix}/free-member-form/">Sign up</a></li></ul></nav>
</header>
<div id="content" class="site-content"><div class="container">
{main}
</div></div>
<footer class="site-footer"><p>{esc(FOOTER)}</p></footer>
</body>
</html>
"""

    def _feed(self, req: Request) -> Rendered:
        items = []
        for a in self.listed()[:PER_PAGE]:
            pub = format_datetime(datetime.combine(a.day, time(12), UTC))
            items.append(f"""<item>
<title>{esc(a.title)}</title>
<link>{esc(req.origin + a.path)}</link>
<guid isPermaLink="false">{esc(req.origin)}/?p={a.serial + 1000}</guid>
<pubDate>{pub}</pubDate>
<category><![CDATA[{a.info.extra["source"]}]]></category>
<description><![CDATA[{a.summary}]]></description>
</item>""")
        xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {MALFORMED_NOTE} -->
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>KCNA Watch Newstream</title>
<atom:link href={req.origin}/newstream/feed/ rel="self" type="application/rss+xml" />
<link>{esc(req.origin)}/newstream/</link>
<description>DPRK state media, republished</description>
<language>en-US</language>
{chr(10).join(items)}
</channel>
</rss>
"""
        return Rendered(
            xml,
            kind="listing",
            content_type="application/rss+xml; charset=UTF-8",
            headers=(("X-Samplesite-Malformed", "unquoted-attribute"),),
        )
