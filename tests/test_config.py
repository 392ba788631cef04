"""Config loading: typed results, one precise message per problem, includes, env, schema."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from feedbridge.config import (
    DEFAULT_CONFIG_PATH,
    _read_document,
    load_config,
    parse_duration,
    rebase_origins,
    resolve_config_path,
)
from feedbridge.config_schema import json_schema
from feedbridge.errors import ConfigError
from feedbridge.model import (
    ArticleSpec,
    Expectations,
    HttpPolicy,
    ListingSpec,
    Pagination,
    Rule,
    Schedule,
    Selector,
    Settings,
    Source,
)

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "config"
MARK = "# <-"  # marks the line a test expects a message to point at


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(path: Path, needle: str = MARK) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {})
    return info.value.problems


def find(problems: list[str], prefix: str, fragment: str) -> str:
    """The one problem starting with ``prefix`` (FILE:LINE: key.path: ) and holding fragment."""
    hits = [p for p in problems if p.startswith(prefix) and fragment in p]
    assert hits, f"no problem {prefix!r} … {fragment!r} in:\n" + "\n".join(problems)
    return hits[0]


# ---------------------------------------------------------------------------------------------
# A full valid config
# ---------------------------------------------------------------------------------------------

FULL = """\
settings:
  output_dir: out/feeds
  state_db: state/x.sqlite
  base_url: https://feeds.example.org/news
  connect_timeout: 5
  formats: [atom, rss, json]
