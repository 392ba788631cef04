"""Deterministic news-like text: titles, paragraphs and captions built from word lists.

Pure functions of a seed: the same (site seed, article serial, revision) always gives the same
words, so fixture pages can be generated lazily, on request, and still agree with the truth the
tests compare against. Nothing here is copied from real pages; the vocabulary only imitates the
register of the sites in ../shared/SITES.md.

Text is built as *segments* so that renderers can mark some words up (a leader's name wrapped
in ``<nobr><span class='fSpecCs'>`` on kcna.kp, a ``javascript:`` link on the generic site)
while :func:`plain` gives the exact text a correct extractor must produce.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from math import gcd
from string import Formatter

# A segment is (kind, text): "t" plain text, "L" a leader's name, "js" an inline script link,
# "em" emphasis. A paragraph is a tuple of segments.
Segment = tuple[str, str]
Para = tuple[Segment, ...]

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

LEADERS = ("Kim Jong Un", "Kim Il Sung", "Kim Jong Il")


def plain(para: Para) -> str:
    """The text of a paragraph as a reader sees it (what an extractor must output)."""
    return "".join(text for _, text in para)


def seeded(*parts: object) -> random.Random:
    """A private random generator for one purpose, independent of call order elsewhere."""
    return random.Random("/".join(str(p) for p in parts))


def month_day(d: date) -> str:
    """``November 10`` (no zero padding), as in KCNA datelines."""
    return f"{MONTHS[d.month - 1]} {d.day}"


def truncate_words(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters mid-sentence, like WordPress teasers."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


def pick_unique(serial: int, seed: object, choices: Sequence[Sequence[str]]) -> list[str]:
    """Choose one word from each list so that distinct serials give distinct combinations.

    The serial is scrambled by a multiplier coprime to the number of combinations (a
    bijection), so titles stay unique per site without keeping a set of used titles. Once the
    combinations run out, a last element `` (N)`` tells the cycles apart; it is empty before.
    """
    total = 1
    for c in choices:
        total *= len(c)
    offset = seeded("offset", seed).randrange(total)
    cycle, rest = divmod(serial, total)
    index = (rest * _coprime_multiplier(total) + offset) % total
    out = []
    for c in choices:
        index, r = divmod(index, len(c))
        out.append(c[r])
    out.append(f" ({cycle + 1})" if cycle else "")
    return out


def _coprime_multiplier(total: int) -> int:
    """A multiplier near total/φ and coprime to it: consecutive serials then differ in every
    word, not just the first."""
    m = max(1, int(total * 0.6180339887))
    while gcd(m, total) != 1:
        m += 1
    return m


# ---------------------------------------------------------------------------------------------
# KCNA-like vocabulary
# ---------------------------------------------------------------------------------------------

PROVINCES = (
    "South Hwanghae Province",
    "North Phyongan Province",
    "Jagang Province",
    "Kangwon Province",
    "Ryanggang Province",
    "South Hamgyong Province",
    "North Hamgyong Province",
    "South Phyongan Province",
    "Rason City",
    "Nampho City",
)
PLACES = (
    "Pyongyang",
    "Hamhung",
    "Wonsan",
    "Sinuiju",
    "Chongjin",
    "Kaesong",
    "Haeju",
    "Kanggye",
    "Hyesan",
    "Sariwon",
)
WORKS = (
    "Hwasong District dwelling houses",
    "Ryongsong Machine Complex",
    "Sunchon Phosphatic Fertilizer Factory",
    "Kangdong Greenhouse Farm",
    "Pyongyang General Hospital",
    "Ragwon Machine Complex",
    "Kim Chaek Iron and Steel Complex",
    "Taean Heavy Machine Complex",
    "Namhung Youth Chemical Complex",
    "Wonsan-Kalma coastal tourist area",
    "Kumsong Tractor Factory",
    "Sinpho Fishery Complex",
)
LEADER_ACTS = (
    "Inspects",
    "Visits",
    "Gives Field Guidance at",
    "Looks Round",
    "Congratulates Builders of",
    "Attends Completion Ceremony of",
)
OFFICIALS = (
    "leading officials of the Central Committee of the Workers' Party of Korea",
    "senior officials of the Cabinet",
    "the director of the complex",
    "officials of the provincial Party committee",
    "commanding officers of the Korean People's Army",
)
EVENTS = (
    "Meetings",
    "Photo Exhibition",
    "Art Performance",
    "National Sci-Tech Festival",
    "Seminar",
    "Sports Contest",
    "Book Exhibition",
    "Joint Meeting",
)
OCCASIONS = (
    "Day of Sun",
    "Founding Anniversary of WPK",
    "Day of Songun",
    "Anniversary of Victory in War",
    "Day of Shining Star",
    "Founding of DPRK",
    "Mother's Day",
    "Teachers' Day",
)
ACTORS = (
    "U.S.",
    "Japan",
    "South Korean Puppets",
    "NATO",
    "Western Media",
    "U.S. Imperialists",
)
CRIMES = (
    "Arms Buildup",
    "Military Drills",
    "Sanctions Racket",
    "Smear Campaign",
    "Human Rights Farce",
    "Nuclear Blackmail",
    "Espionage Flights",
)
ACTOR_NP = {
    "U.S.": "the U.S.",
    "Japan": "Japan",
    "South Korean Puppets": "the South Korean puppets",
    "NATO": "NATO",
    "Western Media": "the Western media",
    "U.S. Imperialists": "the U.S. imperialists",
}
VERBS_CRITIC = ("Slams", "Denounces", "Warns", "Assails", "Rejects", "Ridicules")
CRITICS = (
    "KCNA Commentary",
    "Rodong Sinmun",
    "DPRK Foreign Ministry Spokesperson",
    "Minju Joson",
    "DPRK Defence Ministry",
    "KCNA Press Statement",
)
GROWTH = (
    "Increased Production",
    "Technical Innovation",
    "Bumper Harvest",
    "Afforestation Drive",
    "Flood Prevention",
    "Rice Transplanting",
    "Potato Farming",
    "Fishing Campaign",
)
GROWERS = (
    "Farmers",
    "Miners",
    "Steelworkers",
    "Youth Volunteers",
    "Fishermen",
    "Scientists",
    "Builders",
    "Railway Workers",
)

TOPICS = ("leader", "critic", "event", "growth")


def kcna_title(seed: object, serial: int) -> tuple[str, str, str]:
    """(title, topic, subject) for the ``serial``-th article; unique per seed.

    The subject (a works, a place, an actor) is reused by the body so the text fits the title.
    """
    topic = TOPICS[(serial + seeded("topic", seed).randrange(4)) % 4]
    n = serial // 4
    if topic == "leader":
        act, work, again, cyc = pick_unique(
            n, (seed, topic), (LEADER_ACTS, WORKS, ("", " Again", " Once More"))
        )
        return f"Kim Jong Un {act} {work.title()}{again}{cyc}", topic, work
    if topic == "critic":
        who, verb, actor, crime, suffix, cyc = pick_unique(
            n, (seed, topic), (CRITICS, VERBS_CRITIC, ACTORS, CRIMES, ("", " Again", " in Region"))
        )
        return f"{who} {verb} {actor} {crime}{suffix}{cyc}", topic, actor
    if topic == "event":
        ev, occ, place, cyc = pick_unique(n, (seed, topic), (EVENTS, OCCASIONS, PLACES + PROVINCES))
        return f"{ev} Held in {place} to Mark {occ}{cyc}", topic, place
    grow, who, prov, cyc = pick_unique(n, (seed, topic), (GROWTH, GROWERS, PROVINCES))
    return f"{who} of {prov} Push Ahead with {grow}{cyc}", topic, prov


SLOTS: dict[str, tuple[str, ...]] = {
    "room": ("production lines", "newly built rooms", "control room", "exhibition hall"),
    "praise": (
        "their patriotic devotion",
        "carrying out the plan ahead of schedule",
        "introducing advanced technology",
    ),
    "task": (
        "modernize the equipment",
        "raise output by a wide margin",
        "improve the living conditions of the workers",
    ),
    "effort": (
        "boost agricultural production",
        "improve flood control",
        "finish the construction ahead of schedule",
        "plant more trees",
    ),
    "body": (
        "provincial people committee",
        "Ministry of Agriculture",
        "State Academy of Sciences",
        "youth league",
    ),
    "supply": ("materials", "fertilizer", "equipment", "seeds"),
    "novelty": (
        "new technology",
        "modern production line",
        "greenhouse complex",
        "irrigation system",
    ),
    "aim": (
        "escalate tensions",
        "isolate the DPRK",
        "stifle the sovereignty of independent states",
    ),
    "act": ("open provocation", "intolerable act", "anachronistic move", "absurd claim"),
    "group": ("people", "youth", "scientists", "farmers"),
    "resolve": (
        "glorify the era of great change",
        "carry out the decisions of the Party",
        "bring about a fresh upsurge",
    ),
    "things": ("photos", "exhibits", "books", "products"),
    "farmwork": ("rice transplanting", "potato planting", "wheat harvesting", "maize sowing"),
    "agency": (
        "Central Bureau of Statistics",
        "State Planning Commission",
        "Meteorological Administration",
    ),
    "work": WORKS,
    "officials": OFFICIALS,
    "town": PLACES,
}
NUMBERS = {
    "pct": (105, 160),
    "gain": (10, 40),
    "count": (120, 900),
    "days": (3, 12),
    "rise": (2, 30),
    "tenth": (0, 9),
}

KCNA_SENTENCES = (
    "Workers of the {work} have overfulfilled their monthly plan by {pct} percent.",
    "Officials and working people in {prov} are making every effort to {effort}.",
    "The {body} took measures to supply {supply} in time.",
    "A {novelty} was introduced in {place}, increasing output by {gain} percent.",
    "The reckless moves of {actor} are aimed at nothing but an attempt to {aim}.",
    "This is an {act} that will never be tolerated.",
    "The speakers said that the {group} would {resolve}.",
    "The event was attended by {officials} and working people in {place}.",
    "On display were {count} {things} showing the achievements made in {prov}.",
    "Farms in {prov} have finished {farmwork} {days} days earlier than last year.",
    "According to the {agency}, the figure rose {rise}.{tenth} percent on the previous year.",
)


def fill(template: str, rng: random.Random, **fixed: str) -> str:
    """Fill ``{slot}`` fields: fixed values first, then word lists, then numbers."""
    values: dict[str, str] = {}
    for _, name, _, _ in Formatter().parse(template):
        if name is None or name in values:
            continue
        if name in fixed:
            values[name] = fixed[name]
        elif name in SLOTS:
            values[name] = rng.choice(SLOTS[name])
        else:
            low, high = NUMBERS[name]
            values[name] = str(rng.randint(low, high))
    return template.format(**values)


def _leader_sentences(rng: random.Random, work: str) -> list[Para]:
    return [
        (
            ("t", "General Secretary of the Workers' Party of Korea and President of the State "),
            ("t", "Affairs of the DPRK "),
            ("L", "Kim Jong Un"),
            ("t", f" inspected the {work} on the spot."),
        ),
        (("t", fill("He was accompanied by {officials}.", rng)),),
        (
            ("L", "Kim Jong Un"),
            ("t", fill(" looked round the {room} and praised the workers for {praise}.", rng)),
        ),
        (
            ("t", "Recalling that President "),
            ("L", "Kim Il Sung"),
            ("t", " and Chairman "),
            ("L", "Kim Jong Il"),
            ("t", fill(" had visited {town} many times, he set forth tasks to {task}.", rng)),
        ),
        (("t", fill("Present there were {officials}.", rng)),),
    ]


def _generic_sentences(rng: random.Random, topic: str, subject: str) -> list[Para]:
    fixed = {
        "prov": subject if topic == "growth" else rng.choice(PROVINCES),
        "place": subject if topic == "event" else rng.choice(PLACES),
        "actor": ACTOR_NP[subject] if topic == "critic" else rng.choice(tuple(ACTOR_NP.values())),
    }
    pool = [fill(t, rng, **fixed) for t in KCNA_SENTENCES]
    rng.shuffle(pool)
    return [(("t", s),) for s in pool]


def kcna_paragraphs(
    seed: object, serial: int, revision: int, topic: str, subject: str
) -> list[Para]:
    """3–6 body paragraphs (without dateline or end marker) for an article."""
    rng = seeded("body", seed, serial, revision)
    sentences = _leader_sentences(rng, subject) if topic == "leader" else []
    sentences += _generic_sentences(rng, topic, subject)
    count = rng.randint(3, 6)
    paras: list[Para] = []
    i = 0
    for p in range(count):
        n = 2 if p == 0 else rng.randint(1, 2)
        chunk: list[Segment] = []
        for _ in range(n):
            if i >= len(sentences):
                break
            if chunk:
                chunk.append(("t", " "))
            chunk.extend(sentences[i])
            i += 1
        if chunk:
            paras.append(tuple(chunk))
    if revision:
        paras.append((("t", f"(Update {revision}) The report was supplemented with new figures."),))
    return paras


def kcna_caption(seed: object, serial: int, topic: str, n: int) -> Para:
    """A photo caption: must never end up in an extracted body."""
    rng = seeded("caption", seed, serial, n)
    if topic == "leader":
        return (
            ("L", "Kim Jong Un"),
            ("t", f" at the {rng.choice(WORKS)}, photo {n + 1} of the visit"),
        )
    return (("t", f"View of the {rng.choice(WORKS)} in {rng.choice(PLACES)} (photo {n + 1})"),)


# ---------------------------------------------------------------------------------------------
# Harbor Gazette (generic site) vocabulary: Latin-1 accents, pound signs and guillemets on
# purpose, plus a few characters outside Latin-1 that the page must escape as references.
# ---------------------------------------------------------------------------------------------

GAZETTE_SECTIONS = ("Harbour", "City Hall", "Business", "Arts", "Weather", "Schools")
GAZETTE_AUTHORS = (
    "Zoë Hernández",
    "Émile Durand",
    "Siobhán O'Neill",
    "François Leclerc",
    "Björn Åkesson",
    "Ana Ribeiro",
)
GAZETTE_SUBJECTS = (
    "Harbour Board",
    "City Council",
    "Café Müller",
    "Pier 7 fishmongers",
    "Lighthouse Museum",
    "Ferry operator",
    "Old Town traders",
    "Marine college",
)
GAZETTE_ACTIONS = (
    "approves £{n} million dredging plan",
    "unveils « Quayside Lights » festival",
    "warns of delays after storm",
    "reopens after £{n}m refit",
    "faces questions over fares",
    "wins national award",
)


def gazette_title(seed: object, serial: int) -> str:
    """A headline with accented letters, pound signs or guillemets; unique per seed."""
    tails = ("", " – again", " at last", " after long delay", " despite protests")
    subject, action, tail, cyc = pick_unique(
        serial, (seed, "gazette"), (GAZETTE_SUBJECTS, GAZETTE_ACTIONS, tails)
    )
    n = 1 + (serial * 7 + len(subject)) % 19
    return f"{subject} {action.format(n=n)}{tail}{cyc}"


def gazette_paragraphs(seed: object, serial: int, revision: int) -> list[Para]:
    """4–6 paragraphs; one carries a ``javascript:`` link, one emphasis."""
    rng = seeded("gazette-body", seed, serial, revision)
    who = rng.choice(GAZETTE_AUTHORS)
    pool = [
        f"Members voted {rng.randint(5, 9)} to {rng.randint(1, 4)} on Tuesday evening after a "
        f"debate that ran well past the café’s closing time.",
        f"« We have waited long enough », said {who}, who chairs the residents’ association.",
        f"The scheme is expected to cost £{rng.randint(2, 40)}.{rng.randint(0, 9)} million, "
        f"roughly {rng.randint(10, 30)} per cent more than first estimated.",
        f"Work on the north quay will begin in {rng.choice(MONTHS)} and last about "
        f"{rng.randint(3, 18)} months.",
        "Critics say the plan does little for the fishing fleet — a point the board disputes.",
        f"Tickets for the première at the Théâtre du Port cost £{rng.randint(8, 25)}.",
        "A public consultation opens next week at the Hôtel de Ville annexe.",
    ]
    rng.shuffle(pool)
    count = rng.randint(4, 6)
    paras: list[Para] = [(("t", s),) for s in pool[:count]]
    # one paragraph with inline markup: a script link and emphasis
    k = rng.randrange(len(paras))
    paras[k] = paras[k] + (
        ("t", " Read the "),
        ("js", "full glossary"),
        ("t", " or the "),
        ("em", "summary"),
        ("t", "."),
    )
    if revision:
        paras.append((("t", f"Correction ({revision}): an earlier version misstated a figure."),))
    return paras
