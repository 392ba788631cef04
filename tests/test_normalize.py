"""Pure normalization: dates in time zones, URLs, keys, sanitizing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedbridge.normalize import (
    Precision,
    best_date,
    canonical_url,
    clamp_future,
    clean_text,
    entry_key,
    html_to_text,
    parse_date,
    sanitize_html,
    summarize,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_kcna_list_date_keeps_its_calendar_day_in_utc() -> None:
    d = parse_date("2026.7.19", ["%Y.%m.%d"], "Asia/Pyongyang", NOW)
    assert d is not None
    assert d.value == datetime(2026, 7, 19, 3, 0, tzinfo=UTC)  # noon in Pyongyang
    assert d.value.date().isoformat() == "2026-07-19"
    assert d.precision is Precision.DAY


def test_dd_mm_yyyy_is_not_read_as_mm_dd() -> None:
    d = parse_date("29/04/2025", ["%d/%m/%Y"], "Asia/Pyongyang", NOW)
    assert d is not None and d.value.date().isoformat() == "2025-04-29"


def test_formats_are_tried_in_order() -> None:
    d = parse_date("May 13, 2025", ["%B %d, %Y", "%b %d, %Y"], "UTC", NOW)
    e = parse_date("Sep 3, 2025", ["%B %d, %Y", "%b %d, %Y"], "UTC", NOW)
    assert d is not None and d.value.date().isoformat() == "2025-05-13"
    assert e is not None and e.value.date().isoformat() == "2025-09-03"


def test_iso_with_offset_converted_to_utc() -> None:
    d = parse_date("2026-11-20T08:15:00-05:00", [], "Asia/Pyongyang", NOW)
    assert d is not None
    assert d.value == datetime(2026, 11, 20, 13, 15, tzinfo=UTC)
    assert d.precision is Precision.TIME


def test_naive_time_read_in_source_zone() -> None:
    d = parse_date("2026-11-20 09:00", ["%Y-%m-%d %H:%M"], "Asia/Pyongyang", NOW)
    assert d is not None and d.value == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def test_rfc822() -> None:
    d = parse_date("Tue, 10 Nov 2026 07:00:00 GMT", [], "UTC", NOW)
    assert d is not None and d.value == datetime(2026, 11, 10, 7, tzinfo=UTC)


def test_december_dateline_read_in_january_is_last_year() -> None:
    january = datetime(2027, 1, 3, 1, 0, tzinfo=UTC)
    d = parse_date("December 30", ["%B %d"], "Asia/Pyongyang", january)
    assert d is not None and d.value.date().isoformat() == "2026-12-30"
    assert d.precision is Precision.INFERRED_YEAR
    same = parse_date("January 2", ["%B %d"], "Asia/Pyongyang", january)
    assert same is not None and same.value.year == 2027


def test_unparsable_and_empty_dates() -> None:
    assert parse_date("yesterday-ish", ["%Y.%m.%d"], "UTC", NOW) is None
    assert parse_date("", [], "UTC", NOW) is None
    assert parse_date("not a date", [], "UTC", NOW) is None


def test_more_precise_date_wins_and_ties_go_to_the_first() -> None:
    listing = parse_date("2026.11.10", ["%Y.%m.%d"], "Asia/Pyongyang", NOW)
    dateline = parse_date("November 9", ["%B %d"], "Asia/Pyongyang", NOW)
    assert best_date(dateline, listing) == listing
    other = parse_date("2026.11.11", ["%Y.%m.%d"], "Asia/Pyongyang", NOW)
    assert best_date(other, listing) == other
    assert best_date(None, None) is None


def test_future_dates_clamped_beyond_skew() -> None:
    later = datetime(2026, 11, 27, tzinfo=UTC)
    assert clamp_future(later, NOW, 600) == NOW
    soon = datetime(2026, 11, 26, 12, 5, tzinfo=UTC)
    assert clamp_future(soon, NOW, 600) == soon


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("HTTP://Example.COM:80/a/b?x=1#frag", "http://example.com/a/b?x=1"),
        ("https://example.com:443/a/?utm_source=x&id=2", "https://example.com/a/?id=2"),
        ("http://127.0.0.1:8001/x", "http://127.0.0.1:8001/x"),
        (
            "https://kcnawatch.org/newstream/1-2/%ed%95%9c/",
            "https://kcnawatch.org/newstream/1-2/%ED%95%9C/",
        ),
        (
            "https://kcnawatch.org/newstream/1-2/한/",
            "https://kcnawatch.org/newstream/1-2/%ED%95%9C/",
        ),
    ],
)
def test_canonical_url(raw: str, canon: str) -> None:
    assert canonical_url(raw) == canon


def test_entry_keys() -> None:
    assert entry_key("url", "http://A.com/x#y", "t", None, None) == "http://a.com/x"
    rx = r"/newstream/(\d{10}-\d{9})"
    a = entry_key(
        "url_regex", "https://kcnawatch.org/newstream/1745900000-123456789/slug/", "", None, rx
    )
    b = entry_key(
        "url_regex", "https://kcnawatch.org/newstream/1745900000-123456789/slug", "", None, rx
    )
    assert a == b == "1745900000-123456789"
    t1 = entry_key("title_date", "http://x/1", " Same  Title ", datetime(2026, 1, 1).date(), None)
    t2 = entry_key("title_date", "http://x/2", "same title", datetime(2026, 1, 1).date(), None)
    assert t1 == t2


def test_clean_text_decodes_and_collapses() -> None:
    assert clean_text("  a &amp; b\u0007\n\t c &lt;d&gt; 😀 ") == "a & b c <d> 😀"


def test_sanitizer_removes_active_content() -> None:
    dirty = (
        '<p onclick="x()">Hi <a href="javascript:alert(1)">bad</a> <a href="https://ok/">ok</a></p>'
        '<script>alert(1)</script><style>p{}</style><iframe src="https://x"></iframe>'
        '<form action="/f"><input name="q"></form><object data="x"></object><embed src="y">'
        '<img src="https://i/x.png" onerror="steal()"><img src="data:image/png;base64,AAAA">'
    )
    clean = sanitize_html(dirty)
    for bad in (
        "script",
        "onclick",
        "onerror",
        "javascript:",
        "iframe",
        "<form",
        "<object",
        "<embed",
        "<style",
        "alert(1)",
        "data:",
    ):
        assert bad not in clean
    assert '<a href="https://ok/"' in clean
    assert 'src="https://i/x.png"' in clean
    assert "Hi" in clean


def test_html_to_text_and_summary_keep_words_apart() -> None:
    assert html_to_text("<p>one</p><p>two</p>") == "one two"
    long = "<p>" + "word " * 200 + "</p>"
    s = summarize(long, 50)
    assert len(s) <= 50 and s.endswith("…")


def test_publication_instant_keeps_day_order_and_distinct_instants() -> None:
    from feedbridge.normalize import publication_instant

    old = parse_date("2026.11.20", ["%Y.%m.%d"], "Asia/Pyongyang", NOW)
    a = publication_instant(old, NOW, "Asia/Pyongyang", 0, 600)
    b = publication_instant(old, NOW, "Asia/Pyongyang", 1, 600)
    assert a == datetime(2026, 11, 20, 3, tzinfo=UTC) and b < a
    assert b.astimezone(UTC).date() == a.date()
    # today's date-only item: the time we first saw it, not a noon still to come
    today = parse_date("2026.11.26", ["%Y.%m.%d"], "Asia/Pyongyang", NOW)
    assert publication_instant(today, NOW, "Asia/Pyongyang", 0, 600) == NOW
    # a timestamp is kept as it is; no date at all: first seen, minus the rank
    exact = parse_date("2026-11-20T08:15:00Z", [], "UTC", NOW)
    assert exact is not None
    assert publication_instant(exact, NOW, "UTC", 5, 600) == exact.value
    assert publication_instant(None, NOW, "UTC", 2, 600) == NOW - timedelta(seconds=2)
    # never pushed into the previous day
    just_after_midnight = datetime(2026, 11, 25, 15, 0, 5, tzinfo=UTC)  # 00:00:05 KST
    today2 = parse_date("2026.11.26", ["%Y.%m.%d"], "Asia/Pyongyang", just_after_midnight)
    got = publication_instant(today2, just_after_midnight, "Asia/Pyongyang", 100, 600)
    assert got == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("http://x.org/article.php?12345", "http://x.org/article.php?12345"),
        ("http://x.org/a%2Fb?q=a%2fb&utm_source=z&b=1", "http://x.org/a%2Fb?q=a%2Fb&b=1"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://x.org/%7Euser/a%20b c", "http://x.org/~user/a%20b%20c"),
    ],
)
def test_canonical_url_keeps_what_the_site_means(raw: str, canon: str) -> None:
    assert canonical_url(raw) == canon
    assert canonical_url(canon) == canon  # idempotent


def test_rfc822_without_zone_is_read_in_the_source_zone() -> None:
    d = parse_date("Tue, 24 Nov 2026 09:30:00", [], "America/New_York", NOW)
    assert d is not None and d.value == datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
