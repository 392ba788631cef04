# ruff: noqa: E501  (page templates keep one HTML line per source line, as a site sends it)
"""Generate the generic-extraction fixture pages: ``<case>.html`` + ``<case>.expected.json``.

Run ``python tests/data/generic/generate.py`` to rewrite them (the output is deterministic and
committed, so tests need not run this). Every page is synthetic: sentences are built from the
word lists below with a seeded random generator; nothing is copied from a real site.

Each case has a different *shape* (semantic HTML5, WordPress-like, table layout, div soup
with inline ads, a blog with a long comment thread, a Korean page, a listicle with lists and
a table) and its expected file says:

- ``body``: the true article text, one string per block (for text F1 in bench/extractors.py);
- ``must``: strings the extracted text must contain (start, middle and end of the body);
- ``must_not``: strings it must not contain (navigation, share buttons, comments, related
  teasers, ads, cookie banners, footers).
"""

from __future__ import annotations

import html
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

SUBJECTS = (
    "The harbour council",
    "A delegation of engineers",
    "The regional water board",
    "Volunteers from the old quarter",
    "The ferry operator",
    "A committee of teachers",
    "The weather service",
    "Local fishermen",
    "The provincial museum",
    "Researchers at the institute",
    "The rail authority",
    "A group of farmers",
    "The city library",
    "Dock workers",
    "The mayor's office",
    "A team of surveyors",
)
VERBS = (
    "announced plans to",
    "voted on Tuesday to",
    "agreed after long talks to",
    "promised residents it would",
    "has started to",
    "said it would soon",
    "was asked by the council to",
    "decided in a short meeting to",
    "hopes next spring to",
)
OBJECTS = (
    "repair the northern breakwater",
    "extend the night service to the islands",
    "open a second reading room",
    "replant the dunes south of the lighthouse",
    "measure salt levels in the estuary",
    "publish the survey of flooded cellars",
    "rebuild the footbridge over the canal",
    "lower fees for small boats",
    "train apprentices in timber framing",
    "restore the clock tower above the market",
    "map the eel grass beds in the bay",
    "move the fish auction to the new hall",
)
TAILS = (
    "before the autumn storms arrive",
    "despite objections from shop owners",
    "with money left over from last year",
    "once the tide tables are confirmed",
    "according to minutes seen by this paper",
    "after a petition signed by hundreds",
    "if the ministry approves the budget",
    "in time for the summer season",
    "while the old quay remains closed",
    "following complaints about the smell",
)
QUOTES = (
    "We have waited long enough for this",
    "Nobody here wants another winter like the last one",
    "The numbers simply do not add up yet",
    "It is a small step, but it is the right one",
    "Our members will watch every decision closely",
    "The sea does not wait for committees",
)
NAMES = ("Mira Holt", "Tomas Wend", "Ingrid Saal", "Piet Corran", "Lena Ostrov", "Arvo Kett")


def sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}."


def quote(rng: random.Random) -> str:
    return f"\u201c{rng.choice(QUOTES)},\u201d said {rng.choice(NAMES)}, who has lived by the harbour for {rng.randint(8, 60)} years."


def paragraph(rng: random.Random, n: int | None = None) -> str:
    parts = [sentence(rng) for _ in range(n or rng.randint(2, 4))]
    if rng.random() < 0.35:
        parts.insert(rng.randint(0, len(parts)), quote(rng))
    return " ".join(parts)


def teaser(rng: random.Random) -> str:
    """A related-article title; a distinct register so it never appears in a body by chance."""
    return (
        f"{rng.choice(('Opinion', 'Pictures', 'Explainer', 'Live', 'Analysis'))}: "
        f"{rng.choice(('Why', 'How', 'When'))} {rng.choice(NAMES).split()[0]} "
        f"{rng.choice(('lost the vote', 'changed the market', 'left the island', 'sold the boatyard'))}"
        f" (part {rng.randint(2, 9)})"
    )


def comment(rng: random.Random) -> str:
    who = rng.choice(("harbourfan", "old_salt", "k.marten", "quayside", "nettie88"))
    moods = ("Typical council, always late", "Finally some good news", "I walked there yesterday")
    return f"{who} wrote: {rng.choice(moods)} and the {rng.choice(('ferry', 'bridge', 'market'))} is still a mess #{rng.randint(100, 999)}"


