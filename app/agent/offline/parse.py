"""Reading a user's message: what they want and which MCP tool calls answer it.

The offline assistant has no model, so understanding is a set of small extractors (a price
range, a bedroom count, a city...) that read the tables in `vocabulary`, and one entry point,
`plan_reply`, that combines them into a `Plan`: the intent, the tool calls with arguments exactly
as the tools take them, and what the composer needs to explain the answer.

Follow-ups ("what about 4 bedrooms?", "and in Seattle?") are resolved by re-reading the earlier
user messages of the conversation, so no state is kept between requests and any worker process
gives the same answer. Listing ids and prices mentioned by the assistant are read back from its
earlier answers' text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.agent.offline import vocabulary as vocab

MAX_TREND_MONTHS = 36
MAX_COMPARE = 5
MAX_REPORT_IDS = 20
MAX_METRIC_IDS = 50
MAX_DETAIL_CALLS = 5
MORTGAGE_KEYS = ("price", "down_payment_pct", "annual_rate_pct", "years")
APPROXIMATE_SPREAD = 0.1


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One MCP tool call: the tool's name and its arguments as CONTRACT.md section 4 names them."""

    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class Plan:
    """What the offline assistant understood from a message, and what to call to answer it.

    `filters` are the search arguments (also the composer's restatement of the request);
    `places` the "City, ST" markets asked about; `mortgage` only the mortgage figures the user
    gave or the conversation supplied (the tool fills in the rest, the composer says so);
    `assumptions` are short phrases the answer must state (values taken from earlier in the
    conversation or defaulted); `not_understood` names parts of the request that were ignored;
    `missing` says what must be asked for when no call could be made ("price", "city",
    "listing_ids", "email").
    """

    intent: str
    calls: list[ToolCall] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    places: list[str] = field(default_factory=list)
    months: int | None = None
    mortgage: dict[str, float] = field(default_factory=dict)
    listing_ids: list[str] = field(default_factory=list)
    recipient: str | None = None
    assumptions: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    missing: str | None = None
    follow_up: bool = False


# ---------------------------------------------------------------------------------------------
# Text helpers


def normalise(text: str) -> str:
    """Lower case, straight quotes, plain hyphens and single spaces: what every pattern expects."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub("[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"\s+", " ", text).strip().lower()
    text = re.sub(r"\bhalf (?:a )?(?:million|mil)\b", "500k", text)
    return re.sub(r"\b(?:a|one) (million|mil)\b", r"1 \1", text)


def _mask(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Blank out already-understood spans (same length) so later extractors do not reread them."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _alternation(patterns: Iterable[str]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


def _table_matches(text: str, table: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The keys of `table` whose patterns occur in `text`, in order of first occurrence."""
    found: list[tuple[int, int, str]] = []
    for key, patterns in table:
        match = re.search(rf"\b(?:{_alternation(patterns)})\b", text)
        if match:
            found.append((match.start(), -len(match.group()), key))
    return [key for _, _, key in sorted(found)]


_NUMBER_WORD = _alternation(
    sorted(
        (re.escape(w) for w, n in vocab.NUMBER_WORDS.items() if w not in {"a", "an", "no"}),
        key=len,
        reverse=True,
    )
)


def parse_count(token: str) -> int | None:
    """ "3" or "three" -> 3; None for anything else."""
    token = token.strip().lower()
    if token.isdigit():
        return int(token)
    return vocab.NUMBER_WORDS.get(token)


# ---------------------------------------------------------------------------------------------
# Money


_SUFFIX = _alternation(
    sorted((re.escape(s) for s in vocab.MONEY_SUFFIXES if s.lower() != "b"), key=len, reverse=True)
)
_NOT_MONEY_AFTER = (
    r"(?!\s*(?:%|percent|sq\b|sq\.|square|ft\b|feet|foot|sf\b|sqft|bed|br\b|bd|bath|ba\b"
    r"|month|mo\b|year|yr|day|week|\+?\s*(?:bed|bath|br\b|bd|ba\b)))"
)
_AMOUNT = (
    r"(?<![\w.,$])(?P<cur>\$\s?)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?![\d,.]*\d)(?:\s?(?P<suf>{_SUFFIX})\b)?"
)
_AMOUNT_RE = re.compile(_AMOUNT + _NOT_MONEY_AFTER, re.IGNORECASE)
_MIN_BARE_PRICE = 10_000
_ZIP_BEFORE = re.compile(r"\b(?:in|zip|zip ?code|postcode|near)\s*$")


@dataclass(frozen=True, slots=True)
class Amount:
    """A dollar amount found in text, with where it was and whether it looked like money."""

    value: int
    start: int
    end: int
    explicit: bool  # had a "$" or a k/million suffix


def _amount_value(number: str, suffix: str | None) -> float:
    value = float(number.replace(",", ""))
    if suffix:
        key = suffix if suffix in vocab.MONEY_SUFFIXES else suffix.lower()
        value *= vocab.MONEY_SUFFIXES[key]
    return value


def find_amounts(text: str) -> list[Amount]:
    """Every dollar amount in `text`: "$700k", "700,000", "1.2 million", "$1.2M", "700000".

    A bare number counts only from 10,000 up, so "3 bedrooms", "6 months" or "2000 sq ft" are
    not prices.
    """
    amounts = []
    for match in _AMOUNT_RE.finditer(text):
        explicit = bool(match["cur"] or match["suf"])
        value = _amount_value(match["num"], match["suf"])
        if not explicit and value < _MIN_BARE_PRICE:
            continue
        if not explicit and _ZIP_BEFORE.search(text, 0, match.start()) and len(match["num"]) == 5:
            continue  # "homes in 97201" is a zip code, not a budget
        amounts.append(Amount(round(value), match.start(), match.end(), explicit))
    return amounts


def parse_price(text: str) -> int | None:
    """The first dollar amount in `text` as whole dollars, or None: "$1.2M" -> 1200000."""
    amounts = find_amounts(normalise(text))
    return amounts[0].value if amounts else None


