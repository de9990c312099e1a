"""The offline assistant's vocabulary: places, property types, statuses and sort orders.

Kept as tables rather than branches so that teaching the assistant a new spelling is one more
row, and so the parser stays a handful of generic functions that read these tables. Every
pattern here is a regular-expression fragment matched case-insensitively on word boundaries,
unless it is listed in a case-sensitive table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

# The dataset's cities (name, state code), in the order of data/cities.json: the one city table,
# which the services load and data/generate.py builds the dataset from.
_CITY_TABLE: Final[list[dict[str, str]]] = json.loads(
    (Path(__file__).resolve().parents[3] / "data" / "cities.json").read_text(encoding="utf-8")
)
CITIES: Final[tuple[tuple[str, str], ...]] = tuple(
    (row["city"], row["state"]) for row in _CITY_TABLE
)

CITY_STATE: Final[dict[str, str]] = dict(CITIES)

# State code -> state name, for the states the dataset covers.
STATES: Final[dict[str, str]] = {row["state"]: row["state_name"] for row in _CITY_TABLE}

# Other spellings of a city, besides its own name (matched case-insensitively).
CITY_ALIASES: Final[dict[str, str]] = {
    "pdx": "Portland",
    "san fran": "San Francisco",
    "san francisco bay": "San Francisco",
    "nyc": "New York",
    "new york city": "New York",
    "manhattan": "New York",
    "salt lake": "Salt Lake City",
    "slc": "Salt Lake City",
    "los angeles": "Los Angeles",
    "l\\.a\\.": "Los Angeles",
    "sac": "Sacramento",
    "sacto": "Sacramento",
    "atx": "Austin",
    "atl": "Atlanta",
    "mpls": "Minneapolis",
    "sea-tac": "Seattle",
    "phx": "Phoenix",
    r"bend(?=,?\s+(?:or|oregon)\b)": "Bend",
    r"(?<=in )bend": "Bend",
    r"(?<=near )bend": "Bend",
}

# Short spellings only trusted in capitals ("LA" is a city, "la" is not; "SF" is, "sf" is also
# square feet; "Bend" is a city, "bend" a verb).
CITY_ALIASES_CASE_SENSITIVE: Final[dict[str, str]] = {
    "LA": "Los Angeles",
    "SF": "San Francisco",
    "Bend": "Bend",
    "BEND": "Bend",
}

# Cities that clash with English words: the lower-case own name is not used as a pattern.
CITIES_NEEDING_CAPITALS: Final[frozenset[str]] = frozenset({"Bend"})

# State name spellings -> code. "New York" is deliberately absent: it means the city.
STATE_ALIASES: Final[dict[str, str]] = {
    **{name.lower(): code for code, name in STATES.items() if code != "NY"},
    "washington state": "WA",
    "wa state": "WA",
    "new york state": "NY",
    "n\\. ?carolina": "NC",
    "cali": "CA",
    "socal": "CA",
    "norcal": "CA",
    "mass": "MA",
}

# Property type -> synonyms. Checked in this order, so the more specific phrase wins
# ("row house" is a townhouse, "multi-family house" is multi-family).
PROPERTY_TYPES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "multi_family",
        (
            r"multi[- ]?famil(?:y|ies)",
            r"multi[- ]?unit",
            r"duplex(?:es)?",
            r"triplex(?:es)?",
            r"fourplex(?:es)?",
            r"four[- ]?plex(?:es)?",
            r"quadplex(?:es)?",
            r"plexes",
            r"income propert(?:y|ies)",
        ),
    ),
    (
        "townhouse",
        (
            r"town ?homes?",
            r"town ?houses?",
            r"row ?houses?",
            r"row ?homes?",
        ),
    ),
    (
        "land",
        (
            r"(?<!a )lots?(?! of)",
            r"land",
            r"parcels?",
            r"acreage",
            r"building sites?",
        ),
    ),
    (
        "condo",
        (
            r"condos?",
            r"condominiums?",
            r"apartments?",
            r"apts?",
            r"flats?",
            r"lofts?",
        ),
    ),
    (
        "house",
        (
            r"single[- ]?family(?: homes?| houses?| residences?)?",
            r"sfh",
            r"detached(?: homes?| houses?)?",
            r"houses?",
            r"bungalows?",
            r"ranch(?:es| homes?)",
            r"cottages?",
        ),
    ),
)

PROPERTY_TYPE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "house": ("house", "houses"),
    "condo": ("condo", "condos"),
    "townhouse": ("townhouse", "townhouses"),
    "multi_family": ("multi-family home", "multi-family homes"),
    "land": ("lot", "lots"),
}

STATUSES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("sold", (r"(?:recently |already |just )?sold", r"closed sales?", r"off the market")),
    ("pending", (r"pending", r"under contract", r"in escrow", r"sale pending")),
    ("active", (r"for sale", r"available", r"on the market", r"active", r"currently listed")),
)

SORTS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "price_asc",
        (
            r"cheapest",
            r"cheaper(?! than)",
            r"least expensive",
            r"lowest[- ]priced?",
            r"lowest prices?",
            r"most affordable",
            r"(?:price )?low to high",
            r"lower[- ]priced",
            r"by price",
        ),
    ),
    (
        "price_desc",
        (
            r"most expensive",
            r"priciest",
            r"pricier",
            r"highest[- ]priced?",
            r"highest prices?",
            r"(?:price )?high to low",
            r"luxury",
        ),
    ),
    (
        "newest",
        (
            r"newest",
            r"latest",
            r"most recent(?:ly listed)?",
            r"just listed",
            r"newly listed",
            r"new listings?",
            r"recently listed",
        ),
    ),
    (
        "sqft_desc",
        (
            r"largest",
            r"biggest",
            r"bigger(?! than)",
            r"larger(?! than)",
            r"roomiest",
            r"most (?:space|spacious|square (?:feet|footage))",
            r"by size",
        ),
    ),
)

SORT_LABELS: Final[dict[str, str]] = {
    "price_asc": "cheapest first",
    "price_desc": "most expensive first",
    "newest": "newest first",
    "sqft_desc": "largest first",
}

NUMBER_WORDS: Final[dict[str, int]] = {
    "zero": 0,
    "no": 0,
    "a": 1,
    "an": 1,
    "one": 1,
    "single": 1,
    "two": 2,
    "a couple of": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "eighteen": 18,
    "twenty": 20,
    "twenty-four": 24,
    "thirty": 30,
    "thirty-six": 36,
}

# Money suffixes -> multiplier.
MONEY_SUFFIXES: Final[dict[str, int]] = {
    "k": 1_000,
    "K": 1_000,
    "grand": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "M": 1_000_000,
    "mm": 1_000_000,
    "mil": 1_000_000,
    "million": 1_000_000,
    "millions": 1_000_000,
    "b": 1_000_000_000,
    "bn": 1_000_000_000,
    "billion": 1_000_000_000,
}

# Words before an amount that make it the upper or lower bound.
UPPER_BOUND_WORDS: Final[tuple[str, ...]] = (
    r"under",
    r"below",
    r"less than",
    r"lower than",
    r"cheaper than",
    r"up to",
    r"no more than",
    r"not more than",
    r"not over",
    r"at most",
    r"max(?:imum)?(?: of| price(?: of| is)?)?",
    r"top(?:ping)? out at",
    r"within",
    r"budget(?: of| is| around)?",
    r"afford(?:able)?(?: up to)?",
    r"<=?",
)
LOWER_BOUND_WORDS: Final[tuple[str, ...]] = (
    r"over",
    r"above",
    r"more than",
    r"greater than",
    r"higher than",
    r"at least",
    r"min(?:imum)?(?: of| price(?: of| is)?)?",
    r"starting (?:at|from)",
    r"upwards of",
    r"north of",
    r"no less than",
    r"from",
    r">=?",
)
# Words after an amount that make it a bound ("500k or less", "400k+").
UPPER_BOUND_AFTER: Final[tuple[str, ...]] = (
    r"or less",
    r"or under",
    r"or below",
    r"or cheaper",
    r"max(?:imum)?",
    r"tops",
    r"at most",
)
LOWER_BOUND_AFTER: Final[tuple[str, ...]] = (
    r"\+",
    r"or more",
    r"or over",
    r"or above",
    r"and up",
    r"and above",
    r"min(?:imum)?",
    r"plus",
)
APPROXIMATE_WORDS: Final[tuple[str, ...]] = (
    r"around",
    r"about",
    r"approximately",
    r"roughly",
    r"near",
    r"close to",
    r"in the range of",
    r"ballpark",
)

# Requests the listing search cannot filter by: pattern -> how to name it to the user.
UNSUPPORTED_FEATURES: Final[tuple[tuple[str, str], ...]] = (
    (r"pools?", "a pool"),
    (r"garages?", "a garage"),
    (r"yards?|gardens?", "a yard or garden"),
    (r"views?", "a view"),
    (r"waterfront|lakefront|beachfront|ocean ?front", "waterfront"),
    (r"schools?|school district", "schools"),
    (r"pets?|pet[- ]friendly|dogs?|cats?", "pets"),
    (r"parking", "parking"),
    (r"fireplaces?", "a fireplace"),
    (r"basements?", "a basement"),
    (r"hoa", "HOA fees"),
    (r"walkab(?:le|ility)|commute|transit|near downtown|close to downtown", "location details"),
    (r"built (?:after|before|since|in)|year built|new construction|newer homes?", "year built"),
    (r"rent(?:al|als|ing)?|lease|per month rent", "rentals (the listings are for sale)"),
    (r"fixer[- ]?upper|renovated|remodeled|updated kitchen", "condition"),
    (r"acres?", "lot size"),
)

# Intent -> the cue words that signal it, in order of precedence: a message can have several
# ("send the market report"); stage 3 (intent.py) decides between them.
INTENT_CUES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
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
