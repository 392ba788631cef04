"""Generated article pages of two sizes, with their truth, for the extraction scenario.

``small`` pages are about 10 KB: a site header, the article, a short related list, a footer.
``large`` pages are about 90 KB with what real news pages carry: inline scripts in the head
and in the body (analytics, a JSON-LD block, an ad loader, a minified bundle), a style
block, a mega-menu, a sidebar of "most read" teasers with snippets, a newsletter box, a
"more from this section" teaser grid, comments and a long footer. Every boilerplate string
that must not reach a feed is listed in :attr:`BenchPage.must_not`; the body paragraphs are
the truth.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass

from feedbridge.samplesite.content import gazette_paragraphs, gazette_title, plain

SECTIONS = ("Harbour", "City Hall", "Business", "Arts", "Weather", "Schools", "Sport", "Opinion")


@dataclass(frozen=True)
class BenchPage:
    name: str
    url: str
    html: str
    title: str
    paragraphs: tuple[str, ...]
    must_not: tuple[str, ...]

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _paragraphs(seed: int, n: int) -> list[str]:
    """``n`` paragraphs of three to five sentences of the gazette's prose."""
    out: list[str] = []
    serial = seed * 101
    while len(out) < n:
        sentences = [plain(p) for p in gazette_paragraphs("bench", serial, 0)]
        serial += 1
        out.append(" ".join(sentences[: 3 + serial % 3]))
    return out


def _teasers(rng: random.Random, seed: int, n: int, label: str) -> tuple[str, list[str]]:
    """A list of teasers (title + snippet); returns the markup and its strings."""
    items, strings = [], []
    for k in range(n):
        title = f"{gazette_title('teaser', seed * 37 + k + len(label))} ({label} {k + 1})"
        snippet = f"{label} snippet {seed}-{k}: " + " ".join(
            rng.choice(("quay", "council", "ferry", "budget", "storm", "school", "market"))
            for _ in range(14)
        )
        items.append(
            f'<li class="teaser"><a href="/news/{seed}-{k}.html"><img src="/t/{k}.jpg" '
            f'alt=""><h3>{esc(title)}</h3></a><p class="snippet">{esc(snippet)}</p>'
            f'<span class="date">November {1 + k % 28}, 2026</span></li>'
        )
        strings += [title, snippet]
    return "".join(items), strings


def _script(rng: random.Random, size: int) -> str:
    """Minified-looking JavaScript of about ``size`` characters."""
    words = ("var", "function", "return", "this", "push", "window", "document", "track")
    parts, total = [], 0
    while total < size:
        name = "".join(rng.choice("abcdefghijklmnop") for _ in range(6))
        chunk = (
            f"{rng.choice(words)} {name}=function(e,t){{return e&&t?e[{rng.randint(0, 99)}]"
            f"+t.{name}:window.__ad_{name}||null}};"
        )
        parts.append(chunk)
        total += len(chunk)
    return "".join(parts)