sources:
  - id: kcna-latest
    title: KCNA – Latest
    description: Latest news
    language: en
    home_url: http://www.kcna.kp/en
    timezone: Asia/Pyongyang
    listing:
      urls: [http://www.kcna.kp/en/article/list/a666dda1282180e0ee1b4427b0574ae7]
      items: div.article
      fields:
        title: h5 a
        link: h5 a
        date: {css: span, regex: '\\d{4}\\.\\d{1,2}\\.\\d{1,2}', formats: ['%Y.%m.%d']}
        summary: p.teaser
        image: {css: img, attribute: data-src}
      pagination:
        type: form_post
        form: form#article_form
        max_pages: 3
      max_items: 30
    article:
      title: main article .container h1
      body: main article .container > p
      remove: [div.share, {xpath: '//aside'}]
      strip: ['\\s*-0-\\s*$']
      refetch_days: 2
    entry_id: {regex: '/detail/([0-9a-f]{32})'}
    max_entries: 40
    http:
      min_delay: 2.5
      max_concurrency: 1
      headers: {Accept-Language: en}
      proxy: http://proxy:3128
      allowed_hosts: [kcna.kp]
      verify: /etc/ssl/ca.pem
    expect:
      min_items: 5
      field_coverage: {date: 0.9}
      notice_entry: true
    schedule: {interval: 2h, jitter: 30s, stale_after: 1d}
  - id: watch
    title: Watch feed
    listing: {url: https://kcnawatch.org/newstream/feed/, type: feed}
    entry_id: title_date
    schedule: {cron: '*/30 * * * *'}
"""


def test_full_config_loads_into_expected_dataclasses(tmp_path: Path) -> None:
    path = write(tmp_path, "feedbridge.yaml", FULL)
    config = load_config(path, env={})
    assert config.path == path
    assert config.settings == Settings(
        output_dir=Path("out/feeds"),
        state_db=Path("state/x.sqlite"),
        base_url="https://feeds.example.org/news/",
        connect_timeout=5.0,
        formats=("atom", "rss", "json"),
    )
    kcna = Source(
        id="kcna-latest",
        title="KCNA – Latest",
        description="Latest news",
        language="en",
        home_url="http://www.kcna.kp/en",
        timezone="Asia/Pyongyang",
        listing=ListingSpec(
            urls=("http://www.kcna.kp/en/article/list/a666dda1282180e0ee1b4427b0574ae7",),
            kind="html",
            items=Selector("css", "div.article"),
            fields={
                "title": Rule(Selector("css", "h5 a")),
                "link": Rule(Selector("css", "h5 a"), take="text"),
                "date": Rule(
                    Selector("css", "span"),
                    regex=r"\d{4}\.\d{1,2}\.\d{1,2}",
                    formats=("%Y.%m.%d",),
                ),
                "summary": Rule(Selector("css", "p.teaser"), take="html"),
                "image": Rule(Selector("css", "img"), take="attribute", attribute="data-src"),
            },
            pagination=Pagination(
                kind="form_post", max_pages=3, form_selector=Selector("css", "form#article_form")
            ),
            max_items=30,
        ),
        article=ArticleSpec(
            title=Rule(Selector("css", "main article .container h1")),
            body=Rule(Selector("css", "main article .container > p"), take="html"),
            remove=(Selector("css", "div.share"), Selector("xpath", "//aside")),
            strip=(r"\s*-0-\s*$",),
            refetch_days=2.0,
        ),
        entry_id="url_regex",
        entry_id_regex="/detail/([0-9a-f]{32})",
        max_entries=40,
        http=HttpPolicy(
            min_delay=2.5,
            max_concurrency=1,
            headers={"Accept-Language": "en"},
            proxy="http://proxy:3128",
            allowed_hosts=("kcna.kp",),
            verify="/etc/ssl/ca.pem",
        ),
        expect=Expectations(
            min_items=5,
            field_coverage={"title": 0.8, "link": 1.0, "date": 0.9},
            notice_entry=True,
        ),
        schedule=Schedule(interval_minutes=120.0, jitter_seconds=30.0, stale_after_minutes=1440.0),
        origin=f"{path}:8",
    )
    watch = Source(
        id="watch",
        title="Watch feed",
        listing=ListingSpec(urls=("https://kcnawatch.org/newstream/feed/",), kind="feed"),
        entry_id="title_date",
        schedule=Schedule(cron="*/30 * * * *"),
        origin=f"{path}:{line_of(path, '- id: watch')}",
    )
    assert config.sources == (kcna, watch)
    assert config.source("watch") is config.sources[1]


def test_respect_robots_off_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "c.yaml", _SOURCE.format(id="r") + "    http: {respect_robots: false}\n")
    with caplog.at_level("WARNING", logger="feedbridge.config"):
        assert load_config(path, env={}).sources[0].http.respect_robots is False
    assert "source r http://r.example/" in caplog.text and "robots.txt is ignored" in caplog.text


def test_defaults_when_only_required_keys_given(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        sources:
          - id: s
            title: S
            listing: {url: 'http://example.org/', items: li, fields: {link: a}}
        """,
    )
    config = load_config(path, env={})
    assert config.settings == Settings()
    source = config.sources[0]
    assert source.http == HttpPolicy()
    assert source.expect == Expectations()
    assert source.schedule == Schedule()
    assert source.article is None and source.entry_id == "url" and source.timezone == "UTC"


@pytest.mark.parametrize(
    ("field", "rule", "expected"),
    [
        ("body", "div.c", Rule(Selector("css", "div.c"), take="html")),
        ("summary", {"css": "p"}, Rule(Selector("css", "p"), take="html")),
        ("body", {"css": "p", "take": "text"}, Rule(Selector("css", "p"), take="text")),
        # link/image keep take="text": the extractor applies href/src defaults then.
        ("image", "img", Rule(Selector("css", "img"), take="text")),
        ("title", {"xpath": "//h1"}, Rule(Selector("xpath", "//h1"))),
        ("link", {"css": "a", "take": "html"}, Rule(Selector("css", "a"), take="html")),
        ("author", {"attribute": "content"}, Rule(None, take="attribute", attribute="content")),
        ("date", {"css": "time", "format": "%Y"}, Rule(Selector("css", "time"), formats=("%Y",))),
        ("date", {"formats": ["%Y", "%d %B %Y"]}, Rule(None, formats=("%Y", "%d %B %Y"))),
        ("categories", ".tags a", Rule(Selector("css", ".tags a"))),
    ],
)
def test_rule_shorthand_and_field_defaults(
    tmp_path: Path, field: str, rule: object, expected: Rule
) -> None:
    listing: dict[str, object] = {"url": "http://example.org/", "items": "li"}
    listing["fields"] = {"link": "a", field: rule} if field != "body" else {"link": "a"}
    doc = {"sources": [{"id": "s", "title": "S", "listing": listing, "article": {"body": rule}}]}
    path = write(tmp_path, "c.yaml", json.dumps(doc))  # JSON is YAML
    source = load_config(path, env={}).sources[0]
    assert source.article is not None
    found = source.article.body if field == "body" else source.listing.fields[field]
    assert found == expected


# ---------------------------------------------------------------------------------------------
# One message per problem, pointing at file, line and key path
# ---------------------------------------------------------------------------------------------

_LISTING = "listing: {url: 'http://example.org/', items: li, fields: {link: a}}"

ERROR_CASES = [
    # (name, source body lines, key path, message fragment)
    ("unknown_key", [f"{_LISTING}", "titel: X  # <-"], "sources[0].titel", "did you mean 'title'"),
    ("wrong_type", [_LISTING, "max_entries: ten  # <-"], "sources[0].max_entries", "an integer"),
    ("number_for_text", [_LISTING, "language: 1  # <-"], "sources[0].language", "quote it"),
    ("max_entries_0", [_LISTING, "max_entries: 0  # <-"], "sources[0].max_entries", "at least 1"),
    (
        "missing_listing",
        ["title: X"],
        "sources[0].listing",
        "required key missing",
    ),
    (
        "missing_url",
        ["listing:  # <-", "  items: li", "  fields: {link: a}"],
        "sources[0].listing",
        "one of url, urls is required",
    ),
    (
        "url_and_urls",
        ["listing:", "  url: 'http://a.org/'", "  urls: ['http://b.org/']  # <-", "  type: feed"],
        "sources[0].listing.urls",
        "only one of url, urls",
    ),
    (
        "missing_link",
        ["listing:", "  url: 'http://a.org/'", "  items: li", "  fields: {title: h2}  # <-"],
        "sources[0].listing.fields.link",
        "required key missing",
    ),
    (
        "missing_items",
        ["listing:  # <-", "  url: 'http://a.org/'", "  fields: {link: a}"],
        "sources[0].listing.items",
        "required key missing",
    ),
    (
        "bad_css",
        ["listing:", "  url: 'http://a.org/'", "  items: 'li[['  # <-", "  fields: {link: a}"],
        "sources[0].listing.items",
        "invalid CSS selector",
    ),
    (
        "bad_xpath",
        [_LISTING, "article:", "  title: {xpath: '//h1['}  # <-"],
        "sources[0].article.title.xpath",
        "invalid XPath",
    ),
    (
        "bad_rule_regex",
        [
            "listing:",
            "  url: 'http://a.org/'",
            "  items: li",
            "  fields:",
            "    link: a",
            "    date: {css: span, regex: '(\\d'}  # <-",
        ],
        "sources[0].listing.fields.date.regex",
        "invalid regex: missing ), unterminated subpattern",
    ),
    (
        "bad_strip_regex",
        [_LISTING, "article:", "  strip:", "    - 'ok'", "    - '[a-'  # <-"],
        "sources[0].article.strip[1]",
        "invalid regex",
    ),
    (
        "entry_id_regex_without_group",
        [_LISTING, "entry_id: {regex: '/detail/\\d+'}  # <-"],
        "sources[0].entry_id.regex",
        "needs a group",
    ),
    (
        "entry_id_unknown",
        [_LISTING, "entry_id: guid  # <-"],
        "sources[0].entry_id",
        "unknown value 'guid'; allowed: url, title_date",
    ),
    ("bad_timezone", [_LISTING, "timezone: Mars/Base  # <-"], "sources[0].timezone", "Mars/Base"),
    (
        "bad_rule_timezone",
        [_LISTING, "article: {date: {css: p, timezone: Nowhere}}  # <-"],
        "sources[0].article.date.timezone",
        "unknown time zone",
    ),
    (
        "strptime_without_directive",
        [_LISTING, "article: {date: {css: p, format: yyyy-mm-dd}}  # <-"],
        "sources[0].article.date.format",
        "% directive",
    ),
    (
        "strptime_unknown_directive",
        [_LISTING, "article: {date: {css: p, formats: ['%Y', '%-d']}}  # <-"],
        "sources[0].article.date.formats[1]",
        "unknown strptime directive %-",
    ),
    (
        "relative_listing_url",
        ["listing: {url: /en/list, type: feed}  # <-"],
        "sources[0].listing.url",
        "absolute http/https URL",
    ),
    (
        "ftp_listing_url",
        ["listing:", "  urls: ['http://a.org/', 'ftp://a.org/x']  # <-", "  type: feed"],
        "sources[0].listing.urls[1]",
        "absolute http/https URL",
    ),
    (
        "negative_delay",
        [_LISTING, "http: {min_delay: -0.5}  # <-"],
        "sources[0].http.min_delay",
        "at least 0",
    ),
    (
        "coverage_out_of_range",
        [_LISTING, "expect:", "  field_coverage: {title: 1.2}  # <-"],
        "sources[0].expect.field_coverage.title",
        "at most 1",
    ),
    (
        "bad_cron",
        [_LISTING, "schedule: {cron: '61 * * * *'}  # <-"],
        "sources[0].schedule.cron",
        "invalid cron expression",
    ),
    (
        "bad_interval",
        [_LISTING, "schedule: {interval: soon}  # <-"],
        "sources[0].schedule.interval",
        "90s, 30m",
    ),
    (
        "zero_interval",
        [_LISTING, "schedule: {interval: 0s}  # <-"],
        "sources[0].schedule.interval",
        "greater than 0",
    ),
    (
        "take_attribute_without_attribute",
        [_LISTING, "article: {image: {css: img, take: attribute}}  # <-"],
        "sources[0].article.image.attribute",
        "required key missing",
    ),
    (
        "attribute_with_other_take",
        [_LISTING, "article: {image: {css: img, attribute: src, take: html}}  # <-"],
        "sources[0].article.image.take",
        "attribute implies take: attribute",
    ),
    (
        "css_and_xpath",
        [_LISTING, "article: {body: {css: p, xpath: //p}}  # <-"],
        "sources[0].article.body.xpath",
        "only one of css, xpath",
    ),
    (
        "selector_pagination_without_next",
        [
            "listing:",
            "  url: 'http://a.org/'",
            "  items: li",
            "  fields: {link: a}",
            "  pagination: {type: selector}  # <-",
        ],
        "sources[0].listing.pagination.next",
        "required key missing",
    ),
    (
        "template_without_placeholder",
        [
            "listing:",
            "  url: 'http://a.org/'",
            "  type: feed",
            "  pagination: {type: template, url_template: 'http://a.org/p'}  # <-",
        ],
        "sources[0].listing.pagination.url_template",
        "{page} or {offset}",
    ),
    (
        "key_of_other_pagination_type",
        [
            "listing:",
            "  url: 'http://a.org/'",
            "  type: feed",
            "  pagination:",
            "    type: rel_next",
            "    next: a.more  # <-",
        ],
        "sources[0].listing.pagination.next",
        "type rel_next uses: max_pages",
    ),
    (
        "feed_with_fields",
        ["listing:", "  url: 'http://a.org/'", "  type: feed", "  fields: {link: a}  # <-"],
        "sources[0].listing.fields",
        "not allowed here",
    ),
    (
        "empty_section",
        [_LISTING, "article:  # <-"],
        "sources[0].article",
        "expected a mapping, got an empty value",
    ),
    (
        "unknown_field",
        ["listing:", "  url: 'http://a.org/'", "  items: li", "  fields: {link: a, body: p}  # <-"],
        "sources[0].listing.fields.body",
        "unknown key",
    ),
    (
        "duplicate_yaml_key",
        [_LISTING, "max_entries: 3", "max_entries: 4  # <-"],
        "sources[0].max_entries",
        "duplicate key (first given at line",
    ),
    (
        "bad_proxy",
        [_LISTING, "http: {proxy: 'proxy:3128'}  # <-"],
        "sources[0].http.proxy",
        "URL",
    ),
]


@pytest.mark.parametrize(
    ("body", "key_path", "fragment"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_names_file_line_and_key_path(
    tmp_path: Path, body: list[str], key_path: str, fragment: str
) -> None:
    lines = ["sources:", "  - id: s", "    title: S"]
    if body[0].startswith("title:"):
        lines = ["sources:", "  - id: s  # <-"]
    lines += ["    " + line for line in body]
    path = write(tmp_path, "c.yaml", "\n".join(lines) + "\n")
    problems = problems_of(path)
    find(problems, f"{path}:{line_of(path)}: {key_path}: ", fragment)


def test_missing_id_and_title_point_at_the_source(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        sources:
          - listing: {url: 'http://a.org/', type: feed}  # <-
        """,
    )
    problems = problems_of(path)
    line = line_of(path)
    find(problems, f"{path}:{line}: sources[0].id: ", "required key missing")
    find(problems, f"{path}:{line}: sources[0].title: ", "required key missing")


@pytest.mark.parametrize("bad_id", ["../etc", "Upper", "-lead", "a/b", "x" * 65, ""])
def test_source_id_must_be_a_safe_file_name(tmp_path: Path, bad_id: str) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        f"""\
        sources:
          - id: {json.dumps(bad_id)}  # <-
            title: T
            listing: {{url: 'http://a.org/', type: feed}}
        """,
    )
    problem = find(problems_of(path), f"{path}:2: sources[0].id: ", "a-z 0-9")
    assert json.dumps(bad_id)[1:-1] in problem


def test_settings_errors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        settings:
          formats: [atom, xml]
          base_url: feeds.example.org
          read_timeout: 0
          user_agnt: me
        """,
    )
    problems = problems_of(path)
    find(problems, f"{path}:2: settings.formats[1]: ", "unknown value 'xml'")
    find(problems, f"{path}:3: settings.base_url: ", "absolute http/https URL")
    find(problems, f"{path}:4: settings.read_timeout: ", "greater than 0")
    find(problems, f"{path}:5: settings.user_agnt: ", "did you mean 'user_agent'")


def test_all_problems_are_collected_before_raising(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        sources:
          - id: a
            title: A
            listing: {url: 'http://a.org/', type: feed}
            max_entries: -1
          - id: b
            title: B
            listing: {url: 'http://a.org/', type: feed}
            timezone: Atlantis
          - id: c
            title: C
            listing: {url: 'http://a.org/', type: feed, colour: red}
        """,
    )
    problems = problems_of(path)
    assert len(problems) == 3
    assert [p.split(": ")[1] for p in problems] == [
        "sources[0].max_entries",
        "sources[1].timezone",
        "sources[2].listing.colour",
    ]


def test_duplicate_ids_name_both_places(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        sources:
          - id: same
            title: A
            listing: {url: 'http://a.org/', type: feed}
          - id: same
            title: B
            listing: {url: 'http://a.org/', type: feed}
        """,
    )
    problems = problems_of(path)
    assert problems == [
        f"{path}:5: sources[1].id: duplicate source id 'same' (first defined at {path}:2)"
    ]


# ---------------------------------------------------------------------------------------------
# YAML and file errors
# ---------------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "sources:\n  - id: a\n    title: [unclosed\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:4:1: invalid YAML: ")
    assert "expected ',' or ']'" in problem


def test_yaml_bad_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "settings:\n  retries: 1\n   formats: [atom]\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3:")
    assert "invalid YAML" in problem


def test_several_documents_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "sources: []\n---\nsources: []\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:2:") and "single document" in problem


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "settings:\n  user_agent: !!python/name:os.system x\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:2: settings.user_agent: ")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "- id: x\n")
    assert problems_of(path) == [f"{path}:1: (top level): expected a mapping, got a list"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}: cannot read config")


