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
from datetime import date
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
    extract_place_elsewhere,
    extract_places,
    extract_unknown_place,
    place_spans,
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
        shared = not match["asuf"] and match["bsuf"] and low < _MIN_BARE_PRICE
        if shared and low * _amount_value("1", match["bsuf"]) <= high:
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
    if low is None and high is None and (short := _SHORT_BUDGET_RE.search(text)):
        high = int(short["n"]) * 1_000
    return low, high


# "budget is 550", "under 350": a budget said in thousands without the k (3-4 digits after a
# budget word, with no unit that would make it a size or a count).
_SHORT_BUDGET_RE = re.compile(
    r"\b(?:budget(?: is| of)?|under|below|up to|max|less than|no more than)\s+"
    r"(?P<n>[1-9]\d{2,3})\b(?![.,]\d|\s*(?:sq|square|ft|feet|sf|bed|br|bd|bath|ba\b|k\b|%|"
    r"days?|weeks?|months?|years?|mi\b|miles))"
)


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
_ON_MARKET_RE = re.compile(r"\b(?:(?:on|off|hit|hits|to) the market|came on the market)\b")


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


# ---------------------------------------------------------------------------------------------
# Bounds on rooms, zip codes, year built, listing age, description words, exclusions


_AT_MOST = (
    r"(?P<q>at most|up to|no more than|not more than|max(?:imum)?(?: of)?|under|fewer than|"
    r"less than|below)\s*"
)
_COUNT_AFTER = _COUNT.replace("(?P<n>", "(?P<n2>")
_MAX_BEDS_RE = re.compile(
    rf"\b{_AT_MOST}{_COUNT}\s*-?\s*{_BED_WORD}|\b{_COUNT_AFTER}\s*-?\s*{_BED_WORD}\s*"
    r"(?P<after>or (?:fewer|less)|max(?:imum)?|tops|at most)"
)
_MAX_BATHS_RE = re.compile(
    rf"\b{_AT_MOST}{_COUNT}\s*-?\s*{_BATH_WORD}|\b{_COUNT_AFTER}\s*-?\s*{_BATH_WORD}\s*"
    r"(?P<after>or (?:fewer|less)|max(?:imum)?|tops|at most)"
)
_ROOM_RANGE = r"(?:between\s+)?(?P<a>\d+|{n})\s*(?:-|to|or|and)\s*(?P<b>\d+|{n})[\s-]*{word}"
_BEDS_RANGE_RE = re.compile(r"\b" + _ROOM_RANGE.format(n=NUMBER_WORD, word=_BED_WORD))
_BATHS_RANGE_RE = re.compile(r"\b" + _ROOM_RANGE.format(n=NUMBER_WORD, word=_BATH_WORD))
_EXACT_BEDS_RE = re.compile(rf"\bexactly\s+{_COUNT}\s*-?\s*{_BED_WORD}")
_STRICT_MAX = {"under", "fewer than", "less than", "below"}


def room_bounds(text: str, kind: str) -> tuple[float | None, float | None, list[tuple[int, int]]]:
    """(min, max, spans) of bedrooms or bathrooms: "2-3 beds", "at most 3 bedrooms", "3 bedrooms
    or fewer", "exactly 2 bedrooms", "3+ beds", "at least 2 baths"."""
    ranged = (_BEDS_RANGE_RE if kind == "beds" else _BATHS_RANGE_RE).search(text)
    if ranged:
        low, high = parse_count(ranged["a"]), parse_count(ranged["b"])
        if low is not None and high is not None and low <= high:
            return low, high, [ranged.span()]
    if kind == "beds" and (exact := _EXACT_BEDS_RE.search(text)):
        count = parse_count(exact["n"])
        return count, count, [exact.span()]
    at_least = _BEDS_RE if kind == "beds" else _BATHS_RE
    most = (_MAX_BEDS_RE if kind == "beds" else _MAX_BATHS_RE).search(text)
    if most:
        token = most["n"] or most["n2"]
        count = parse_count(token)
        high = float(token) if count is None else count
        if most["q"] in _STRICT_MAX and float(high).is_integer():
            high = max(0, int(high) - 1)  # "under 4 bedrooms" is 3 at most
        low = at_least.search(mask(text, [most.span()]))
        if low and (low_count := _room_count(low)) is not None:
            return low_count, high, [most.span(), low.span()]
        return None, high, [most.span()]
    match = at_least.search(text)
    if match and (count := _room_count(match)) is not None:
        return count, None, [match.span()]
    return None, None, []