_LOOSE_AMOUNT = (
    r"(?<![\w.,$])(?P<{n}cur>\$\s?)?(?P<{n}num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?![\d,.]*\d)(?:\s?(?P<{{n}}suf>{_SUFFIX})\b)?"
)
_RANGE_RE = re.compile(
    r"(?P<between>between\s+|from\s+)?"
    + _LOOSE_AMOUNT.format(n="a")
    + r"\s*(?P<sep>-|to|and|through|thru)\s*"
    + _LOOSE_AMOUNT.format(n="b")
    + _NOT_MONEY_AFTER,
    re.IGNORECASE,
)
_UPPER_BEFORE = re.compile(rf"\b(?:{_alternation(vocab.UPPER_BOUND_WORDS)})\s*$|<=?\s*$")
_LOWER_BEFORE = re.compile(rf"\b(?:{_alternation(vocab.LOWER_BOUND_WORDS)})\s*$|>=?\s*$")
_APPROX_BEFORE = re.compile(rf"\b(?:{_alternation(vocab.APPROXIMATE_WORDS)})\s*$")
_UPPER_AFTER = re.compile(rf"^\s*(?:{_alternation(vocab.UPPER_BOUND_AFTER)})")
_LOWER_AFTER = re.compile(rf"^\s*(?:{_alternation(vocab.LOWER_BOUND_AFTER)})")


def _range_match(text: str) -> tuple[int, int, tuple[int, int]] | None:
    """ "between 400k and 600k", "400-600k", "$400k to $600k" -> (low, high, span)."""
    for match in _RANGE_RE.finditer(text):
        if match["sep"] == "and" and not match["between"]:
            continue
        high = _amount_value(match["bnum"], match["bsuf"])
        if not (match["bcur"] or match["bsuf"]) and high < _MIN_BARE_PRICE:
            continue
        low = _amount_value(match["anum"], match["asuf"])
        if not match["asuf"] and match["bsuf"] and low * _amount_value("1", match["bsuf"]) <= high:
            low *= _amount_value("1", match["bsuf"])  # "400-600k": the suffix is shared
        if low > high:
            continue
        return round(low), round(high), match.span()
    return None


def extract_price_range(text: str, bare_is_max: bool = True) -> tuple[int | None, int | None]:
    """The (min_price, max_price) a message asks for; either may be None.

    "under 550k" -> (None, 550000); "at least 300k" -> (300000, None); "between 400k and 600k"
    and "400-600k" -> both; "around 500k" -> 10% either side. A bare amount ("3 bed house
    700k") is read as a budget, that is a maximum, unless `bare_is_max` is False.
    """
    text = normalise(text) if text != text.lower() else text
    found = _range_match(text)
    if found:
        return found[0], found[1]
    low: int | None = None
    high: int | None = None
    for amount in find_amounts(text):
        before = text[max(0, amount.start - 30) : amount.start]
        after = text[amount.end : amount.end + 12]
        if _APPROX_BEFORE.search(before):
            low = round(amount.value * (1 - APPROXIMATE_SPREAD))
            high = round(amount.value * (1 + APPROXIMATE_SPREAD))
        elif _UPPER_BEFORE.search(before) or _UPPER_AFTER.search(after):
            high = high if high is not None else amount.value
        elif _LOWER_BEFORE.search(before) or _LOWER_AFTER.search(after):
            low = low if low is not None else amount.value
        elif bare_is_max and high is None and low is None:
            high = amount.value
    return low, high


# ---------------------------------------------------------------------------------------------
# Rooms, size, count


_AT_LEAST = r"(?P<q>at least|min(?:imum)?(?: of)?|more than|over|no fewer than|no less than)?\s*"
_COUNT = rf"(?P<n>\d+(?:\.5)?|{_NUMBER_WORD})"
_OR_MORE = r"(?P<plus>\s*\+|\s+or more|\s+plus|\s+or more)?"
_BED_WORD = r"(?:bed(?:room)?s?|br|brs|bd|bds|bdrms?|bdr)\b"
_BATH_WORD = r"(?:(?:full )?bath(?:room)?s?|ba|bth|baths)\b"
_BEDS_RE = re.compile(rf"\b{_AT_LEAST}{_COUNT}{_OR_MORE}\s*-?\s*{_BED_WORD}")
_BATHS_RE = re.compile(
    rf"\b{_AT_LEAST}(?P<n>\d+(?:\.5)?|(?:{_NUMBER_WORD})(?: and a half)?){_OR_MORE}"
    rf"\s*-?\s*{_BATH_WORD}"
)
_STRICT = {"more than", "over"}


def _room_count(match: re.Match[str]) -> float | None:
    token = match["n"]
    half = token.endswith(" and a half")
    count: float | None = parse_count(token.removesuffix(" and a half"))
    if count is None:
        try:
            count = float(token)
        except ValueError:
            return None
    if half:
        count += 0.5
    if match["q"] in _STRICT:
        count = int(count) + 1  # "more than 2 bedrooms" is 3 or more
    return count


def extract_bedrooms(text: str) -> int | None:
    """The minimum number of bedrooms asked for: "3 bed", "three-bedroom", "3br", "3+ bd"."""
    match = _BEDS_RE.search(normalise(text))
    if not match:
        return None
    count = _room_count(match)
    return None if count is None else int(count)


def extract_bathrooms(text: str) -> float | None:
    """The minimum number of bathrooms: "2 baths", "2.5 bathrooms", "two and a half baths"."""
    match = _BATHS_RE.search(normalise(text))
    if not match:
        return None
    count = _room_count(match)
    if count is None:
        return None
    return int(count) if float(count).is_integer() else count


_SQFT_UNIT = r"(?:sq\.?\s?ft\.?|sqft|sq\.?\s?feet|square\s?f(?:ee|oo)t(?:age)?|sf\b|ft2|ft²|square)"
_SQFT_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s?k?"
_SQFT_RANGE_RE = re.compile(
    rf"(?:between\s+|from\s+)?(?<![\w.,$])(?P<a>{_SQFT_NUMBER})\s*(?:-|to|and)\s*(?P<b>{_SQFT_NUMBER})"
    rf"\s*{_SQFT_UNIT}"
)
_SQFT_RE = re.compile(rf"(?<![\w.,$])(?P<n>{_SQFT_NUMBER})\s*(?P<plus>\+)?\s*{_SQFT_UNIT}")