@dataclass
class Case:
    name: str
    shape: str
    url: str
    title: str
    body: list[str]
    page: str = ""
    must_not: list[str] = field(default_factory=list)

    def expected(self) -> dict[str, object]:
        return {
            "url": self.url,
            "shape": self.shape,
            "title": self.title,
            "body": self.body,
            "must": [self.body[0][:80], self.body[len(self.body) // 2][:80], self.body[-1][-80:]],
            "must_not": self.must_not,
        }


def e(text: str) -> str:
    return html.escape(text, quote=True)


def paras(body: list[str]) -> str:
    return "\n".join(f"<p>{e(p)}</p>" for p in body)


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------


def semantic(rng: random.Random) -> Case:
    """HTML5 landmarks, a figure, a share bar, related teasers in <aside>, comments."""
    title = "Council backs repairs to the northern breakwater"
    body = [paragraph(rng) for _ in range(6)]
    teasers = [teaser(rng) for _ in range(4)]
    comments = [comment(rng) for _ in range(3)]
    c = Case(
        "semantic",
        "HTML5 article with aside, share bar and comments",
        "https://gazette.example/news/2026/11/breakwater.html",
        title,
        body,
    )
    c.must_not = [
        "Subscribe for 1 € a week",
        "Share on Mastodon",
        "Copy link",
        *teasers,
        *comments,
        "Harbor Gazette Ltd, all rights reserved",
        "Weather & Tides",
    ]
    c.page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)} | Harbor Gazette</title>
<script>window.dataLayer=[];function track(){{}}</script></head>
<body>
<header class="masthead"><a href="/" class="logo">Harbor Gazette</a>
<nav class="primary"><ul><li><a href="/news/">News</a></li><li><a href="/sport/">Sport</a></li>
<li><a href="/weather/">Weather &amp; Tides</a></li><li><a href="/subscribe/">Subscribe for 1 € a week</a></li></ul></nav></header>
<main>
<article>
<h1>{e(title)}</h1>
<p class="byline">By {e(rng.choice(NAMES))} · <time datetime="2026-11-19T08:00:00Z">19 November 2026</time></p>
<div class="share"><button>Share on Mastodon</button><button>Copy link</button></div>
{paras(body[:3])}
<figure><img src="/img/breakwater.jpg" alt="The breakwater at low tide"><figcaption>The breakwater at low tide.</figcaption></figure>
{paras(body[3:])}
</article>
<aside class="related"><h2>Read more</h2><ul>
{"".join(f'<li><a href="/news/{i}.html">{e(t)}</a></li>' for i, t in enumerate(teasers))}
</ul></aside>
<section id="comments"><h2>3 comments</h2>
{"".join(f'<div class="comment"><p>{e(t)}</p></div>' for t in comments)}
</section>
</main>
<footer><p>Harbor Gazette Ltd, all rights reserved</p></footer>
</body></html>
"""
    return c


def wordpress(rng: random.Random) -> Case:
    """Shaped like kcnawatch.org: decoy header date, Date/Source line, div.article-content with
    a dateline and ``-0-``, then a "More From" block of teasers and a comment form."""
    title = "Delegation of engineers visits the estuary works"
    body = [f"Pyongyang, November 18 (KCNA) -- {paragraph(rng)}"] + [
        paragraph(rng) for _ in range(4)
    ]
    teasers = [teaser(rng) for _ in range(3)]
    snippets = [f"{sentence(rng)[:60]}…" for _ in range(3)]
    c = Case(
        "wordpress",
        "WordPress single post with teaser block and widgets",
        "https://watch.example/newstream/1763450000-123456789/delegation-visits/",
        title,
        body,
    )
    c.must_not = [
        "November 20, 2026Nov 20, 2026",
        "Read original version at source",
        *teasers,
        "Popular this week",
        "Leave a Reply",
        "Post Comment",
        "Newsletter sign-up",
    ]
    c.page = f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8"><title>{e(title)} &#8211; Watch Newstream</title>
<link rel="stylesheet" href="/wp-content/themes/x/style.css"></head>
<body class="post-template-default single single-post">
<div id="page" class="site">
<header class="site-header"><div class="header-date">November 20, 2026Nov 20, 2026</div>
<nav class="main-navigation"><ul class="menu"><li><a href="/newstream/">Newstream</a></li><li><a href="/kcna/">KCNA</a></li><li><a href="/rodong/">Rodong Sinmun</a></li></ul></nav></header>
<div id="content" class="site-content"><div class="container"><div class="row">
<div class="col-md-8"><div class="article-main">
<span class="article-cat">KCNA.kp (En)</span>
<h1 class="entry-title">{e(title)}</h1>
<p class="article-meta">Date: 18/11/2026 | Source: KCNA.kp (En) | <a href="http://kcna.example/">Read original version at source</a></p>
<div class="article-content">
{paras(body)}
<p>-0-</p>
<p>www.kcna.kp (2026.11.18.)</p>
</div>
<div class="more-from"><h3>More From KCNA.kp (En)</h3>
{"".join(f'<div class="article-desc"><h4><a href="/newstream/{i}/">{e(t)}</a></h4><p>{e(s)}</p><span>November {10 + i}, 2026</span></div>' for i, (t, s) in enumerate(zip(teasers, snippets, strict=True)))}
</div>
<div id="respond" class="comment-respond"><h3>Leave a Reply</h3><form><textarea name="comment"></textarea><input type="submit" value="Post Comment"></form></div>
</div></div>
<div class="col-md-4 sidebar"><section class="widget"><h2 class="widget-title">Popular this week</h2><ul><li><a href="/p/1">{e(teaser(rng))}</a></li></ul></section>
<section class="widget"><h2>Newsletter sign-up</h2><form><input type="email"></form></section></div>
</div></div></div>
<footer class="site-footer"><p>Copyright Watch Newstream 2026</p></footer>
</div></body></html>
"""
    c.must_not.append("Copyright Watch Newstream 2026")
    return c


