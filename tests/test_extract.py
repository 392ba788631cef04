"""Pure stages on small hand-made pages: listing items and article extraction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedbridge.errors import ExtractError
from feedbridge.extract import extract_article
from feedbridge.listing import parse_listing, template_urls
from feedbridge.model import ArticleSpec, ListingSpec, Pagination, Rule, Selector

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def css(expr: str, **kw: object) -> Rule:
    return Rule(selector=Selector("css", expr), **kw)  # type: ignore[arg-type]


KCNA_LIST = """<html><body><div class="list">
<div class="article"><h5 class="block"><a href="/en/article/detail/aaa">First &amp; best</a></h5>
 <span><nobr>[2026.7.19.]</nobr><nobr>Photo</nobr></span></div>
<div class="article"><h5 class="block"><a href="/en/article/detail/bbb">Second</a></h5>
 <span><nobr>[2026.7.9.]</nobr></span></div>
<div class="article"><h5 class="block"><a href="/en/article/detail/aaa">First &amp; best</a></h5>
 <span><nobr>[2026.7.19.]</nobr></span></div>
</div><form id="article_form" method="POST" action="">
<input type="hidden" name="_csrf" value="tok"><input type="hidden" name="page_num" value="1">
<input type="hidden" name="cnt_per_page" value="15"><input type="hidden" name="keyword" value="">
<input type="submit" value="go"></form></body></html>"""

KCNA_SPEC = ListingSpec(
    urls=("http://www.kcna.kp/en/article/list/x",),
    items=Selector("css", "div.article"),
    fields={
        "title": css("h5.block a"),
        "link": css("h5.block a"),
        "date": css("span", regex=r"(\d{4}\.\d{1,2}\.\d{1,2})", formats=("%Y.%m.%d",)),
    },
    pagination=Pagination(
        kind="form_post", max_pages=3, form_selector=Selector("css", "form#article_form")
    ),
)


def test_listing_items_links_dates_and_dedupe() -> None:
    r = parse_listing(
        KCNA_LIST, "http://www.kcna.kp/en/article/list/x", KCNA_SPEC, "Asia/Pyongyang", NOW
    )
    assert r.matched == 3
    assert [i.url for i in r.items] == [
        "http://www.kcna.kp/en/article/detail/aaa",
        "http://www.kcna.kp/en/article/detail/bbb",
    ]
    assert r.items[0].title == "First & best"
    assert r.items[0].published == datetime(2026, 7, 19, 3, tzinfo=UTC)
    assert r.coverage == {"title": 3, "link": 3, "date": 3}
    assert r.form is not None
    assert r.form.action == "http://www.kcna.kp/en/article/list/x"
    assert r.form.fields == {"_csrf": "tok", "page_num": "1", "cnt_per_page": "15", "keyword": ""}


def test_listing_with_nothing_matching_reports_zero() -> None:
    r = parse_listing(
        "<html><body><p>redesigned</p></body></html>", "http://x/", KCNA_SPEC, "UTC", NOW
    )
    assert r.matched == 0 and r.items == ()


@pytest.mark.parametrize(
    "broken",
    ["", "<html><body><div class='article'><h5 class='block'><a href='/x'>T", "\x00\x01<<<>>"],
)
def test_listing_survives_broken_html(broken: str) -> None:
    r = parse_listing(broken, "http://x/", KCNA_SPEC, "UTC", NOW)
    assert all(i.url.startswith("http://x/") for i in r.items)


def test_rel_next_and_template_pagination() -> None:
    spec = ListingSpec(
        urls=("http://x/news/",),
        items=Selector("css", "li"),
        fields={"link": css("a")},
        pagination=Pagination(kind="rel_next", max_pages=2),
    )
    page = '<html><head><link rel="next" href="?page=2"></head><body><ul><li><a href="a">a</a></li></ul></body></html>'
    r = parse_listing(page, "http://x/news/", spec, "UTC", NOW)
    assert r.next_url == "http://x/news/?page=2"
    assert r.items[0].url == "http://x/news/a"
    tpl = Pagination(
        kind="template",
        max_pages=4,
        url_template="http://x/news?offset={offset}",
        start=20,
        step=20,
    )
    assert template_urls(tpl) == [
        "http://x/news?offset=20",
        "http://x/news?offset=40",
        "http://x/news?offset=60",
    ]


KCNA_ARTICLE = """<html><head><title>KCNA | Title here</title></head><body><nav>Home News</nav>
<main><article><div class="container"><h1 class="text-center title">Title here</h1>
<p>Pyongyang, November 10 (KCNA) -- General Secretary <nobr><span class='fSpecCs'>Kim Jong Un</span></nobr> inspected a farm.</p>
<p>Second paragraph with <a href="/en/x">a link</a>.</p>
<div class="photo"><img data-src="/photo/abc" src="/img/blank.gif"><p>A caption that is not body</p></div>
<p>Last words. -0-</p>
<p>-0-</p>
<a href="/en/gallery/detail/123">Photo set</a>
</div></article></main><script>var x=1;</script></body></html>"""

KCNA_ARTICLE_SPEC = ArticleSpec(
    title=css("main article .container h1"),
    date=css(
        "main article .container > p",
        regex=r"^\s*Pyongyang,?\s+([A-Z][a-z]+\s+\d{1,2})\s*\(KCNA\)",
        formats=("%B %d",),
    ),
    body=css("main article .container > p", take="html"),
    strip=(r"\s*-0-\s*$",),
)


def test_article_body_is_direct_paragraphs_without_captions_or_end_marker() -> None:
    a = extract_article(
        KCNA_ARTICLE,
        "http://www.kcna.kp/en/article/detail/aaa",
        KCNA_ARTICLE_SPEC,
        "Asia/Pyongyang",
        NOW,
    )
    assert a.title == "Title here"
    body = a.content_html or ""
    assert "General Secretary <nobr>" not in body  # nobr is not in the allowlist, text stays
    assert "General Secretary Kim Jong Un inspected" in body.replace("<span>", "").replace(
        "</span>", ""
    )
    assert "caption" not in body
    assert "-0-" not in body
    assert "Last words." in body
    assert 'href="http://www.kcna.kp/en/x"' in body
    assert body.count("<p>") == 3
    assert a.published is not None and a.published.date().isoformat() == "2026-11-10"


def test_article_text_rule_keeps_spaces_around_inline_elements() -> None:
    spec = ArticleSpec(title=css("main article .container > p"))
    a = extract_article(KCNA_ARTICLE, "http://x/", spec, "UTC", NOW)
    assert a.title is not None and "General Secretary Kim Jong Un inspected" in a.title


def test_lazy_images_relative_links_and_active_content() -> None:
    page = """<html><body><div class="story"><p onclick="evil()">Text <a href="../other.html">rel</a>
    <a href="javascript:alert(1)">js</a></p><img data-src="img/real.jpg" src="placeholder.gif">
    <img srcset="s.jpg 300w, big.jpg 1200w"><script>alert(1)</script><iframe src="http://ads/"></iframe>
    <div class="share">Share on X</div></div></body></html>"""
    spec = ArticleSpec(body=css("div.story", take="html"), remove=(Selector("css", ".share"),))
    a = extract_article(page, "http://site.test/news/story/1.html", spec, "UTC", NOW)
    body = a.content_html or ""
    assert 'src="http://site.test/news/story/img/real.jpg"' in body
    assert 'src="http://site.test/news/story/big.jpg"' in body
    assert 'href="http://site.test/news/other.html"' in body
    for bad in ("onclick", "javascript:", "<script", "alert(1)", "<iframe", "Share on X"):
        assert bad not in body


def test_body_selector_matching_nothing_raises() -> None:
    spec = ArticleSpec(body=css("div.missing", take="html"))
    with pytest.raises(ExtractError, match="div.missing"):
        extract_article("<html><body><p>x</p></body></html>", "http://x/a", spec, "UTC", NOW)


def test_remove_and_strip_also_apply_around_the_generic_extractor() -> None:
    from feedbridge.extract import strip_fragment, without_removed

    spec = ArticleSpec(remove=(Selector("css", ".more-from"),), strip=(r"\s*-0-\s*$",))
    page = "<html><body><div class='more-from'>Teaser</div><p>Body</p></body></html>"
    cleaned = without_removed(page, "http://x/a", spec)
    assert "Teaser" not in cleaned and "<p>Body</p>" in cleaned
    assert without_removed(page, "http://x/a", None) == page
    out = strip_fragment("<p>Last words. -0-</p><p>-0-</p>", spec.strip)
    assert out == "<p>Last words.</p>"


def test_page_wrapped_in_a_form_keeps_its_body() -> None:
    page = """<html><body><form id="aspnetForm" method="post"><input type="hidden" name="__VIEWSTATE">
    <div class="article-body"><p>Real text.</p><script>x()</script><form><input name="q"></form></div>
    </form></body></html>"""
    spec = ArticleSpec(body=css("div.article-body", take="html"))
    a = extract_article(page, "http://x/a", spec, "UTC", NOW)
    body = a.content_html or ""
    assert "Real text." in body and "<script" not in body and "<input" not in body


def test_bad_links_are_dropped_not_fatal_and_summaries_get_absolute_links() -> None:
    spec = ListingSpec(
        urls=("http://x.test/news/",),
        items=Selector("css", "li"),
        fields={"link": css("a.t"), "title": css("a.t"), "summary": css("p", take="html")},
    )
    page = """<html><body><ul>
    <li><a class="t" href="http://[oops/x">Broken</a><p>teaser</p></li>
    <li><a class="t" href="good.html">Good</a><p>See <a href="/tags/pier.html">pier</a></p></li>
    </ul></body></html>"""
    r = parse_listing(page, "http://x.test/news/", spec, "UTC", NOW)
    assert [i.title for i in r.items] == ["Good"]
    assert 'href="http://x.test/tags/pier.html"' in (r.items[0].summary_html or "")


def test_unparsable_dates_do_not_count_as_coverage() -> None:
    spec = ListingSpec(
        urls=("http://x.test/",),
        items=Selector("css", "li"),
        fields={"link": css("a"), "date": css("span", formats=("%d/%m/%Y",))},
    )
    page = "<ul><li><a href='/a'>A</a><span>2026.7.19</span></li></ul>"
    r = parse_listing(page, "http://x.test/", spec, "UTC", NOW)
    assert r.coverage.get("date", 0) == 0 and r.unparsed_dates == ("2026.7.19",)