def _sqft_value(token: str) -> int:
    token = token.replace(",", "").replace(" ", "")
    if token.endswith("k"):
        return round(float(token[:-1]) * 1000)
    return round(float(token))


def _sqft_match(text: str) -> tuple[int | None, int | None, list[tuple[int, int]]]:
    found = _SQFT_RANGE_RE.search(text)
    if found:
        return _sqft_value(found["a"]), _sqft_value(found["b"]), [found.span()]
    low: int | None = None
    high: int | None = None
    spans = []
    for match in _SQFT_RE.finditer(text):
        value = _sqft_value(match["n"])
        before = text[max(0, match.start() - 30) : match.start()]
        after = text[match.end() : match.end() + 12]
        spans.append(match.span())
        if _UPPER_BEFORE.search(before) or _UPPER_AFTER.search(after):
            high = value
        else:
            low = value  # "over 2000 sq ft", "2000+ sqft" and a bare "2000 sq ft" are minimums
    return low, high, spans


def extract_sqft(text: str) -> tuple[int | None, int | None]:
    """(min_sqft, max_sqft): "over 2000 sq ft", "at least 1,500 square feet", "under 1000 sf"."""
    low, high, _ = _sqft_match(normalise(text))
    return low, high


_LIMIT_PATTERNS = (
    rf"\b(?:show|give|list|find|get|send)(?: me)?(?: the)?(?: top| first| best)?\s+(?P<n>\d+|"
    rf"{_NUMBER_WORD})\b",
    rf"\b(?:top|first|best)\s+(?P<n>\d+|{_NUMBER_WORD})\b",
    rf"\b(?P<n>\d+|{_NUMBER_WORD})\s+(?:homes|houses|listings|properties|results|options|condos|"
    r"townhouses|townhomes|places|ones|matches|lots)\b",
)
_LIMIT_RES = tuple(
    re.compile(
        p + r"(?!\s*(?:-|\+)?\s*(?:bed|bd|br\b|bath|ba\b|k\b|%|sq|square|million|m\b|"
        r"thousand|year|month|,\d))"
    )
    for p in _LIMIT_PATTERNS
)


def extract_limit(text: str) -> int | None:
    """How many listings to show: "show me 5", "top 3", "10 listings" (1 to 50)."""
    text = normalise(text)
    for pattern in _LIMIT_RES:
        match = pattern.search(text)
        if match:
            count = parse_count(match["n"])
            if count:
                return max(1, min(50, count))
    return None


# ---------------------------------------------------------------------------------------------
# Types, status, sort, unsupported features


def extract_property_types(text: str) -> list[str]:
    """Every property type named, first mentioned first: "condos or townhomes" -> both."""
    return _table_matches(normalise(text), vocab.PROPERTY_TYPES)


def extract_property_type(text: str) -> str | None:
    """The property type asked for: condo/apartment/flat -> condo, duplex -> multi_family..."""
    types = extract_property_types(text)
    return types[0] if types else None


def extract_status(text: str) -> str | None:
    """ "for sale"/"available" -> active, "pending"/"under contract" -> pending, "sold" -> sold."""
    found = _table_matches(normalise(text), vocab.STATUSES)
    return found[0] if found else None


def extract_sort(text: str) -> str | None:
    """ "cheapest" -> price_asc, "most expensive" -> price_desc, "latest" -> newest,
    "largest" -> sqft_desc."""
    found = _table_matches(normalise(text), vocab.SORTS)
    return found[0] if found else None


def extract_unsupported(text: str) -> list[str]:
    """Search criteria the listing tool cannot filter by ("with a pool"), to say so honestly."""
    text = normalise(text)
    return [
        label
        for pattern, label in vocab.UNSUPPORTED_FEATURES
        if re.search(rf"\b(?:{pattern})\b", text)
    ]


# ---------------------------------------------------------------------------------------------
# Places


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
    rest = _mask(text, spans)
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


# ---------------------------------------------------------------------------------------------
# Periods, ids, emails, mortgage terms


_PERIOD_RE = re.compile(
    rf"\b(?:(?:last|past|previous|prior|over|for|in|during)\s+(?:the\s+)?(?:last\s+|past\s+)?)?"
    rf"(?P<n>\d+|{_NUMBER_WORD}|a|one)?[\s-]*(?P<unit>months?|mos?|years?|yrs?|quarters?)\b"
)


def extract_months(text: str) -> int | None:
    """A period in months, uncapped: "last 6 months" -> 6, "past 2 years" -> 24, "last year" -> 12.

    Only read when the words around it mark a period ("last", "past", "over", "for", or a
    number), so "monthly" or "this year" alone do not count.
    """
    text = normalise(text)
    for match in _PERIOD_RE.finditer(text):
        whole = match.group()
        if match["n"] is None and not re.match(r"(?:last|past|previous|prior|over)", whole):
            continue
        count = parse_count(match["n"]) if match["n"] else 1
        if count is None:
            count = 1
        unit = match["unit"]
        factor = 12 if unit.startswith("y") else 3 if unit.startswith("q") else 1
        return count * factor
    return None


_ID_RE = re.compile(r"\b[Ll](\d{6})\b")


def extract_listing_ids(text: str) -> list[str]:
    """Listing ids ("L" + 6 digits, any case) in order, without repeats: "l100234" -> "L100234"."""
    ids: list[str] = []
    for match in _ID_RE.finditer(text):
        listing_id = f"L{match[1]}"
        if listing_id not in ids:
            ids.append(listing_id)
    return ids


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")


def extract_email(text: str) -> str | None:
    """The first email address in `text`, or None."""
    match = _EMAIL_RE.search(text)
    return match.group().rstrip(".") if match else None