def table_layout(rng: random.Random) -> Case:
    """A 2000s page: layout tables, <font>, paragraphs separated by <br><br>, no <p>."""
    title = "Ferry timetable to change after the winter storms"
    body = [paragraph(rng, 3) for _ in range(5)]
    c = Case(
        "table_layout",
        "layout tables, <font>, <br><br> paragraphs",
        "http://ferry.example/news.php?id=4411",
        title,
        body,
    )
    c.must_not = [
        "Home | Timetables | Fares | Contact",
        "Visitors online: 42",
        "Best viewed with any browser",
        "Print this page",
        "Back to top",
    ]
    joined = "<br><br>\n".join(e(p) for p in body)
    c.page = f"""<html><head><title>Island Ferries - News</title></head>
<body bgcolor="#ffffff">
<table width="100%" border="0" cellpadding="4"><tr><td colspan="2" bgcolor="#003366"><font color="#ffffff" size="5">Island Ferries</font><br>
<font size="2" color="#ffffff">Home | Timetables | Fares | Contact</font></td></tr>
<tr><td width="160" valign="top"><font size="2"><a href="/">Home</a><br><a href="/t.php">Timetables</a><br><a href="/f.php">Fares</a><br><br>Visitors online: 42</font></td>
<td valign="top"><font face="Verdana" size="2"><b><font size="4">{e(title)}</font></b><br><br>
{joined}
<br><br><a href="javascript:print()">Print this page</a> | <a href="#top">Back to top</a></font></td></tr>
<tr><td colspan="2" align="center"><font size="1">Best viewed with any browser</font></td></tr></table>
</body></html>
"""
    return c


def div_soup(rng: random.Random) -> Case:
    """No semantic tags; ads and "Read more" teasers inside the story; a cookie banner."""
    title = "Survey of flooded cellars published at last"
    body = [paragraph(rng) for _ in range(7)]
    teasers = [teaser(rng) for _ in range(3)]
    c = Case(
        "div_soup",
        "div soup with inline ads, inline related links and a cookie banner",
        "https://coast.example/story/flooded-cellars",
        title,
        body,
    )
    c.must_not = [
        "We use cookies to improve your experience",
        "Accept all cookies",
        "ADVERTISEMENT",
        "Best deals on rain boots this week",
        *teasers,
        "Trending now",
        "Get the morning briefing in your inbox",
    ]
    ad = '<div class="ad-slot"><span>ADVERTISEMENT</span><a href="https://ads.example/c?id=1">Best deals on rain boots this week</a></div>'
    inner = []
    for i, p in enumerate(body):
        inner.append(f'<div class="txt">{e(p)}</div>')
        if i == 1:
            inner.append(ad)
        if i in (3, 5):
            t = teasers[(i - 3) // 2]
            inner.append(
                f'<div class="inline-related"><b>Read more:</b> <a href="/story/{i}">{e(t)}</a></div>'
            )
    c.page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)}</title></head>
