"""Places named in a message: the dataset's cities (with aliases and typos), states, and names
the dataset does not have, so that the answer can say so and name the nearest places with data.

Exact spellings and aliases come first (a regular expression built from `vocabulary`); a word
that is not one of them but is close to a city's name ("Seatle", "Pheonix") is matched with
rapidfuzz. A city followed by another state ("Portland, Maine") is not that city: the dataset's
Portland is in Oregon, and the answer must not quietly swap one for the other.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from app.agent.offline import vocabulary as vocab
from app.agent.offline.normalise import mask


@dataclass(frozen=True, slots=True)
class Place:
    """A market: a city with its state code, or a whole state (city None)."""

    city: str | None
    state: str

    @property
    def label(self) -> str:
        """ "Portland, OR", or "Oregon" for a state."""
        return f"{self.city}, {self.state}" if self.city else vocab.STATES[self.state]


def _build_city_pattern() -> re.Pattern[str]:
    insensitive = {
        re.escape(city.lower()): city
        for city, _ in vocab.CITIES
        if city not in vocab.CITIES_NEEDING_CAPITALS
    }
    insensitive.update(vocab.CITY_ALIASES)
    sensitive = {re.escape(k): v for k, v in vocab.CITY_ALIASES_CASE_SENSITIVE.items()}
    names = sorted(insensitive, key=len, reverse=True)
    states = sorted(
        [re.escape(code) for code in vocab.STATES] + list(vocab.STATE_ALIASES),
        key=len,
        reverse=True,
    )
    caps = sorted(sensitive, key=len, reverse=True)
    pattern = (
        rf"(?<![\w@.])(?:(?i:(?P<name>{'|'.join(names)}))|(?P<caps>{'|'.join(caps)}))(?!\w)"
        rf"(?:(?:,?\s+|,)(?i:(?P<state>{'|'.join(states)}))(?!\w))?"
    )
    return re.compile(pattern)


_CITY_RE = _build_city_pattern()
_CITY_BY_ALIAS = {
    **{city.lower(): city for city, _ in vocab.CITIES},
    **vocab.CITY_ALIASES,
    **{k.replace("\\", ""): v for k, v in vocab.CITY_ALIASES.items()},
}
_STATE_NAME_RE = re.compile(
    rf"\b(?P<name>{'|'.join(sorted(vocab.STATE_ALIASES, key=len, reverse=True))})\b", re.I
)
_STATE_CODE_RE = re.compile(rf"\b(?:in|of|across)\s+(?P<code>{'|'.join(vocab.STATES)})\b")


def _state_code(token: str) -> str | None:
    token = token.strip()
    if token.upper() in vocab.STATES:
        return token.upper()
    for pattern, code in vocab.STATE_ALIASES.items():
        if re.fullmatch(pattern, token.lower()):
            return code
    return None


def _alias_city(text: str, match: re.Match[str]) -> str:
    """The city of an alias that is a pattern (with lookarounds) rather than a plain word."""
    for pattern, city in vocab.CITY_ALIASES.items():
        found = re.compile(pattern, re.I).match(text, match.start("name"))
        if found and found.end() == match.end("name"):
            return city
    raise LookupError(match["name"])  # unreachable: the name matched one of these patterns


_REGIONS = {**vocab.US_STATES, **vocab.CANADIAN_PROVINCES}
_US_STATE_CODES = {name.lower(): code for code, name in _REGIONS.items()}
_OTHER_STATE_AFTER = re.compile(
    rf"(?:,\s*|\s+)(?:(?i:(?P<name>{'|'.join(sorted(_US_STATE_CODES, key=len, reverse=True))}))"
    r"|(?P<code>[A-Z]{2})|,\s*(?P<lower>[a-z]{2}))\b"
)


def _other_state(text: str, end: int, home_state: str) -> str | None:
    """The code of a US state named right after a city when it is not the city's own state:
    "Portland, Maine" and "Portland ME" are not the dataset's Portland."""
    match = _OTHER_STATE_AFTER.match(text, end)
    if not match:
        return None
    if match["name"]:
        code = _US_STATE_CODES[match["name"].lower()]
    elif match["code"] in vocab.CITY_ALIASES_CASE_SENSITIVE:
        return None  # "SF, LA and San Diego": a list of cities, not Louisiana
    else:
        code = (match["code"] or match["lower"] or "").upper()
    if code not in _REGIONS or code == home_state:
        return None
    return code