def _percent(name: str) -> str:
    return rf"(?P<{name}>\d+(?:\.\d+)?)\s*(?:%|percent|per cent|pct)"


_PERCENT_RE = re.compile(_percent("pct"))
_DOWN_RE = re.compile(
    rf"{_percent('pct')}\s*(?:down|deposit|downpayment|down payment)"
    rf"|(?:down(?: ?payment)?|deposit|put(?:ting)?(?: down)?)\s*(?:of|is|at|=|:)?\s*"
    rf"{_percent('pct2')}"
)
_DOWN_AMOUNT_RE = re.compile(
    _LOOSE_AMOUNT.format(n="a") + r"\s*(?:down|deposit|as (?:a |the )?down ?payment)"
    r"|(?:down ?payment|deposit|put(?:ting)?(?: down)?)\s*(?:of|is|=|:)?\s*"
    + _LOOSE_AMOUNT.format(n="b"),
    re.IGNORECASE,
)
_RATE_RE = re.compile(
    rf"(?:rate|interest|apr|at)\s*(?:of|is|at|=|:)?\s*{_percent('pct')}"
    rf"|{_percent('pct2')}\s*(?:interest|rate|apr|fixed|mortgage|loan)"
    r"|(?:rate|interest|apr)\s*(?:of|is|at|=|:)?\s*(?P<bare>1?\d(?:\.\d+)?)\b"
    r"(?!\s*(?:year|yr|%))"
)
_TERM_RE = re.compile(
    rf"\b(?P<n>\d+|{_NUMBER_WORD})[\s-]*(?:years?|yrs?|yr)\b(?:[\s-]*(?:fixed|term|mortgage|loan))?"
)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def extract_mortgage_terms(text: str) -> dict[str, float]:
    """The mortgage figures given: price, down payment (percent), annual rate (percent), years.

    "$650k house with 10% down at 6% for 15 years" -> all four. A down payment in dollars is
    turned into a percent of the price. Missing figures are simply absent (the tool defaults
    them).
    """
    text = normalise(text)
    terms: dict[str, float] = {}
    spans: list[tuple[int, int]] = []
    down = _DOWN_RE.search(text)
    if down:
        terms["down_payment_pct"] = _number(float(down["pct"] or down["pct2"]))
        spans.append(down.span())
    down_amount = None if down else _DOWN_AMOUNT_RE.search(text)
    if down_amount:
        spans.append(down_amount.span())
    rate_text = _mask(text, spans)
    rate = _RATE_RE.search(rate_text)
    if rate:
        terms["annual_rate_pct"] = _number(float(rate["pct"] or rate["pct2"] or rate["bare"]))
        spans.append(rate.span())
    elif not down:
        lone = _PERCENT_RE.search(rate_text)
        if lone:
            terms["annual_rate_pct"] = _number(float(lone["pct"]))
            spans.append(lone.span())
    term = _TERM_RE.search(_mask(text, spans))
    if term:
        years = parse_count(term["n"])
        if years:
            terms["years"] = years
            spans.append(term.span())
    price = parse_price(_mask(text, spans))
    if price:
        terms["price"] = price
    if down_amount and price:
        dollars = parse_price(down_amount.group())
        if dollars and dollars < price:
            terms["down_payment_pct"] = _number(round(dollars / price * 100, 2))
    return terms


# ---------------------------------------------------------------------------------------------
# References to earlier listings


_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}
_ORDINAL_RE = re.compile(
    rf"\b(?:the\s+)?(?P<ord>{'|'.join(_ORDINALS)})\s+(?:one|listing|home|house|property|result|"
    r"condo|townhouse|place)\b|(?:#|number\s+|no\.\s*)(?P<num>[1-9])\b"
)
_PLURAL_REF_RE = re.compile(
    r"\b(?:these|those|them|they|all of them|the (?:listings|results|homes|houses|properties|"
    r"ones|condos)|my listings|both|each of them)\b"
)
_SINGLE_REF_RE = re.compile(
    r"\b(?:(?:that|this|the) (?:one|house|home|listing|property|place|condo|townhouse)|it)\b"
)
_TOP_N_RE = re.compile(rf"\b(?:top|first|best)\s+(?P<n>\d+|{_NUMBER_WORD})\b")
_PRICE_ON_LINE_RE = re.compile(r"\$\s?\d{1,3}(?:,\d{3})+|\$\s?\d+(?:\.\d+)?\s?[kKmM]\b")


def ids_in_history(history: Sequence[dict[str, str]]) -> list[str]:
    """The listing ids of the most recent earlier message that mentions any."""
    for turn in reversed(history):
        ids = extract_listing_ids(turn.get("content") or "")
        if ids:
            return ids
    return []


def price_in_history(listing_id: str, history: Sequence[dict[str, str]]) -> int | None:
    """The price given for `listing_id` on the same line as its id, newest message first."""
    for turn in reversed(history):
        for line in (turn.get("content") or "").splitlines():
            if listing_id in line.upper():
                match = _PRICE_ON_LINE_RE.search(line)
                if match:
                    return parse_price(match.group())
    return None


def referenced_ids(text: str, history: Sequence[dict[str, str]]) -> tuple[list[str], bool]:
    """Listing ids a message points at without naming ("these", "the second one", "top 3").

    Returns (ids, guessed): `guessed` is True when one listing was picked from several.
    """
    text = normalise(text)
    earlier = ids_in_history(history)
    if not earlier:
        return [], False
    ordinal = _ORDINAL_RE.search(text)
    if ordinal:
        index = _ORDINALS[ordinal["ord"]] if ordinal["ord"] else int(ordinal["num"]) - 1
        if -len(earlier) <= index < len(earlier):
            return [earlier[index]], False
        return [], False
    top = _TOP_N_RE.search(text)
    if top:
        count = parse_count(top["n"]) or len(earlier)
        return earlier[:count], False
    if _PLURAL_REF_RE.search(text):
        return earlier, False
    if _SINGLE_REF_RE.search(text):
        return earlier[:1], len(earlier) > 1
    return [], False