def test_empty_file_is_an_empty_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "c.yaml", "# nothing yet\n"), env={})
    assert config.sources == () and config.settings == Settings()


def test_yaml_merge_keys_and_anchors(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        sources:
          - id: a
            title: A
            listing: {url: 'http://a.org/', type: feed}
            http: &polite {min_delay: 3, max_concurrency: 1}
          - id: b
            title: B
            listing: {url: 'http://b.org/', type: feed}
            http:
              <<: *polite
              min_delay: 5
        """,
    )
    a, b = load_config(path, env={}).sources
    assert (a.http.min_delay, a.http.max_concurrency) == (3.0, 1)
    assert (b.http.min_delay, b.http.max_concurrency) == (5.0, 1)


# ---------------------------------------------------------------------------------------------
# include
# ---------------------------------------------------------------------------------------------

_SOURCE = """\
sources:
  - id: {id}
    title: {id}
    listing: {{url: 'http://{id}.example/', type: feed}}
"""


def test_include_adds_sources_in_sorted_order(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        "feedbridge.yaml",
        """\
        include: [sources/*.yaml, more.yaml]
        sources:
          - id: main
            title: Main
            listing: {url: 'http://main.example/', type: feed}
        """,
    )
    b = write(tmp_path, "sources/b.yaml", _SOURCE.format(id="bee"))
    a = write(tmp_path, "sources/a.yaml", _SOURCE.format(id="ant"))
    more = write(tmp_path, "more.yaml", _SOURCE.format(id="more"))
    config = load_config(main, env={})
    assert [s.id for s in config.sources] == ["main", "ant", "bee", "more"]
    assert [s.origin for s in config.sources] == [
        f"{main}:3",
        f"{a}:2",
        f"{b}:2",
        f"{more}:2",
    ]


def test_errors_in_included_files_name_that_file(tmp_path: Path) -> None:
    main = write(
        tmp_path,
        "feedbridge.yaml",
        """\
        include: [sources/*.yaml]
        sources:
          - id: ant
            title: Ant
            listing: {url: 'http://a.example/', type: feed}
        """,
    )
    inc = write(
        tmp_path,
        "sources/x.yaml",
        """\
        settings: {retries: 1}
        sources:
          - id: ant
            title: again
            listing: {url: 'http://a.example/', type: feed, max_items: 0}
        """,
    )
    problems = problems_of(main)
    find(problems, f"{inc}:1: settings: ", "unknown key")
    find(problems, f"{inc}:5: sources[0].listing.max_items: ", "at least 1")
    find(problems, f"{inc}:3: sources[0].id: ", f"first defined at {main}:3")
    assert len(problems) == 3


def test_include_matching_nothing_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path, "feedbridge.yaml", "include:\n  - ok/*.yaml\n  - missing/*.yaml\n")
    write(tmp_path, "ok/a.yaml", _SOURCE.format(id="a"))
    assert problems_of(main) == [
        f"{main}:3: include[1]: 'missing/*.yaml' matches no file",
    ]


def test_include_of_broken_yaml(tmp_path: Path) -> None:
    main = write(tmp_path, "feedbridge.yaml", "include: [s/*.yaml]\n")
    inc = write(tmp_path, "s/a.yaml", "sources:\n  - id: a\n   title: b\n")
    (problem,) = problems_of(main)
    assert problem.startswith(f"{inc}:3:") and "invalid YAML" in problem


def test_include_matching_the_main_file_is_refused(tmp_path: Path) -> None:
    main = write(tmp_path, "feedbridge.yaml", "include: ['*.yaml']\n")
    write(tmp_path, "other.yaml", _SOURCE.format(id="o"))
    problems = problems_of(main)
    assert problems == [f"{main}:1: include[0]: matches the including file"]


# ---------------------------------------------------------------------------------------------
# Environment and config path
# ---------------------------------------------------------------------------------------------


def test_env_overrides_settings(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "settings: {output_dir: a, base_url: 'http://x.org/f/'}\n")
    env = {
        "FEEDBRIDGE_OUTPUT_DIR": "/srv/feeds",
        "FEEDBRIDGE_STATE_DB": "/var/lib/fb.sqlite",
        "FEEDBRIDGE_BASE_URL": "https://feeds.example.net/x",
    }
    settings = load_config(path, env=env).settings
    assert settings.output_dir == Path("/srv/feeds")
    assert settings.state_db == Path("/var/lib/fb.sqlite")
    assert settings.base_url == "https://feeds.example.net/x/"
    assert load_config(path, env={}).settings.output_dir == Path("a")


def test_env_base_url_is_validated(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "sources: []\n")
    problems = problems_of(path, env={"FEEDBRIDGE_BASE_URL": "not a url"})
    assert problems == [
        "FEEDBRIDGE_BASE_URL (environment): not an absolute http/https URL: 'not a url'"
    ]


def test_resolve_config_path_order() -> None:
    env = {"FEEDBRIDGE_CONFIG": "/etc/fb.yaml"}
    assert resolve_config_path("cli.yaml", env) == Path("cli.yaml")
    assert resolve_config_path(None, env) == Path("/etc/fb.yaml")
    assert resolve_config_path(None, {}) == DEFAULT_CONFIG_PATH == Path("config/feedbridge.yaml")


# ---------------------------------------------------------------------------------------------
# rebase_origins
# ---------------------------------------------------------------------------------------------


def test_rebase_origins_points_urls_at_loopback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "c.yaml",
        """\
        sources:
          - id: kcna
            title: K
            home_url: http://www.kcna.kp/en
            listing:
              urls: ['http://www.kcna.kp/en/article/list/abc?x=1', 'http://other.org/list']
              type: feed
              pagination: {type: template, url_template: 'HTTP://WWW.KCNA.KP:80/l?p={page}'}
            http: {allowed_hosts: [www.kcna.kp, cdn.org]}
          - id: untouched
            title: U
            listing: {url: 'https://www.kcna.kp/en', type: feed}
        """,
    )
    config = load_config(path, env={})
    rebased = rebase_origins(config, {"http://www.kcna.kp": "http://127.0.0.1:40123/"})
    kcna, untouched = rebased.sources
    assert kcna.listing.urls == (
        "http://127.0.0.1:40123/en/article/list/abc?x=1",
        "http://other.org/list",
    )
    assert kcna.home_url == "http://127.0.0.1:40123/en"
    assert kcna.listing.pagination is not None
    assert kcna.listing.pagination.url_template == "http://127.0.0.1:40123/l?p={page}"
    assert kcna.http.allow_private is True
    assert kcna.http.allowed_hosts == ("127.0.0.1", "cdn.org")
    assert kcna.title == "K" and kcna.origin == config.sources[0].origin
    # a different scheme is a different origin: left alone, and not allowed private addresses
    assert untouched == config.sources[1]
    assert rebased.settings == config.settings
    # the original config is unchanged (frozen values)
    assert config.sources[0].listing.urls[0].startswith("http://www.kcna.kp/")


def test_rebase_origins_can_leave_allow_private_off(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", _SOURCE.format(id="a"))
    config = load_config(path, env={})
    rebased = rebase_origins(
        config, {"http://a.example": "http://127.0.0.1:1"}, allow_private=False
    )
    assert rebased.sources[0].listing.urls == ("http://127.0.0.1:1/",)
    assert rebased.sources[0].http.allow_private is False
    with pytest.raises(ValueError):
        rebase_origins(config, {"a.example": "http://127.0.0.1:1"})


# ---------------------------------------------------------------------------------------------
# parse_duration
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90.0),
        ("30m", 1800.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1.5h", 5400.0),
        (" 5 m ", 300.0),
        ("15", 900.0),
        (15, 900.0),
        (0.5, 30.0),
        (0, 0.0),
    ],
)
def test_parse_duration(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "5w", "-5m", "1h30m", "m", True, -1, float("nan")])
def test_parse_duration_rejects(value: str | float) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


# ---------------------------------------------------------------------------------------------
# JSON Schema: generated from the same tables, agreeing with the loader
# ---------------------------------------------------------------------------------------------


def test_committed_schema_equals_generated() -> None:
    committed = json.loads((REPO / "config" / "feedbridge.schema.json").read_text("utf-8"))
    assert committed == json_schema()
    jsonschema.Draft202012Validator.check_schema(committed)


CORPUS = sorted((DATA / "corpus").glob("*.yaml"))


def test_corpus_is_big_enough() -> None:
    verdicts = [p.read_text("utf-8").splitlines()[0] for p in CORPUS]
    assert len(CORPUS) >= 12
    assert "# expect: valid" in verdicts and "# expect: invalid" in verdicts


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_schema_and_loader_agree(path: Path) -> None:
    expected_valid = path.read_text("utf-8").splitlines()[0] == "# expect: valid"
    problems: list[str] = []
    doc = _read_document(path, problems)
    assert doc is not None and not problems
    schema_valid = jsonschema.Draft202012Validator(json_schema()).is_valid(doc.data)
    try:
        load_config(path, env={})
        loader_valid = True
    except ConfigError:
        loader_valid = False
    assert (schema_valid, loader_valid) == (expected_valid, expected_valid)


SHIPPED = sorted((REPO / "config").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_configs_load(path: Path) -> None:
    config = load_config(path, env={})
    assert all(s.origin.startswith(str(path.parent)) for s in config.sources)
    validator = jsonschema.Draft202012Validator(json_schema())
    files = {path, *(Path(s.origin.rsplit(":", 1)[0]) for s in config.sources)}
    for file in files:  # the editor schema accepts what the loader accepts
        doc = _read_document(file, [])
        assert doc is not None and validator.is_valid(doc.data), file
    origins = {
        url.split("/")[0] + "//" + url.split("/")[2]
        for s in config.sources
        for url in s.listing.urls
    }
    rebased = rebase_origins(config, {o: "http://127.0.0.1:9" for o in origins})
    assert all(u.startswith("http://127.0.0.1:9/") for s in rebased.sources for u in s.listing.urls)
    assert all(s.http.allow_private for s in rebased.sources)
