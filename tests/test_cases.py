"""Paired cases: ``tests/data/cases/<case>.html`` + ``<case>.expected.json``, one parametrized
test. Each page is read with the SHIPPED config of its site (the README example for the generic
site) through the pure stages, and compared with the truth the generator wrote.

Regenerate the pairs with ``python -m feedbridge.samplesite dump tests/data/cases``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedbridge.config import load_config
from feedbridge.extract import extract_article
from feedbridge.listing import parse_listing
from feedbridge.model import Source
from feedbridge.normalize import html_to_text

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "cases"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def _readme_source(tmp: Path) -> Source:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"A minimal source:\n\n```yaml\n(.*?)```", text, re.S)
    assert m
    path = tmp / "example.yaml"
    path.write_text(m.group(1), encoding="utf-8")
    return load_config(path).sources[0]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Source]:
    shipped = load_config(ROOT / "config" / "feedbridge.yaml")
    return {
        "kcna": shipped.source("kcna-latest"),
        "kcnawatch": shipped.source("kcnawatch"),
        "generic": _readme_source(tmp_path_factory.mktemp("readme")),
    }


def _cases() -> list[str]:
    return sorted(
        p.name.removesuffix(".expected.json")
        for p in CASES.glob("*.expected.json")
        if json.loads(p.read_text("utf-8"))["page"].endswith(".html")
    )


def _load(case: str) -> tuple[dict[str, Any], str]:
    expected = json.loads((CASES / f"{case}.expected.json").read_text("utf-8"))
    raw = (CASES / expected["page"]).read_bytes()
    return expected, raw.decode(expected.get("charset") or "utf-8")


def _day(value: str) -> str:
    return value[:10]


def test_there_are_cases_for_every_site() -> None:
    sites = {json.loads(p.read_text("utf-8"))["site"] for p in CASES.glob("*.expected.json")}
    assert {"kcna", "kcnawatch", "generic"} <= sites


@pytest.mark.parametrize("case", _cases())
def test_case(case: str, sources: dict[str, Source]) -> None:
    expected, text = _load(case)
    source = sources[expected["site"]]
    if expected["kind"] == "listing":
        _check_listing(expected, text, source)
    else:
        _check_article(expected, text, source)


def _check_listing(expected: dict[str, Any], text: str, source: Source) -> None:
    result = parse_listing(text, expected["url"], source.listing, source.timezone, NOW)
    want = expected["items"]
    assert [i.url for i in result.items] == [w["url"] for w in want]
    assert [i.title for i in result.items] == [w["title"] for w in want]
    for item, w in zip(result.items, want, strict=True):
        assert item.published is not None
        if len(w["date"]) > 10:  # an instant: must be exactly that instant in UTC
            assert item.published == datetime.fromisoformat(w["date"]).astimezone(UTC)
        else:  # a calendar day: must stay that day
            assert item.published.date().isoformat() == w["date"]


def _check_article(expected: dict[str, Any], text: str, source: Source) -> None:
    assert source.article is not None
    article = extract_article(text, expected["url"], source.article, source.timezone, NOW)
    assert article.title == expected["title"]
    body = html_to_text(article.content_html or "")
    for para in expected["paragraphs"]:
        assert para in body, para
    for bad in expected["must_not_contain"]:
        assert bad not in body, bad
    if expected["categories"] and source.article.categories is not None:
        assert list(article.categories) == expected["categories"]
    if source.article.date is not None and expected["site"] != "kcna":
        assert article.published is not None
        assert (
            article.published.astimezone(UTC).date().isoformat()
            == _day(datetime.fromisoformat(expected["date"]).astimezone(UTC).isoformat())
            or _day(expected["date"]) == article.published.date().isoformat()
        )