def _find_cities(text: str) -> tuple[list[tuple[Place, tuple[int, int]]], list[str]]:
    """The dataset's cities named in `text` with their spans, and the "City, State" labels of
    cities named with another state (not the dataset's city of that name)."""
    found: list[tuple[Place, tuple[int, int]]] = []
    elsewhere: list[str] = []
    for match in _CITY_RE.finditer(text):
        if match["name"]:
            city = _CITY_BY_ALIAS.get(match["name"].lower()) or _alias_city(text, match)
        else:
            city = vocab.CITY_ALIASES_CASE_SENSITIVE[match["caps"]]
        home_state = vocab.CITY_STATE[city]
        name_end = match.end("name") if match["name"] else match.end("caps")
        other = _other_state(text, name_end, home_state)
        if other and match["state"] != "or":
            elsewhere.append(f"{city}, {_REGIONS[other]}")
            continue
        span = match.span()
        if match["state"]:
            stated = _state_code(match["state"])
            if stated != home_state:  # "Seattle or ...": keep the word
                span = (match.start(), match.start("state"))
            # A lower-case "or" after a city is the word, not Oregon.
            if match["state"] == "or" and stated == home_state:
                span = (match.start(), match.start("state"))
        found.append((Place(city, home_state), span))
    return found, elsewhere


_CITY_NAMES = {city.lower(): city for city, _ in vocab.CITIES}
_FUZZY_CUTOFF = 85
_FUZZY_MIN_LENGTH = 5
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z.'-]*")


def _fuzzy_cities(text: str) -> list[tuple[Place, tuple[int, int]]]:
    """Cities spelled a little wrong ("Seatle", "Pheonix", "San Fransisco"): runs of one to three
    words compared with the dataset's city names by rapidfuzz's similarity ratio."""
    words = list(_WORD_RE.finditer(text))
    found: list[tuple[Place, tuple[int, int]]] = []
    taken: set[int] = set()
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            indexes = set(range(start, start + size))
            if indexes & taken:
                continue
            first, last = words[start], words[start + size - 1]
            phrase = text[first.start() : last.end()].lower()
            if len(phrase) < _FUZZY_MIN_LENGTH or not phrase.strip(".'-").isascii():
                continue
            best = process.extractOne(
                phrase, list(_CITY_NAMES), scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
            )
            if best:
                city = _CITY_NAMES[best[0]]
                found.append((Place(city, vocab.CITY_STATE[city]), (first.start(), last.end())))
                taken |= indexes
    return sorted(found, key=lambda item: item[1])


_REGION_RES = tuple(
    (re.compile(rf"\b(?:{pattern})\b", re.I), cities) for pattern, cities in vocab.REGIONS.items()
)


def _region_cities(text: str) -> list[tuple[Place, tuple[int, int]]]:
    """The dataset's cities in a region named instead ("the Bay Area", "the Eastside")."""
    found = []
    for pattern, cities in _REGION_RES:
        for match in pattern.finditer(text):
            found += [(Place(city, vocab.CITY_STATE[city]), match.span()) for city in cities]
    return found