_ZIP_RE = re.compile(r"(?<![\w$.,])(?P<zip>\d{5})(?![\w,.]*\d|\s*(?:k\b|sq|square|\$|dollars))")
_ZIP_CUE_RE = re.compile(r"\bzip|\bpostcode|\bpostal code")
_ZIP_BEFORE_WORDS = re.compile(r"(?:\bin|\bnear|\baround|\bor|\band|,)\s*$")


def extract_zip_codes(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Five-digit ZIP codes: "in 97201", "zip 98033 or 98034"; a bare 5-digit number is a zip
    only after "in"/"near" or when the message speaks of zip codes (else it may be a price)."""
    cue = bool(_ZIP_CUE_RE.search(text))
    zips: list[str] = []
    spans = []
    for match in _ZIP_RE.finditer(text):
        before = text[max(0, match.start() - 12) : match.start()]
        if cue or (
            _ZIP_BEFORE_WORDS.search(before)
            and (zips or re.search(r"(?:in|near|around)\s*$", before))
        ):
            if match["zip"] not in zips:
                zips.append(match["zip"])
            spans.append(match.span())
    return zips, spans


_Y = r"(?:18|19|20)\d\d"  # a year; each pattern below names its own groups
_BUILT = r"\b(?:built|constructed)"
_YEAR_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"{_BUILT} (?:between|from) (?P<a>{_Y}) (?:and|to|-) (?P<b>{_Y})"), "range"),
    (
        re.compile(rf"{_BUILT} in the (?P<y>{_Y})s|\b(?P<y2>{_Y})s (?:homes?|houses?|builds?)"),
        "decade",
    ),
    (re.compile(rf"{_BUILT} (?:after|post) (?P<y>{_Y})|\bnewer than (?P<y2>{_Y})"), "after"),
    (
        re.compile(
            rf"{_BUILT} (?:since|in or after|from) (?P<y>{_Y})|\b(?P<y2>{_Y}) or (?:newer|later)"
        ),
        "since",
    ),
    (
        re.compile(rf"{_BUILT} (?:before|prior to|pre) (?P<y>{_Y})|\bolder than (?P<y2>{_Y})"),
        "before",
    ),
    (re.compile(rf"{_BUILT} in (?P<y>{_Y})"), "in"),
    (
        re.compile(
            r"\bnew(?:ly built| construction|er homes?| builds?)|\bbrand[- ]new (?:homes?|houses?)"
            rf"|{_BUILT} in the (?:last|past) (?P<n>\d+|{NUMBER_WORD}) years"
        ),
        "recent",
    ),
)
RECENT_BUILD_YEARS = 5


def extract_year_built(
    text: str, this_year: int
) -> tuple[int | None, int | None, list[tuple[int, int]]]:
    """(min_year_built, max_year_built, spans): "built after 2010" -> 2011, "built since 2010"
    -> 2010, "built before 1950" -> max 1949, "built in the 1990s", "new construction" (the
    last five years)."""
    for pattern, kind in _YEAR_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        groups = match.groupdict()
        year = next((int(groups[k]) for k in ("y", "y2") if groups.get(k)), None)
        span = [match.span()]
        if kind == "range":
            return int(match["a"]), int(match["b"]), span
        if kind == "decade" and year:
            return year, year + 9, span
        if kind == "after" and year:
            return year + 1, None, span
        if kind == "since" and year:
            return year, None, span
        if kind == "before" and year:
            return None, year - 1, span
        if kind == "in" and year:
            return year, year, span
        if kind == "recent":
            years = parse_count(groups["n"]) if groups.get("n") else RECENT_BUILD_YEARS
            return this_year - (years or RECENT_BUILD_YEARS), None, span
    return None, None, []


_LISTED_RE = re.compile(
    r"\b(?:listed|posted|new(?: listings?)?|added|came on(?: the market)?|hit the market"
    r"|on the market)"
    r"\s+(?:[a-z]+\s+){0,3}?(?:in\s+|within\s+|during\s+|over\s+)?(?:the\s+)?"
    r"(?:last|past|previous)\s+"
    rf"(?P<n>\d+|{NUMBER_WORD}|a|one)?\s*(?P<unit>days?|weeks?|months?)\b"
    r"|\b(?:listed|posted|new|added)\s+(?P<this>today|yesterday|this week|this month)\b"
)
_UNIT_DAYS = {"d": 1, "w": 7, "m": 30}
_THIS_DAYS = {"today": 0, "yesterday": 1, "this week": 7, "this month": 30}


def extract_listed_within(text: str) -> tuple[int | None, list[tuple[int, int]]]:
    """Days since listing: "listed in the last 7 days" -> 7, "new this week" -> 7,
    "listed in the past 2 weeks" -> 14, "posted in the last month" -> 30."""
    match = _LISTED_RE.search(text)
    if not match:
        return None, []
    if match["this"]:
        return _THIS_DAYS[match["this"]], [match.span()]
    count = parse_count(match["n"]) if match["n"] else 1
    return (count or 1) * _UNIT_DAYS[match["unit"][0]], [match.span()]


_KEYWORD_RES = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), word) for pattern, word in vocab.FEATURE_KEYWORDS
)


def extract_keywords(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Features to find in descriptions: "a yard for my dog" -> yard, "with a garage" -> garage."""
    words: list[str] = []
    spans = []
    for pattern, word in _KEYWORD_RES:
        for match in pattern.finditer(text):
            spans.append(match.span())
            if word not in words:
                words.append(word)
    return words, spans


_TYPE_WORDS = alternation(p for _, patterns in vocab.PROPERTY_TYPES for p in patterns)
_EXCLUDED_RE = re.compile(
    rf"\b(?:{alternation(vocab.EXCLUSION_WORDS)})\s+(?:an?\s+|any\s+|more\s+)?"
    rf"(?P<types>(?:{_TYPE_WORDS})(?:\s*(?:,|or|and|nor)\s*(?:an?\s+)?(?:{_TYPE_WORDS}))*)\b"
)


def extract_exclusions(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Property types to leave out: "not a condo", "no townhouses or condos", "except land"."""
    excluded: list[str] = []
    spans = []
    for match in _EXCLUDED_RE.finditer(text):
        spans.append(match.span())
        for kind in table_matches(match["types"], vocab.PROPERTY_TYPES):
            if kind not in excluded:
                excluded.append(kind)
    return excluded, spans


# ---------------------------------------------------------------------------------------------
# Income, debts and savings (affordability)


_PER_MONTH = r"\s*(?:a|per|/|each)\s*(?:month|mo)\b|\s*monthly\b"
_INCOME_RE = re.compile(
    r"(?:\b(?:i|we|my (?:wife|husband|partner) and i|household) "
    r"(?:make|makes|earn|earns|bring in|gross)"
    r"|\bincome(?: is| of)?|\bsalary(?: is| of)?|\bearning|\bpaid)\s*(?:about |around |roughly )?"
    + LOOSE_AMOUNT.format(n="a")
    + rf"(?P<monthly>{_PER_MONTH})?"
    r"|"
    + LOOSE_AMOUNT.format(n="b")
    + rf"(?P<monthly2>{_PER_MONTH})?\s*(?:a year |per year |annual )?"
    r"(?:salary|income|household income)\b",
    re.IGNORECASE,
)
_BUDGET_RE = re.compile(
    r"(?:can (?:afford|pay|spend|do|handle)|budget(?: is| of)?|max(?:imum)? (?:payment|budget)"
    r"|payment of|comfortable (?:paying|with)|want to (?:pay|spend))\s*(?:about |around |up to )?"
    + LOOSE_AMOUNT.format(n="a")
    + rf"(?:{_PER_MONTH})",
    re.IGNORECASE,
)
_SECOND_INCOME_RE = re.compile(
    r"\s*(?:and|\+|plus|&)\s*" + LOOSE_AMOUNT.format(n="a") + r"(?!\s*(?:in|of|for)?\s*"
    r"(?:monthly\s+)?(?:debts?|car|student|loan|credit|saved|savings|down))",
    re.IGNORECASE,
)
_DEBTS_RE = re.compile(
    r"(?:debts?|car (?:payment|loan)s?|student loans?|loan payments?|credit cards?|payments?)"
    r"\s*(?:of|are|is|=|:|about|around|total(?:ing)?)?\s*"
    + LOOSE_AMOUNT.format(n="a")
    + r"|"
    + LOOSE_AMOUNT.format(n="b")
    + rf"(?:{_PER_MONTH})?\s*(?:in|of|for)?\s*(?:monthly\s+)?"
    r"(?:debts?|car (?:payment|loan)s?|student loans?|loan payments?|credit card)",
    re.IGNORECASE,
)
_SAVINGS_RE = re.compile(
    LOOSE_AMOUNT.format(n="a")
    + r"\s*(?:saved|in savings|(?:saved )?for (?:a|the) down ?payment|down\b)"
    r"|(?:saved|savings(?: of)?|down ?payment of|put down)\s*(?:up\s+)?"
    + LOOSE_AMOUNT.format(n="b"),
    re.IGNORECASE,
)


def _amount_of(match: re.Match[str], prefix: str) -> float | None:
    number = match[f"{prefix}num"]
    if number is None:
        return None
    value = _amount_value(number, match[f"{prefix}suf"])
    return value if value >= 100 else None


def extract_finances(text: str) -> dict[str, float]:
    """The buyer's money for an affordability estimate: `annual_income` ("I make $120k",
    "income of 9k a month" -> 108000; "85k and 70k" add up), `monthly_budget` ("I can pay
    $3,000 a month"), `monthly_debts` ("$400 car payment"), `down_payment` ("$60k saved"),
    plus rate and term read as for a mortgage."""
    found: dict[str, float] = {}
    spans: list[tuple[int, int]] = []
    income = _INCOME_RE.search(text)
    if income:
        prefix = "a" if income["anum"] else "b"
        value = _amount_of(income, prefix)
        if value:
            monthly = income["monthly"] or income["monthly2"]
            found["annual_income"] = round(value * 12 if monthly else value)
            spans.append(income.span())
            second = _SECOND_INCOME_RE.match(text, income.end())  # "we make 85k and 70k"
            if second and (more := _amount_of(second, "a")):
                found["annual_income"] += round(more * 12 if monthly else more)
                spans.append(second.span())
    budget = _BUDGET_RE.search(mask(text, spans))
    if budget and (value := _amount_of(budget, "a")):
        found["monthly_budget"] = round(value)  # "I can pay about $3,000 a month"
        spans.append(budget.span())
    rest = mask(text, spans)
    debts = _DEBTS_RE.search(rest)
    if debts:
        value = _amount_of(debts, "a" if debts["anum"] else "b")
        if value:
            found["monthly_debts"] = round(value)
            spans.append(debts.span())
    rest = mask(text, spans)
    savings = _SAVINGS_RE.search(rest)
    if savings:
        value = _amount_of(savings, "a" if savings["anum"] else "b")
        if value:
            found["down_payment"] = round(value)
            spans.append(savings.span())
    terms = extract_mortgage_terms(mask(text, spans))
    for key in ("annual_rate_pct", "years", "down_payment_pct"):
        if key in terms and not (key == "down_payment_pct" and "down_payment" in found):
            found[key] = terms[key]
    return found


# ---------------------------------------------------------------------------------------------
# Edges: off-topic requests and questions the data cannot answer


_OFF_TOPIC_RE = re.compile(rf"\b(?:{alternation(vocab.OFF_TOPIC)})\b")
_UNANSWERABLE_RES = tuple(
    (re.compile(rf"\b(?:{pattern})\b"), label, offer)
    for pattern, label, offer in vocab.UNANSWERABLE
)
_FOCUS_RES = tuple(
    (re.compile(rf"\b(?:{alternation(patterns)})\b"), key) for key, patterns in vocab.COMPARE_FOCUS
)


def extract_off_topic(text: str) -> bool:
    """Whether the message asks about something other than homes ("weather in Seattle?")."""
    return bool(_OFF_TOPIC_RE.search(text))


def extract_unanswerable(text: str) -> tuple[str, str] | None:
    """(what, what to offer instead) for a question the data cannot answer (schools, crime,
    predictions of rates or prices), else None."""
    for pattern, label, offer in _UNANSWERABLE_RES:
        if pattern.search(text):
            return label, offer
    return None


def extract_focus(text: str) -> str | None:
    """Which market a comparison question is after: cheapest, fastest growing, most competitive."""
    for pattern, key in _FOCUS_RES:
        if pattern.search(text):
            return key
    return None


# ---------------------------------------------------------------------------------------------
# One message, understood


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
    finances: dict[str, float]
    unsupported: list[str]
    intents: list[str]
    follow_up: bool
    more: bool
    anywhere: bool
    there: bool
    off_topic: bool
    unanswerable: tuple[str, str] | None
    focus: str | None


def search_filters(text: str, this_year: int) -> tuple[dict[str, Any], list[str]]:
    """The non-place search filters of a message, and every property type it names."""
    spans = [m.span() for m in ID_RE.finditer(text)] + [m.span() for m in EMAIL_RE.finditer(text)]
    text = mask(text, spans + place_spans(text))
    filters: dict[str, Any] = {}
    zips, zip_spans = extract_zip_codes(text)
    min_year, max_year, year_spans = extract_year_built(text, this_year)
    within, listed_spans = extract_listed_within(text)
    text = mask(text, zip_spans + year_spans + listed_spans)
    min_sqft, max_sqft, sqft_spans = _sqft_match(text)
    text = mask(text, sqft_spans)
    min_beds, max_beds, bed_spans = room_bounds(text, "beds")
    if max_beds is None and min_beds is None and re.search(r"\bstudios?\b", text):
        max_beds = 0  # a studio has no separate bedroom
    text = mask(text, bed_spans)
    min_baths, max_baths, bath_spans = room_bounds(text, "baths")
    text = mask(text, bath_spans)
    for key, value in (
        ("min_bedrooms", min_beds),
        ("max_bedrooms", max_beds),
        ("min_bathrooms", min_baths),
        ("max_bathrooms", max_baths),
    ):
        if value is not None:
            filters[key] = int(value) if "bedrooms" in key else as_number(value)
    min_price, max_price = extract_price_range(text)
    if min_price is not None:
        filters["min_price"] = min_price
    if max_price is not None:
        filters["max_price"] = max_price
    excluded, excluded_spans = extract_exclusions(text)
    text = mask(text, excluded_spans)
    keywords, keyword_spans = extract_keywords(text)
    types = extract_property_types(mask(text, keyword_spans))
    if len(types) == 1:
        filters["property_type"] = types[0]
    elif types:
        filters["property_types"] = types
    if excluded:
        filters["exclude_types"] = excluded
    if status := extract_status(text):
        filters["status"] = status
    if min_sqft is not None:
        filters["min_sqft"] = min_sqft
    if max_sqft is not None:
        filters["max_sqft"] = max_sqft
    if zips:
        filters["zip_codes"] = zips
    if min_year is not None:
        filters["min_year_built"] = min_year
    if max_year is not None:
        filters["max_year_built"] = max_year
    if within is not None:
        filters["listed_within_days"] = within
    if keywords:
        filters["keywords"] = keywords
    if sort := extract_sort(text):
        filters["sort"] = sort
    if limit := extract_limit(text):
        filters["limit"] = limit
    return filters, types


def understand(message: str, this_year: int | None = None) -> Understood:
    """Run every extractor over one message."""
    text = normalise(message)
    filters, types = search_filters(text, this_year or date.today().year)
    return Understood(
        text=text,
        places=extract_places(message),
        unknown_place=extract_place_elsewhere(message) or extract_unknown_place(message),
        ids=extract_listing_ids(message),
        email=extract_email(message),
        filters=filters,
        property_types=types,
        months=extract_months(text),
        mortgage=extract_mortgage_terms(text),
        finances=extract_finances(text),
        unsupported=extract_unsupported(text),
        intents=detect_intents(text),
        follow_up=is_follow_up(text),
        more=bool(_MORE_RE.search(text)),
        anywhere=bool(_ANYWHERE_RE.search(text)),
        there=bool(_THERE_RE.search(text)),
        off_topic=extract_off_topic(text),
        unanswerable=extract_unanswerable(text),
        focus=extract_focus(text),
    )
