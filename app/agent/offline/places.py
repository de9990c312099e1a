"""Places named in a message: the dataset's cities (with aliases and typos), states, and names
the dataset does not have, so that the answer can say so and name the nearest places with data.

Exact spellings and aliases come first (a regular expression built from `vocabulary`); a word
that is not one of them but is close to a city's name ("Seatle", "Pheonix") is matched with
rapidfuzz. A city followed by another state ("Portland, Maine") is not that city: the dataset's
Portland is in Oregon, and the answer must not quietly swap one for the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _find_cities(text: str) -> list[tuple[Place, tuple[int, int]]]:
    found: list[tuple[Place, tuple[int, int]]] = []
    for match in _CITY_RE.finditer(text):
        if match["name"]:
            city = _CITY_BY_ALIAS.get(match["name"].lower()) or _alias_city(text, match)
        else:
            city = vocab.CITY_ALIASES_CASE_SENSITIVE[match["caps"]]
        home_state = vocab.CITY_STATE[city]
        span = match.span()
        if match["state"]:
            stated = _state_code(match["state"])
            if stated != home_state:  # "Portland Maine" or "Seattle or ...": keep the word
                span = (match.start(), match.start("state"))
            # A lower-case "or" after a city is the word, not Oregon.
            if match["state"] == "or" and stated == home_state:
                span = (match.start(), match.start("state"))
        found.append((Place(city, home_state), span))
    return found


def extract_places(text: str) -> list[Place]:
    """Cities (with their state) and whole states named in `text`, in order, without repeats.

    "Portland, OR", "portland oregon", "Seattle WA", "SF", "NYC", "salt lake" are cities; a
    state on its own ("homes in Oregon", "in TX") is a state-wide place.
    """
    text = re.sub(r"\s+", " ", text)
    places: list[Place] = []
    spans: list[tuple[int, int]] = []
    for place, span in _find_cities(text):
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