# ---------------------------------------------------------------------------------------------
# Intents


INTENT_PATTERNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("report", (r"e-?mail", r"send", r"mail", r"forward", r"share")),
    (
        "performance",
        (
            r"performance",
            r"perform(?:ing|s|ed)?",
            r"recommendations?",
            r"how (?:are|is|did|have) (?:they|it|these|those|my listings?|the listings?) "
            r"(?:doing|going|done)",
            r"report",
        ),
    ),
    (
        "metrics",
        (
            r"metrics",
            r"stats",
            r"statistics",
            r"analytics",
            r"engagement",
            r"page ?views",
            r"views",
            r"saves",
            r"inquiries",
            r"clicks?",
            r"click[- ]through",
            r"conversions?(?: rates?)?",
            r"traffic",
        ),
    ),
    (
        "mortgage",
        (
            r"mortgages?",
            r"monthly payments?",
            r"payments?",
            r"loan",
            r"down ?payment",
            r"\d+(?:\.\d+)?\s*(?:%|percent) down",
            r"amortiz\w*",
            r"principal and interest",
            r"p&i",
            r"interest rate",
            r"per month",
            r"a month",
            r"monthly cost",
            r"refinanc\w*",
            r"\d+[- ]?(?:year|yr) fixed",
        ),
    ),
    (
        "compare",
        (
            r"compare",
            r"comparison",
            r"comparing",
            r"versus",
            r"vs\.?",
            r"side by side",
            r"difference between",
            r"which (?:is|one is|city is|market is) (?:cheaper|better|hotter|more)",
            r"better market",
        ),
    ),
    (
        "trends",
        (
            r"trends?",
            r"trending",
            r"price history",
            r"historical",
            r"history",
            r"appreciat\w*",
            r"over time",
            r"(?:have|did|has) (?:home )?prices? (?:changed|gone|moved|risen|fallen|dropped)",
            r"prices? (?:changed|gone up|gone down|moved)",
            r"year over year",
            r"month by month",
            r"monthly (?:median|prices?|sales)",
            r"going up",
            r"going down",
        ),
    ),
    (
        "market",
        (
            r"markets?",
            r"market analysis",
            r"median(?: home| sale)? prices?",
            r"average (?:home |sale )?prices?",
            r"avg prices?",
            r"price per (?:sq|square)",
            r"\$/sq ?ft",
            r"inventory",
            r"competitive",
            r"competition",
            r"days on market",
            r"hot",
            r"buyer'?s market",
            r"seller'?s market",
            r"how is .{1,30} doing",
            r"good time to buy",
            r"overview",
            r"what are prices like",
            r"how expensive is",
            r"(?:home|house|housing|real estate|property) prices (?:in|for)",
            r"housing",
            r"stats",
            r"statistics",
            r"numbers",
            r"good (?:place|city|area) to (?:buy|invest)",
            r"invest(?:ment|ing)? in",
        ),
    ),
    (
        "details",
        (
            r"details?",
            r"tell me (?:more )?about",
            r"more (?:info|information) (?:on|about)",
            r"more about",
            r"describe",
            r"what is",
            r"look at",
            r"info(?:rmation)? (?:on|about)",
        ),
    ),
    (
        "search",
        (
            r"homes?",
            r"houses?",
            r"listings?",
            r"properties",
            r"property",
            r"places? to (?:buy|live)",
            r"find",
            r"search",
            r"looking for",
            r"look for",
            r"show me",
            r"buy",
            r"for sale",
            r"available",
            r"anything",
        ),
    ),
    (
        "help",
        (
            r"help",
            r"what can you do",
            r"what do you do",
            r"how do(?:es)? (?:this|it|you) work",
            r"what can i ask",
            r"capabilities",
            r"examples?",
            r"who are you",
            r"what are you",
        ),
    ),
)

_PERFORMANCE_WORDS_RE = re.compile(r"\bperform\w*|\bmetrics\b|\bstats\b|\brecommendations?\b")
_THANKS_RE = re.compile(r"^(?:thanks|thank you|thx|cheers)\b")
_GREETING_RE = re.compile(
    r"^(?:hi|hello|hey|howdy|hiya|yo|greetings|good (?:morning|afternoon|evening)|"
    r"thanks|thank you|thx|cheers|ok(?:ay)?|great|cool|perfect|nice)"
    r"(?: there| so much| a lot| again)?[\s!.,:)]*$"
)
_FOLLOW_UP_RE = re.compile(
    r"^(?:and|what about|how about|what if|ok(?:ay)?|now|also|only|just|same|instead|but|"
    r"make it|then|with|without|in|under|over|cheaper|bigger|larger|sorted|sort|"
    r"actually|rather|try)\b"
)
_THERE_RE = re.compile(r"\b(?:there|that city|that market|same city|that area|it)\b")
_MORE_RE = re.compile(
    r"\b(?:more results|(?:show|give) (?:me )?more|next page|next \d+|more listings|see more|"
    r"more of them|the rest|more (?:homes|houses|condos|options)|^more)\b"
)
_ANYWHERE_RE = re.compile(r"\b(?:anywhere|any city|all cities|everywhere|nationwide)\b")
_ON_MARKET_RE = re.compile(r"\b(?:on|off) the market\b|\bdays on market\b")


def detect_intents(text: str) -> list[str]:
    """Every intent whose wording appears in `text` (normalised), in the table's order."""
    text = normalise(text)
    text = _ON_MARKET_RE.sub(" ", text)
    intents = [
        intent
        for intent, patterns in INTENT_PATTERNS
        if re.search(rf"\b(?:{_alternation(patterns)})(?!\w)", text)
    ]
    if _GREETING_RE.match(text):
        intents.append("greeting")
    return intents


def is_follow_up(text: str) -> bool:
    """Whether the message reads as a continuation ("and in Seattle?", "what about condos?")."""
    return bool(_FOLLOW_UP_RE.match(normalise(text)))


# ---------------------------------------------------------------------------------------------
# Search filters