def extract_places(text: str) -> list[Place]:
    """Cities (with their state) and whole states named in `text`, in order, without repeats.

    "Portland, OR", "portland oregon", "Seattle WA", "SF", "NYC", "salt lake" are cities, and
    so are near misses ("Seatle"); a state on its own ("homes in Oregon", "in TX") is a
    state-wide place.
    """
    text = re.sub(r"\s+", " ", text)
    places: list[Place] = []
    spans: list[tuple[int, int]] = []
    cities, elsewhere = _find_cities(text)
    cities += _region_cities(text)
    if not cities and not elsewhere:
        cities = _fuzzy_cities(text)
    for place, span in sorted(cities, key=lambda item: item[1]):
        spans.append(span)
        if place not in places:
            places.append(place)
    rest = mask(text, spans)
    states: list[tuple[int, Place]] = []
    for match in _STATE_NAME_RE.finditer(rest):
        code = _state_code(match["name"])
        if code:
            states.append((match.start(), Place(None, code)))
    for match in _STATE_CODE_RE.finditer(rest):
        states.append((match.start("code"), Place(None, match["code"])))
    for _, place in sorted(states, key=lambda item: item[0]):
        if place not in places and not any(p.state == place.state for p in places):
            places.append(place)
    return places


def place_spans(text: str) -> list[tuple[int, int]]:
    """Where the dataset's cities are named in `text`, so other extractors skip those words
    ("lake" in "Salt Lake City" is not a lake view)."""
    found, _ = _find_cities(text)
    return [span for _, span in found]


def extract_place_elsewhere(text: str) -> str | None:
    """ "Portland, Maine" for "homes in Portland, Maine": a city of the dataset's name in a
    state where the dataset has no data for it, or None."""
    _, elsewhere = _find_cities(re.sub(r"\s+", " ", text))
    return elsewhere[0] if elsewhere else None


def extract_city(text: str) -> Place | None:
    """The first city named in `text`, with its state, or None."""
    return next((p for p in extract_places(text) if p.city), None)


_UNKNOWN_PLACE_RE = re.compile(
    r"\b(?:in|near|around|for|of|about|at)\s+(?:the\s+)?"
    r"(?P<place>[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})(?:,?\s+(?P<st>[A-Z]{2})\b)?"
)
_NOT_PLACES = frozenset(
    {
        "I",
        "L",
        "The",
        "My",
        "It",
        "Me",
        "Homes",
        "House",
        "Houses",
        "Condos",
        "Listings",
        "Total",
        "Price",
        "Prices",
        "Market",
        "Monthly",
        "Sale",
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
    }
)


def extract_unknown_place(text: str) -> str | None:
    """A capitalised place name the dataset does not have ("homes in Las Vegas"), or None."""
    for match in _UNKNOWN_PLACE_RE.finditer(text):
        name = match["place"]
        if name in _NOT_PLACES or name.split()[0] in _NOT_PLACES:
            continue
        if extract_places(name):
            continue
        return f"{name}, {match['st']}" if match["st"] else name
    return None


def _where(label: str) -> tuple[float, float] | None:
    """Rough coordinates of a place the dataset does not have: a known city, else its state."""
    name, _, state = (part.strip() for part in label.partition(","))
    other = vocab.OTHER_CITIES.get(name.title())
    code = _US_STATE_CODES.get(state.lower()) or (state.upper() if state else None)
    if other and (not code or other[0] == code):
        return other[1], other[2]
    code = code or _US_STATE_CODES.get(name.lower())
    return vocab.STATE_CENTRES.get(code) if code else None


def _miles(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 3958.8 * 2 * math.asin(math.sqrt(h))


def nearest_places(label: str, count: int = 3) -> list[tuple[Place, int]]:
    """The dataset's cities nearest to a place it lacks, with rough distances in miles; empty
    when the place is not known at all."""
    where = _where(label)
    if where is None:
        return []
    distances = sorted(
        (_miles(where, point), Place(city, state))
        for (city, state), point in vocab.CITY_COORDINATES.items()
    )
    return [(place, round(miles / 10) * 10) for miles, place in distances[:count]]
