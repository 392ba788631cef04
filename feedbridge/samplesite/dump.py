"""Paired test cases: ``<case>.html`` (bytes as served) + ``<case>.expected.json`` (truth).

Other modules' tests load these (STYLE.md habit 9). Pages are rendered as if fetched from the
real origin (``http://www.kcna.kp`` …), so expected URLs look like the real ones. A page's
bytes are written exactly as served: the generic site's are ISO-8859-1 with the charset only
in ``content_type``, which the expected file records.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from feedbridge.samplesite.generic import GenericSite
from feedbridge.samplesite.kcna import LATEST, KcnaSite
from feedbridge.samplesite.kcnawatch import MALFORMED_NOTE, KcnaWatchSite
from feedbridge.samplesite.site import DEFAULT_TODAY, Request, Response, SampleArticle, Site


def fetch(
    site: Site,
    url: str,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Response:
    """Ask a site for ``url`` in-process, as a client at the site's canonical origin would."""
    parts = urlsplit(url)
    hdrs = {"host": parts.netloc, **{k.lower(): v for k, v in (headers or {}).items()}}
    origin = f"{parts.scheme}://{parts.netloc}"
    return site.handle(Request(method, parts.path, parts.query, hdrs, body, origin))


def _charset(resp: Response) -> str:
    ctype = resp.header("content-type") or ""
    return ctype.split("charset=")[-1].strip() if "charset=" in ctype else "utf-8"


def _listing_expected(
    site: Site, url: str, resp: Response, items: list[tuple[SampleArticle, str]], **extra: Any
) -> dict[str, Any]:
    return {
        "kind": "listing",
        "site": site.name,
        "url": url,
        "content_type": resp.header("content-type"),
        "charset": _charset(resp),
        "timezone": site.timezone,
        "items": [
            {
                "url": urljoin(url, href),
                "href": href,
                "canonical_url": a.url(site.canonical_origin),
                "title": a.title,
                "date": a.published.isoformat(),
                "summary": a.summary or None,
            }
            for a, href in items
        ],
        **extra,
    }


def _article_expected(site: Site, a: SampleArticle, resp: Response, case: str) -> dict[str, Any]:
    return {
        "kind": "article",
        "site": site.name,
        "case": case,
        "content_type": resp.header("content-type"),
        "charset": _charset(resp),
        **a.expected(site.canonical_origin),
        "flags": sorted(a.info.flags),
    }


def cases(
    seed: int | str = 0, today: date = DEFAULT_TODAY
) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Every case name → (page bytes, expected data)."""
    out: dict[str, tuple[bytes, dict[str, Any]]] = {}
    kcna = KcnaSite(seed, 40, today)
    origin = kcna.canonical_origin
    url = f"{origin}/en/article/list/{LATEST}"
    resp = fetch(kcna, url)
    items = [(a, a.path) for a in kcna.listing_page(LATEST, 1)]
    total = len(kcna.in_category(LATEST))
    out["kcna-list"] = (
        resp.body,
        _listing_expected(
            kcna,
            url,
            resp,
            items,
            total=total,
            per_page=15,
            page_cnt=-(-total // 15),
            next={"type": "form_post", "form": "form#article_form", "page_field": "page_num"},
        ),
    )
    cookie = (resp.header("set-cookie") or "").split(";")[0]
    token = kcna._sessions[cookie.split("=", 1)[1]]
    form = f"_csrf={token}&page_num=2&cnt_per_page=15&keyword=".encode()
    resp2 = fetch(
        kcna,
        url,
        "POST",
        form,
        {"cookie": cookie, "referer": url, "content-type": "application/x-www-form-urlencoded"},
    )
    out["kcna-list-page2"] = (
        resp2.body,
        _listing_expected(kcna, url, resp2, [(a, a.path) for a in kcna.listing_page(LATEST, 2)]),
    )
    leader = next(
        a for a in kcna.articles if a.info.topic == "leader" and len(a.story.captions) >= 2
    )
    inline = next(a for a in kcna.articles if "end-inline" in a.info.flags)
    for name, a in (("kcna-article", leader), ("kcna-article-inline-end", inline)):
        r = fetch(kcna, a.url(origin))
        out[name] = (r.body, _article_expected(kcna, a, r, name))

    watch = KcnaWatchSite(seed, 40, today)
    origin = watch.canonical_origin
    url = f"{origin}/newstream/"
    resp = fetch(watch, url)
    out["kcnawatch-list"] = (
        resp.body,
        _listing_expected(
            watch,
            url,
            resp,
            [(a, a.listing_href) for a in watch.listing_page(1)],
            next={"type": "selector", "next": "a.next"},
        ),
    )
    outside = next(
        a for a in watch.articles if watch.is_kcna(a) and "teasers-inside" not in a.info.flags
    )
    inside = next(a for a in watch.articles if "teasers-inside" in a.info.flags)
    for name, a in (("kcnawatch-article", outside), ("kcnawatch-article-teasers-inside", inside)):
        r = fetch(watch, a.url(origin))
        out[name] = (r.body, _article_expected(watch, a, r, name))
    feed_url = f"{origin}/newstream/feed/"
    r = fetch(watch, feed_url)
    out["kcnawatch-feed"] = (
        r.body,
        _listing_expected(
            watch,
            feed_url,
            r,
            [(a, a.path) for a in watch.listing_page(1)],
            malformed=MALFORMED_NOTE,
        ),
    )

    gazette = GenericSite(seed, 25, today)
    origin = gazette.canonical_origin
    for page in (1, 2):
        url = origin + gazette.page_url(page)
        r = fetch(gazette, url)
        nxt = urljoin(url, "archive/2.html" if page == 1 else f"{page + 1}.html")
        out[f"generic-list{'' if page == 1 else '-page2'}"] = (
            r.body,
            _listing_expected(
                gazette,
                url,
                r,
                [(a, gazette.href_on_page(a, page)) for a in gazette.listing_page(page)],
                next_url=nxt if gazette.listing_page(page + 1) else None,
            ),
        )
    a = gazette.articles[0]
    r = fetch(gazette, a.url(origin))
    out["generic-article"] = (r.body, _article_expected(gazette, a, r, "generic-article"))
    return out


def write_cases(directory: Path, seed: int | str = 0, today: date = DEFAULT_TODAY) -> list[Path]:
    """Write every case into ``directory``; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (body, expected) in cases(seed, today).items():
        ext = ".xml" if expected["content_type"].startswith("application/rss") else ".html"
        page = directory / f"{name}{ext}"
        page.write_bytes(body)
        meta = directory / f"{name}.expected.json"
        meta.write_text(
            json.dumps({"page": page.name, **expected}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        written += [page, meta]
    return written