@dataclass(slots=True)
class _Understood:
    """Everything extracted from one message, before deciding what to do with it."""

    text: str
    places: list[Place]
    unknown_place: str | None
    ids: list[str]
    email: str | None
    filters: dict[str, Any]
    property_types: list[str]
    months: int | None
    mortgage: dict[str, float]
    unsupported: list[str]
    intents: list[str]
    follow_up: bool
    more: bool
    anywhere: bool
    there: bool


def _search_filters(text: str) -> tuple[dict[str, Any], list[str]]:
    """The non-place search filters of a message, and every property type it names."""
    spans = [m.span() for m in _ID_RE.finditer(text)] + [m.span() for m in _EMAIL_RE.finditer(text)]
    text = _mask(text, spans)
    filters: dict[str, Any] = {}
    min_sqft, max_sqft, sqft_spans = _sqft_match(text)
    text = _mask(text, sqft_spans)
    beds = _BEDS_RE.search(text)
    baths = _BATHS_RE.search(text)
    room_spans = [m.span() for m in (beds, baths) if m]
    if beds and (count := _room_count(beds)) is not None:
        filters["min_bedrooms"] = int(count)
    if baths and (count := _room_count(baths)) is not None:
        filters["min_bathrooms"] = _number(count)
    text = _mask(text, room_spans)
    min_price, max_price = extract_price_range(text)
    if min_price is not None:
        filters["min_price"] = min_price
    if max_price is not None:
        filters["max_price"] = max_price
    types = extract_property_types(text)
    if types:
        filters["property_type"] = types[0]
    if status := extract_status(text):
        filters["status"] = status
    if min_sqft is not None:
        filters["min_sqft"] = min_sqft
    if max_sqft is not None:
        filters["max_sqft"] = max_sqft
    if sort := extract_sort(text):
        filters["sort"] = sort
    if limit := extract_limit(text):
        filters["limit"] = limit
    return filters, types


def _understand(message: str) -> _Understood:
    text = normalise(message)
    filters, types = _search_filters(text)
    return _Understood(
        text=text,
        places=extract_places(message),
        unknown_place=extract_unknown_place(message),
        ids=extract_listing_ids(message),
        email=extract_email(message),
        filters=filters,
        property_types=types,
        months=extract_months(text),
        mortgage=extract_mortgage_terms(text),
        unsupported=extract_unsupported(text),
        intents=detect_intents(text),
        follow_up=is_follow_up(text),
        more=bool(_MORE_RE.search(text)),
        anywhere=bool(_ANYWHERE_RE.search(text)),
        there=bool(_THERE_RE.search(text)),
    )


SEARCH_KEYS = (
    "city",
    "state",
    "min_price",
    "max_price",
    "min_bedrooms",
    "min_bathrooms",
    "property_type",
    "status",
    "min_sqft",
    "max_sqft",
    "sort",
    "limit",
    "offset",
)


def _place_filters(place: Place) -> dict[str, str]:
    return {"city": place.city, "state": place.state} if place.city else {"state": place.state}