<body><div id="cookie-banner" class="cookie">We use cookies to improve your experience. <button>Accept all cookies</button></div>
<div class="top"><div class="logo">Coast Daily</div><div class="menu"><a href="/">Front</a> <a href="/local">Local</a> <a href="/sea">Sea</a></div></div>
<div class="wrap"><div class="left">
<div class="headline">{e(title)}</div>
<div class="meta">Coast Daily staff, 17 Nov 2026</div>
<div id="story-body">
{chr(10).join(inner)}
</div>
<div class="newsletter">Get the morning briefing in your inbox <input type="email"></div>
</div>
<div class="right"><div class="box"><div class="box-title">Trending now</div>
<div><a href="/story/x">{e(teasers[2])}</a></div></div>{ad.replace("1", "2")}</div></div>
<div class="bottom">Coast Daily · Imprint · Privacy</div>
</body></html>
"""
    c.must_not.append("Coast Daily · Imprint · Privacy")
    return c


def blog_comments(rng: random.Random) -> Case:
    """A personal blog post followed by a long comment thread (longer than the post)."""
    title = "Notes from a week on the eel grass survey"
    body = [paragraph(rng, 2) for _ in range(4)]
    comments = [comment(rng) + " " + sentence(rng) for _ in range(10)]
    c = Case(
        "blog_comments",
        "blog post with a comment thread longer than the post",
        "https://tidewriter.example/2026/11/eel-grass-notes/",
        title,
        body,
    )
    c.must_not = [
        *(x[:60] for x in comments),
        "Reply",
        "Older posts",
        "Tags: survey, bay",
        "Powered by a static site generator",
    ]
    thread = "\n".join(
        f'<li class="comment"><div class="comment-author">{e(x.split(" wrote:")[0])}</div>'
        f'<div class="comment-body"><p>{e(x)}</p></div><a class="reply" href="#">Reply</a></li>'
        for x in comments
    )
    c.page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)} — Tidewriter</title></head>
<body><div class="blog-header"><h2><a href="/">Tidewriter</a></h2><p>notes from the shore</p></div>
<div class="post"><h1 class="post-title">{e(title)}</h1><div class="post-date">14 November 2026</div>
<div class="post-body">{paras(body)}</div>
<div class="post-tags">Tags: survey, bay</div></div>
<div class="comments"><h3>{len(comments)} Responses</h3><ol class="commentlist">{thread}</ol></div>
<div class="nav-links"><a href="/page/2">Older posts</a></div>
<div class="credits">Powered by a static site generator</div>
</body></html>
"""
    return c


KO_SUBJECTS = (
    "항만 위원회는",
    "지역 수도국은",
    "섬 주민들은",
    "해양 연구소는",
    "철도청은",
    "시립 도서관은",
)
KO_OBJECTS = (
    "북쪽 방파제를 보수하기로",
    "야간 여객선 운항을 늘리기로",
    "새 열람실을 열기로",
    "하구의 염분을 측정하기로",
    "낡은 다리를 다시 짓기로",
    "어시장을 새 건물로 옮기기로",
)
KO_TAILS = ("결정했다고 밝혔다.", "합의했다고 전했다.", "계획을 발표했다.", "주민들에게 약속했다.")