def make_page(seed: int, large: bool) -> BenchPage:
    rng = random.Random(f"page-{seed}-{large}")
    title = gazette_title("bench-page", seed)
    paras = _paragraphs(seed, 16 if large else 12)
    section = SECTIONS[seed % len(SECTIONS)]
    caption = f"Photo {seed}: the north quay at dusk, seen from the ferry. Gazette staff"
    share = "Share this story on social media"
    must_not = [caption, share, "trackPageview", "Advertisement", "All rights reserved"]
    nav_items = "".join(f'<li><a href="/{s.lower()}/">{s}</a></li>' for s in SECTIONS)
    body_parts = [f"<p>{esc(p)}</p>" for p in paras]
    body_parts.insert(2, "<script>trackPageview('mid', 1);</script>")
    related_html, related = _teasers(rng, seed, 6, "Related")
    must_not += related
    scripts = f"<script>{_script(rng, 1500)}</script>"
    sidebar = footer_extra = comments = more = ""
    if large:
        mega = "".join(
            f'<div class="menu-col"><h4>{s}</h4><ul>'
            + "".join(f'<li><a href="/{s.lower()}/{k}">{s} topic {k}</a></li>' for k in range(8))
            + "</ul></div>"
            for s in SECTIONS
        )
        nav_items += f'<li class="mega">{mega}</li>'
        scripts = (
            f"<script>{_script(rng, 36000)}</script>"
            '<script type="application/ld+json">{"@context":"https://schema.org",'
            f'"@type":"NewsArticle","headline":{_json(title)}}}</script>'
            "<style>"
            + "".join(f".x{k}{{color:#{k:06x};padding:{k}px}}" for k in range(300))
            + "</style>"
        )
        body_parts.insert(6, f"<script>{_script(rng, 4000)}</script>")
        body_parts.insert(
            9, '<div class="ad-slot inline">Advertisement<script>loadAd("mid")</script></div>'
        )
        most_read, strings = _teasers(rng, seed + 1, 10, "Most read")
        must_not += strings
        more_html, strings = _teasers(rng, seed + 2, 12, "More from " + section)
        must_not += strings
        comment_texts = [
            f"Comment {seed}-{k}: the ferry was late again, {k} times." for k in range(8)
        ]
        must_not += comment_texts
        sidebar = (
            '<aside class="sidebar"><section class="most-read"><h2>Most read</h2><ol>'
            f"{most_read}</ol></section>"
            '<section class="newsletter"><h2>Get the Gazette in your inbox</h2>'
            '<form action="/subscribe"><input name="email"><button>Sign up</button></form>'
            '</section><div class="ad-slot">Advertisement</div></aside>'
        )
        more = f'<section class="more"><h2>More from {section}</h2><ul>{more_html}</ul></section>'
        comments = (
            '<section class="comments"><h2>Comments</h2>'
            + "".join(f'<div class="comment"><p>{esc(t)}</p></div>' for t in comment_texts)
            + "</section>"
        )
        footer_extra = "".join(
            '<ul class="footer-col">'
            + "".join(f"<li><a href=/f/{c}{k}>{s} {k}</a></li>" for k in range(10))
            + "</ul>"
            for c, s in enumerate(SECTIONS)
        )
        footer_extra += f"<script>{_script(rng, 12000)}</script>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{esc(title)} | Harbor Gazette</title>
<script>window.dataLayer=[];function trackPageview(p,i){{dataLayer.push([p,i])}}</script>
{scripts}
</head><body>
<header class="site-header"><a class="logo" href="/">Harbor Gazette</a>
<nav class="main-nav"><ul>{nav_items}</ul></nav></header>
<div class="ad-slot top">Advertisement</div>
<div class="layout"><main>
<article class="story">
<header><p class="kicker">{section}</p><h1 class="headline">{esc(title)}</h1>
<p class="byline">By Ada Quill</p>
<time class="published" datetime="2026-11-{1 + seed % 28:02d}T08:{seed % 60:02d}:00-05:00">
November {1 + seed % 28}, 2026</time></header>
<figure><img src="/media/{seed}.jpg" alt="quay"><figcaption>{esc(caption)}</figcaption></figure>
<div class="story-body">
{chr(10).join(body_parts)}
<div class="share-buttons"><a href="https://share.invalid/?u={seed}">{share}</a></div>
</div>
<aside class="related"><h2>Related stories</h2><ul>{related_html}</ul></aside>
{comments}
</article>
{more}
</main>
{sidebar}
</div>
<footer class="site-footer">{footer_extra}<p>© 2026 Harbor Gazette Ltd · All rights reserved</p>
</footer></body></html>
"""
    return BenchPage(
        name=f"{'large' if large else 'small'}-{seed}",
        url=f"http://gazette.invalid/news/story/{seed}.html",
        html=page,
        title=title,
        paragraphs=tuple(paras),
        must_not=tuple(must_not),
    )


def _json(text: str) -> str:
    import json

    return json.dumps(text)