def merge_filters(earlier: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A follow-up's filters over the earlier ones: new values win, the rest are kept.

    A new place replaces the old one whole (a state alone drops the city); a new single price
    bound keeps the other old bound only when the two still make a range.
    """
    merged = dict(earlier)
    if "city" in new or "state" in new:
        merged.pop("city", None)
        merged.pop("state", None)
    if ("min_price" in new) != ("max_price" in new):
        low = new.get("min_price", merged.get("min_price"))
        high = new.get("max_price", merged.get("max_price"))
        if low is not None and high is not None and low > high:
            merged.pop("max_price" if "min_price" in new else "min_price", None)
    merged.pop("offset", None)
    merged.update(new)
    return {key: merged[key] for key in SEARCH_KEYS if key in merged}


# ---------------------------------------------------------------------------------------------
# Planning


@dataclass(slots=True)
class _Memory:
    """What the earlier user messages established, rebuilt from the text on every request."""

    intent: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    place: Place | None = None
    places: list[Place] = field(default_factory=list)
    months: int | None = None
    mortgage: dict[str, float] = field(default_factory=dict)


def _remember(memory: _Memory, plan: Plan, places: list[Place]) -> _Memory:
    if plan.intent in {"greeting", "thanks", "help", "unknown"}:
        return memory
    updated = replace(memory, intent=plan.intent)
    if plan.intent == "search" and plan.calls:
        updated.filters = dict(plan.filters)
        city = plan.filters.get("city")
        if city:
            updated.place = Place(city, plan.filters["state"])
    if plan.intent in {"market", "trends", "compare"} and places:
        updated.places = places
        updated.place = places[-1] if plan.intent != "compare" else places[0]
    if plan.intent == "trends":
        updated.months = plan.months
    if plan.intent == "mortgage":
        updated.mortgage = dict(plan.mortgage)
    return updated


def _own_intent(seen: _Understood) -> str | None:
    """The intent the message states by its own words and entities, before context."""
    intents = set(seen.intents)
    cities = [p for p in seen.places if p.city]
    if "greeting" in intents and len(seen.text) < 40:
        return "thanks" if _THANKS_RE.match(seen.text) else "greeting"
    refers = bool(seen.ids or _PLURAL_REF_RE.search(seen.text) or _SINGLE_REF_RE.search(seen.text))
    if seen.email and ({"report", "performance"} & intents or refers):
        return "report"
    if "report" in intents and refers and not _PERFORMANCE_WORDS_RE.search(seen.text):
        return "report"
    if ("performance" in intents or "metrics" in intents) and refers and not cities:
        return "performance" if "performance" in intents else "metrics"
    if "mortgage" in intents:
        return "mortgage"
    if len(cities) >= 2 and ({"compare", "market", "trends"} & intents):
        return "compare"
    if "compare" in intents:
        return "compare"
    if "trends" in intents:
        return "trends"
    if "market" in intents:
        return "market"
    if seen.ids:
        return "details"
    if "details" in intents and _ORDINAL_RE.search(seen.text):
        return "details"
    if "search" in intents or (seen.property_types and seen.places):
        return "search"
    if "help" in intents:
        return "help"
    return None


def _has_search_content(seen: _Understood) -> bool:
    return bool(seen.filters or seen.property_types or seen.more or seen.anywhere)


def plan_reply(message: str, history: list[dict[str, str]]) -> Plan:
    """Decide what to do with `message`, given the conversation before it (oldest first).

    `history` holds `{"role": "user"|"assistant", "content": str}` turns. Earlier user
    messages are re-planned in order to recover the filters, place and intent a follow-up
    builds on; earlier assistant messages are read for listing ids and their prices.
    """
    memory = _Memory()
    for index, turn in enumerate(history):
        if turn.get("role") == "user" and turn.get("content"):
            seen = _understand(turn["content"])
            plan = _plan(seen, memory, history[:index])
            memory = _remember(memory, plan, _plan_places(plan))
    return _plan(_understand(message), memory, history)


def _plan_places(plan: Plan) -> list[Place]:
    """The places a plan ended up about (for the next turn's "there")."""
    places = []
    for label in plan.places:
        city, _, state = label.partition(", ")
        if state:
            places.append(Place(city, state))
        else:
            code = next((c for c, n in vocab.STATES.items() if n == label), None)
            if code:
                places.append(Place(None, code))
    return places


def _plan(seen: _Understood, memory: _Memory, history: Sequence[dict[str, str]]) -> Plan:
    intent = _own_intent(seen)
    follow_up = seen.follow_up
    if intent is None:
        intent = _inherited_intent(seen, memory)
        follow_up = intent is not None
    elif memory.intent == intent and intent in {"mortgage", "trends", "market"}:
        follow_up = follow_up or not seen.places
    builders = {
        "greeting": _plan_greeting,
        "thanks": _plan_greeting,
        "help": _plan_help,
        "report": _plan_report,
        "performance": _plan_listing_analytics,
        "metrics": _plan_listing_analytics,
        "mortgage": _plan_mortgage,
        "compare": _plan_compare,
        "trends": _plan_market,
        "market": _plan_market,
        "details": _plan_details,
        "search": _plan_search,
    }
    if intent is None:
        return Plan(intent="unknown", not_understood=[seen.text] if seen.text else [])
    plan = builders[intent](intent, seen, memory, history, follow_up)
    plan.follow_up = follow_up
    return plan


def _inherited_intent(seen: _Understood, memory: _Memory) -> str | None:
    """The intent of a message without its own ("and Seattle?", "what about 4 bedrooms?")."""
    if memory.intent == "mortgage" and (seen.mortgage or seen.months):
        return "mortgage"
    if memory.intent in {"trends", "market", "compare"} and (seen.places or seen.months):
        if seen.months and memory.intent == "market":
            return "trends"
        return memory.intent
    if _ORDINAL_RE.search(seen.text) and memory.intent == "search":
        return "details"
    if _has_search_content(seen) or (seen.places and memory.intent in {None, "search"}):
        return "search"
    if seen.places:
        return "search"
    if seen.unknown_place:
        return memory.intent if memory.intent in {"market", "trends"} else "search"
    return None


def _plan_greeting(intent: str, seen: _Understood, *_: Any) -> Plan:
    return Plan(intent=intent)


def _plan_help(intent: str, seen: _Understood, *_: Any) -> Plan:
    return Plan(intent="help")


def _plan_search(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    new = dict(seen.filters)
    assumptions: list[str] = []
    not_understood = [f"filtering by {label}" for label in seen.unsupported]
    if len(seen.property_types) > 1:
        not_understood.append(
            "more than one property type at a time (searched "
            f"{vocab.PROPERTY_TYPE_LABELS[seen.property_types[0]][1]} only)"
        )
    places = seen.places
    if len(places) > 1:
        not_understood.append(
            f"several places at once (searched {places[0].label} only; "
            "ask about the others one by one, or compare their markets)"
        )
    if places:
        new.update(_place_filters(places[0]))
    elif seen.unknown_place:
        return Plan(
            intent="search",
            missing="city",
            not_understood=[seen.unknown_place],
            filters=new,
        )
    builds_on = memory.intent == "search" and memory.filters and (follow_up or not places)
    if builds_on:
        filters = merge_filters(memory.filters, new)
        if seen.anywhere:
            filters.pop("city", None)
            filters.pop("state", None)
        if seen.more and not new.get("limit"):
            step = memory.filters.get("limit", 10)
            filters["offset"] = memory.filters.get("offset", 0) + step
            filters["limit"] = step
        kept = [k for k in memory.filters if k in filters and k not in new and k != "offset"]
        if kept:
            assumptions.append("kept your earlier filters")
        follow_up = True
    else:
        filters = {key: new[key] for key in SEARCH_KEYS if key in new}
        if (seen.there or follow_up) and memory.place and not places and not seen.anywhere:
            filters = merge_filters(filters, _place_filters(memory.place))
            assumptions.append(f"{memory.place.label} from earlier in the conversation")
    return Plan(
        intent="search",
        calls=[ToolCall("search_listings", filters)],
        filters=filters,
        assumptions=assumptions,
        not_understood=not_understood,
        follow_up=follow_up,
    )


def _resolve_places(
    seen: _Understood, memory: _Memory, assumptions: list[str]
) -> tuple[list[Place], bool]:
    """The places a market question is about, falling back on the conversation's last one."""
    cities = [p for p in seen.places if p.city]
    if cities:
        return cities, False
    if memory.place and memory.place.city:
        assumptions.append(f"{memory.place.label} from earlier in the conversation")
        return [memory.place], True
    return [], False


def _plan_market(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    assumptions: list[str] = []
    places, from_memory = _resolve_places(seen, memory, assumptions)
    if len(places) > 1:
        return _plan_compare("compare", seen, memory, history, follow_up)
    not_understood = [seen.unknown_place] if seen.unknown_place and not places else []
    states_only = [p for p in seen.places if not p.city]
    if states_only and not places:
        not_understood.append(f"state-wide figures for {states_only[0].label} (ask about a city)")
    if not places:
        return Plan(intent=intent, missing="city", not_understood=not_understood)
    place = places[0]
    arguments: dict[str, Any] = {"city": place.city, "state": place.state}
    months = seen.months
    if intent == "trends" and months is None and follow_up and memory.months:
        months = memory.months
    if intent == "trends" and months is not None:
        if months > MAX_TREND_MONTHS:
            assumptions.append(f"{MAX_TREND_MONTHS} months, the most the data goes back")
            months = MAX_TREND_MONTHS
        months = max(1, months)
        arguments["months"] = months
    name = "get_price_trends" if intent == "trends" else "get_market_analysis"
    return Plan(
        intent=intent,
        calls=[ToolCall(name, arguments)],
        places=[place.label],
        months=months if intent == "trends" else None,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_compare(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    assumptions: list[str] = []
    cities = [p for p in seen.places if p.city]
    if memory.intent == "compare" and memory.places and (follow_up or len(cities) < 2):
        cities = memory.places + [p for p in cities if p not in memory.places]
        if seen.places:
            assumptions.append("added to the markets you were comparing")
    elif len(cities) == 1 and memory.place and memory.place.city and memory.place not in cities:
        cities = [memory.place, *cities]
        assumptions.append(f"{memory.place.label} from earlier in the conversation")
    not_understood = [seen.unknown_place] if seen.unknown_place else []
    if len(cities) > MAX_COMPARE:
        not_understood.append(
            f"more than {MAX_COMPARE} markets at once (compared the first {MAX_COMPARE})"
        )
        cities = cities[:MAX_COMPARE]
    if len(cities) < 2:
        if len(cities) == 1:
            plan = _plan_market("market", seen, memory, history, follow_up)
            plan.not_understood.append("a comparison needs at least two cities")
            return plan
        return Plan(intent="compare", missing="cities", not_understood=not_understood)
    labels = [p.label for p in cities]
    return Plan(
        intent="compare",
        calls=[ToolCall("compare_markets", {"cities": labels})],
        places=labels,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_mortgage(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    terms = dict(seen.mortgage)
    assumptions: list[str] = []
    ids, guessed = _ids_for(seen, history)
    if "price" not in terms and ids:
        price = price_in_history(ids[0], history)
        if price:
            terms["price"] = price
            assumptions.append(f"the price of {ids[0]} from earlier in the conversation")
            if guessed:
                assumptions.append(f"{ids[0]}, the first listing from earlier")
    if memory.intent == "mortgage" and memory.mortgage and (follow_up or "price" not in terms):
        terms = {**memory.mortgage, **terms}
        assumptions.append("kept the other figures from your last estimate")
    terms = {k: terms[k] for k in MORTGAGE_KEYS if k in terms}
    if "years" in terms:
        terms["years"] = int(max(1, min(40, terms["years"])))
    if "price" not in terms:
        if ids:
            return Plan(
                intent="mortgage",
                calls=[ToolCall("get_listing", {"listing_id": ids[0]})],
                mortgage=terms,
                listing_ids=ids[:1],
                missing="price",
            )
        return Plan(intent="mortgage", mortgage=terms, missing="price")
    return Plan(
        intent="mortgage",
        calls=[ToolCall("estimate_mortgage", dict(terms))],
        mortgage=terms,
        listing_ids=ids[:1],
        assumptions=assumptions,
    )


def _ids_for(seen: _Understood, history: Sequence[dict[str, str]]) -> tuple[list[str], bool]:
    if seen.ids:
        return seen.ids, False
    return referenced_ids(seen.text, history)


def _plan_listing_analytics(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    ids, guessed = _ids_for(seen, history)
    if not ids:
        return Plan(intent=intent, missing="listing_ids")
    not_understood = []
    if len(ids) > MAX_METRIC_IDS:
        not_understood.append(f"more than {MAX_METRIC_IDS} listings at once")
        ids = ids[:MAX_METRIC_IDS]
    name = "generate_performance_report" if intent == "performance" else "get_listing_metrics"
    assumptions = [] if seen.ids else ["the listings from earlier in the conversation"]
    if guessed:
        assumptions = [f"{ids[0]}, the first listing from earlier"]
    return Plan(
        intent=intent,
        calls=[ToolCall(name, {"listing_ids": ids})],
        listing_ids=ids,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_report(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    ids, guessed = _ids_for(seen, history)
    if not ids:
        ids, guessed = ids_in_history(history), False
    assumptions = [] if seen.ids or not ids else ["the listings from earlier in the conversation"]
    if guessed:
        assumptions = [f"{ids[0]}, the first listing from earlier"]
    if not seen.email:
        return Plan(intent="report", listing_ids=ids, missing="email")
    if not ids:
        return Plan(intent="report", recipient=seen.email, missing="listing_ids")
    not_understood = []
    if len(ids) > MAX_REPORT_IDS:
        not_understood.append(f"more than {MAX_REPORT_IDS} listings in one report")
        ids = ids[:MAX_REPORT_IDS]
    return Plan(
        intent="report",
        calls=[
            ToolCall("send_listing_report", {"listing_ids": ids, "recipient_email": seen.email})
        ],
        listing_ids=ids,
        recipient=seen.email,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_details(
    intent: str,
    seen: _Understood,
    memory: _Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    ids, guessed = _ids_for(seen, history)
    if not ids:
        return Plan(intent="listing_details", missing="listing_ids")
    not_understood = []
    if len(ids) > MAX_DETAIL_CALLS:
        not_understood.append(f"details of more than {MAX_DETAIL_CALLS} listings at once")
        ids = ids[:MAX_DETAIL_CALLS]
    assumptions = [f"{ids[0]}, the first listing from earlier"] if guessed else []
    return Plan(
        intent="listing_details",
        calls=[ToolCall("get_listing", {"listing_id": i}) for i in ids],
        listing_ids=ids,
        assumptions=assumptions,
        not_understood=not_understood,
    )