def korean(rng: random.Random) -> Case:
    """A Korean-language page (non-Latin text, percent-encoded slug), menus in Korean."""
    title = "항만 위원회, 방파제 보수 계획 발표"

    def ko_para() -> str:
        return " ".join(
            f"{rng.choice(KO_SUBJECTS)} 올해 {rng.randint(2, 11)}월 회의에서 {rng.choice(KO_OBJECTS)} {rng.choice(KO_TAILS)}"
            for _ in range(rng.randint(2, 4))
        )

    body = [ko_para() for _ in range(5)]
    c = Case(
        "korean",
        "Korean-language article",
        "https://news.example.kr/article/%ED%95%AD%EB%A7%8C-%EC%9C%84%EC%9B%90%ED%9A%8C",
        title,
        body,
    )
    c.must_not = [
        "전체 메뉴 보기",
        "많이 본 뉴스",
        "이 기사를 공유하기",
        "무단 전재 및 재배포 금지",
        "관련 기사: 어시장 이전 논란 계속",
    ]
    c.page = f"""<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>{e(title)} - 바다신문</title></head>
<body><header><nav><a href="/">홈</a> <a href="/politics">정치</a> <a href="/society">사회</a> <button>전체 메뉴 보기</button></nav></header>
<div id="container"><div class="article-view">
<h1 class="headline">{e(title)}</h1><div class="info">입력 2026.11.16 09:30</div>
<div class="share-box"><a href="#">이 기사를 공유하기</a></div>
<div id="article-body" itemprop="articleBody">{paras(body)}</div>
<div class="relation"><a href="/a/2">관련 기사: 어시장 이전 논란 계속</a></div>
<p class="copyright">무단 전재 및 재배포 금지</p>
</div>
<div class="aside"><h3>많이 본 뉴스</h3><ol><li><a href="/a/3">{e(rng.choice(KO_SUBJECTS))} 회의 연기</a></li></ol></div></div>
</body></html>
"""
    return c


def listicle(rng: random.Random) -> Case:
    """Subheads, a list, a blockquote and a data table inside the body; a "You may also like"
    grid and a newsletter box after it."""
    title = "Five things to know about the new fish hall"
    intro = paragraph(rng)
    items = [sentence(rng) for _ in range(4)]
    q = quote(rng)
    outro = paragraph(rng)
    rows = [("Opening", "March 2027"), ("Stalls", "48"), ("Cost", "3.2 million")]
    body = [
        intro,
        "What changes for sellers",
        *items,
        q,
        "The numbers",
        *(f"{a} {b}" for a, b in rows),
        outro,
    ]
    teasers = [teaser(rng) for _ in range(4)]
    c = Case(
        "listicle",
        "subheads, list, blockquote and table in the body; teaser grid",
        "https://portnews.example/explainers/fish-hall",
        title,
        body,
    )
    c.must_not = [*teasers, "You may also like", "Sign up for Port Weekly", "Most read"]
    table = "".join(f"<tr><th>{e(a)}</th><td>{e(b)}</td></tr>" for a, b in rows)
    c.page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(title)}</title></head>
<body><nav class="topbar"><a href="/">Port News</a> <a href="/explainers">Explainers</a> <a href="/most-read">Most read</a></nav>
<article class="explainer"><header><h1>{e(title)}</h1></header>
<section class="content">
<p>{e(intro)}</p>
<h2>What changes for sellers</h2>
<ul>{"".join(f"<li>{e(i)}</li>" for i in items)}</ul>
<blockquote><p>{e(q)}</p></blockquote>
<h2>The numbers</h2>
<table class="facts">{table}</table>
<p>{e(outro)}</p>
</section></article>
<section class="more"><h2>You may also like</h2><div class="grid">
{"".join(f'<div class="card"><a href="/e/{i}"><img src="/t/{i}.jpg" alt=""><h3>{e(t)}</h3></a></div>' for i, t in enumerate(teasers))}
</div></section>
<div class="newsletter"><p>Sign up for Port Weekly</p><form><input type="email"></form></div>
</body></html>
"""
    return c


SHAPES: tuple[Callable[[random.Random], Case], ...] = (
    semantic,
    wordpress,
    table_layout,
    div_soup,
    blog_comments,
    korean,
    listicle,
)


def build() -> list[Case]:
    return [shape(random.Random(f"generic-fixture/{shape.__name__}")) for shape in SHAPES]


def main() -> None:
    for case in build():
        (HERE / f"{case.name}.html").write_text(case.page, encoding="utf-8")
        (HERE / f"{case.name}.expected.json").write_text(
            json.dumps(case.expected(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(case.name)


if __name__ == "__main__":
    main()
