"""Stage 2, extract: what one message says, as values: money and ranges, rooms, sizes, counts,
types, status, sort, periods and relative dates, ids, emails, mortgage and income figures, and
the cue words later stages read (intents, "more", "there", "anywhere", negation).

Every extractor is a small function over the normalised text reading the tables in
`vocabulary`; `understand` runs them all and returns an `Understood`. Places have their own
module (`places.py`), being the one extractor that needs fuzzy matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.agent.offline import vocabulary as vocab
from app.agent.offline.normalise import (
    NUMBER_WORD,
    alternation,
    mask,
    normalise,
    parse_count,
    table_matches,
)
from app.agent.offline.places import (
    Place,
    extract_places,
    extract_unknown_place,
)

APPROXIMATE_SPREAD = 0.1


_SUFFIX = alternation(
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


LOOSE_AMOUNT = (
    r"(?<![\w.,$])(?P<{n}cur>\$\s?)?(?P<{n}num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    rf"(?![\d,.]*\d)(?:\s?(?P<{{n}}suf>{_SUFFIX})\b)?"
)
_RANGE_RE = re.compile(
    r"(?P<between>between\s+|from\s+)?"
    + LOOSE_AMOUNT.format(n="a")
    + r"\s*(?P<sep>-|to|and|through|thru)\s*"
    + LOOSE_AMOUNT.format(n="b")
    + _NOT_MONEY_AFTER,
    re.IGNORECASE,
)
UPPER_BEFORE = re.compile(rf"\b(?:{alternation(vocab.UPPER_BOUND_WORDS)})\s*$|<=?\s*$")
_LOWER_BEFORE = re.compile(rf"\b(?:{alternation(vocab.LOWER_BOUND_WORDS)})\s*$|>=?\s*$")
_APPROX_BEFORE = re.compile(rf"\b(?:{alternation(vocab.APPROXIMATE_WORDS)})\s*$")
UPPER_AFTER = re.compile(rf"^\s*(?:{alternation(vocab.UPPER_BOUND_AFTER)})")
_LOWER_AFTER = re.compile(rf"^\s*(?:{alternation(vocab.LOWER_BOUND_AFTER)})")


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
        elif UPPER_BEFORE.search(before) or UPPER_AFTER.search(after):
            high = high if high is not None else amount.value
        elif _LOWER_BEFORE.search(before) or _LOWER_AFTER.search(after):
            low = low if low is not None else amount.value
        elif bare_is_max and high is None and low is None:
            high = amount.value
    return low, high


_AT_LEAST = r"(?P<q>at least|min(?:imum)?(?: of)?|more than|over|no fewer than|no less than)?\s*"
_COUNT = rf"(?P<n>\d+(?:\.5)?|{NUMBER_WORD})"
_OR_MORE = r"(?P<plus>\s*\+|\s+or more|\s+plus|\s+or more)?"
_BED_WORD = r"(?:bed(?:room)?s?|br|brs|bd|bds|bdrms?|bdr)\b"
_BATH_WORD = r"(?:(?:full )?bath(?:room)?s?|ba|bth|baths)\b"
_BEDS_RE = re.compile(rf"\b{_AT_LEAST}{_COUNT}{_OR_MORE}\s*-?\s*{_BED_WORD}")
_BATHS_RE = re.compile(
    rf"\b{_AT_LEAST}(?P<n>\d+(?:\.5)?|(?:{NUMBER_WORD})(?: and a half)?){_OR_MORE}"
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
        if UPPER_BEFORE.search(before) or UPPER_AFTER.search(after):
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
    rf"{NUMBER_WORD})\b",
    rf"\b(?:top|first|best)\s+(?P<n>\d+|{NUMBER_WORD})\b",
    rf"\b(?P<n>\d+|{NUMBER_WORD})\s+(?:homes|houses|listings|properties|results|options|condos|"
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


def extract_property_types(text: str) -> list[str]:
    """Every property type named, first mentioned first: "condos or townhomes" -> both."""
    return table_matches(normalise(text), vocab.PROPERTY_TYPES)


def extract_property_type(text: str) -> str | None:
    """The property type asked for: condo/apartment/flat -> condo, duplex -> multi_family..."""
    types = extract_property_types(text)
    return types[0] if types else None


def extract_status(text: str) -> str | None:
    """ "for sale"/"available" -> active, "pending"/"under contract" -> pending, "sold" -> sold."""
    found = table_matches(normalise(text), vocab.STATUSES)
    return found[0] if found else None


def extract_sort(text: str) -> str | None:
    """ "cheapest" -> price_asc, "most expensive" -> price_desc, "latest" -> newest,
    "largest" -> sqft_desc."""
    found = table_matches(normalise(text), vocab.SORTS)
    return found[0] if found else None


def extract_unsupported(text: str) -> list[str]:
    """Search criteria the listing tool cannot filter by ("with a pool"), to say so honestly."""
    text = normalise(text)
    return [
        label
        for pattern, label in vocab.UNSUPPORTED_FEATURES
        if re.search(rf"\b(?:{pattern})\b", text)
    ]


_PERIOD_RE = re.compile(
    rf"\b(?:(?:last|past|previous|prior|over|for|in|during)\s+(?:the\s+)?(?:last\s+|past\s+)?)?"
    rf"(?P<n>\d+|{NUMBER_WORD}|a|one)?[\s-]*(?P<unit>months?|mos?|years?|yrs?|quarters?)\b"
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


ID_RE = re.compile(r"\b[Ll](\d{6})\b")


def extract_listing_ids(text: str) -> list[str]:
    """Listing ids ("L" + 6 digits, any case) in order, without repeats: "l100234" -> "L100234"."""
    ids: list[str] = []
    for match in ID_RE.finditer(text):
        listing_id = f"L{match[1]}"
        if listing_id not in ids:
            ids.append(listing_id)
    return ids


EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")


def extract_email(text: str) -> str | None:
    """The first email address in `text`, or None."""
    match = EMAIL_RE.search(text)
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
    LOOSE_AMOUNT.format(n="a") + r"\s*(?:down|deposit|as (?:a |the )?down ?payment)"
    r"|(?:down ?payment|deposit|put(?:ting)?(?: down)?)\s*(?:of|is|=|:)?\s*"
    + LOOSE_AMOUNT.format(n="b"),
    re.IGNORECASE,
)
_RATE_RE = re.compile(
    rf"(?:rate|interest|apr|at)\s*(?:of|is|at|=|:)?\s*{_percent('pct')}"
    rf"|{_percent('pct2')}\s*(?:interest|rate|apr|fixed|mortgage|loan)"
    r"|(?:rate|interest|apr)\s*(?:of|is|at|=|:)?\s*(?P<bare>1?\d(?:\.\d+)?)\b"
    r"(?!\s*(?:year|yr|%))"
)
_TERM_RE = re.compile(
    rf"\b(?P<n>\d+|{NUMBER_WORD})[\s-]*(?:years?|yrs?|yr)\b(?:[\s-]*(?:fixed|term|mortgage|loan))?"
)


def as_number(value: float) -> float | int:
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
        terms["down_payment_pct"] = as_number(float(down["pct"] or down["pct2"]))
        spans.append(down.span())
    down_amount = None if down else _DOWN_AMOUNT_RE.search(text)
    if down_amount:
        spans.append(down_amount.span())
    rate_text = mask(text, spans)
    rate = _RATE_RE.search(rate_text)
    if rate:
        terms["annual_rate_pct"] = as_number(float(rate["pct"] or rate["pct2"] or rate["bare"]))
        spans.append(rate.span())
    elif not down:
        lone = _PERCENT_RE.search(rate_text)
        if lone:
            terms["annual_rate_pct"] = as_number(float(lone["pct"]))
            spans.append(lone.span())
    term = _TERM_RE.search(mask(text, spans))
    if term:
        years = parse_count(term["n"])
        if years:
            terms["years"] = years
            spans.append(term.span())
    price = parse_price(mask(text, spans))
    if price:
        terms["price"] = price
    if down_amount and price:
        dollars = parse_price(down_amount.group())
        if dollars and dollars < price:
            terms["down_payment_pct"] = as_number(round(dollars / price * 100, 2))
    return terms


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
        for intent, patterns in vocab.INTENT_CUES
        if re.search(rf"\b(?:{alternation(patterns)})(?!\w)", text)
    ]
    if _GREETING_RE.match(text):
        intents.append("greeting")
    return intents


def is_follow_up(text: str) -> bool:
    """Whether the message reads as a continuation ("and in Seattle?", "what about condos?")."""
    return bool(_FOLLOW_UP_RE.match(normalise(text)))


@dataclass(slots=True)
class Understood:
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


def search_filters(text: str) -> tuple[dict[str, Any], list[str]]:
    """The non-place search filters of a message, and every property type it names."""
    spans = [m.span() for m in ID_RE.finditer(text)] + [m.span() for m in EMAIL_RE.finditer(text)]
    text = mask(text, spans)
    filters: dict[str, Any] = {}
    min_sqft, max_sqft, sqft_spans = _sqft_match(text)
    text = mask(text, sqft_spans)
    beds = _BEDS_RE.search(text)
    baths = _BATHS_RE.search(text)
    room_spans = [m.span() for m in (beds, baths) if m]
    if beds and (count := _room_count(beds)) is not None:
        filters["min_bedrooms"] = int(count)
    if baths and (count := _room_count(baths)) is not None:
        filters["min_bathrooms"] = as_number(count)
    text = mask(text, room_spans)
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


def understand(message: str) -> Understood:
    text = normalise(message)
    filters, types = search_filters(text)
    return Understood(
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
