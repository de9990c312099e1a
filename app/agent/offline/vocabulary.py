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
    (
        "sold",
        (
            r"(?:recently |already |just )?sold",
            r"closed sales?",
            r"off the market",
            r"did (?:\w+ ){0,2}sell for",
        ),
    ),
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
    r"nothing (?:over|above|more than)",
    r"not (?:over|above)",
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
    (r"pet[- ]friendly|pets? (?:allowed|ok)|allows? (?:pets|dogs|cats)", "pet policies"),
    (r"hoa(?: fees?)?", "HOA fees"),
    (r"walkab(?:le|ility)|commute|transit|near downtown|close to downtown", "location details"),
    (r"rent(?:al|als|ing)?|lease|per month rent", "rentals (the listings are for sale)"),
    (r"fixer[- ]?upper", "condition"),
    (r"acres?|lot size", "lot size"),
)

# Features the search finds as words of the listing's description: pattern -> the word searched.
FEATURE_KEYWORDS: Final[tuple[tuple[str, str], ...]] = (
    (r"garages?|parking", "garage"),
    (r"(?:back)?yards?|fenced|room for (?:a|my|the) dogs?|for (?:a|my|the|our) dogs?", "yard"),
    (r"gardens?", "garden"),
    (r"(?:swimming )?pools?", "pool"),
    (r"fireplaces?", "fireplace"),
    (r"basements?", "basement"),
    (r"views?", "view"),
    (r"decks?", "deck"),
    (r"patios?", "patio"),
    (r"porch(?:es)?", "porch"),
    (r"home office|an office|office space|work from home|wfh", "office"),
    (r"solar(?: panels?)?", "solar"),
    (r"ev charg(?:ing|er)|electric car charg(?:ing|er)", "ev charging"),
    (r"hardwood(?: floors?)?", "hardwood"),
    (r"lake(?:front| views?)?", "lake"),
    (r"river(?:front)?", "river"),
    (r"mountain views?|mountains?", "mountain"),
    (r"beach(?:front)?|ocean", "beach"),
    (r"hot tub|jacuzzi|spa", "hot tub"),
    (r"adu|in-law (?:unit|suite)|granny flat", "adu"),
    (r"renovated|remodeled|remodelled", "renovated"),
    (r"central air|air conditioning|a/c", "central air"),
    (r"vaulted ceilings?", "vaulted"),
    (r"quartz(?: counters?)?", "quartz"),
    (r"doorman", "doorman"),
    (r"laundry", "laundry"),
    (r"storage", "storage"),
)

# Questions the data cannot answer: pattern -> (what it is, what to offer instead).
UNANSWERABLE: Final[tuple[tuple[str, str, str], ...]] = (
    (
        r"schools?|school district|school ratings?",
        "school quality",
        "the market figures and homes of a city",
    ),
    (
        r"crime|safe(?:ty|st)?|dangerous|neighbou?rhood safety",
        "crime and safety",
        "the market figures and homes of a city",
    ),
    (
        r"(?:will|are|do you think|when will) (?:mortgage |interest )?rates|rates? (?:go(?:ing)? "
        r"(?:up|down)|drop|fall|rise)|wait for (?:lower |better )?rates|buy now or wait|"
        r"(?:will|are) (?:home |house )?prices (?:go(?:ing)? (?:up|down)|drop|fall|crash|rise)|"
        r"predict\w*|forecast\w*|housing bubble|crash\w*|next year'?s prices|"
        r"going to (?:go up|go down|drop|fall|rise)",
        "predictions of rates or prices",
        "past price trends of a city and mortgage payments at a rate you choose",
    ),
    (
        r"flood|wildfire|earthquake|climate risk|insurance (?:cost|quote)s?",
        "natural hazards and insurance",
        "the homes and market figures of a city",
    ),
    (r"property tax(?:es)?|tax rates?", "property taxes", "a mortgage or affordability estimate"),
    (
        r"(?:dog|pet|cat)[- ]friendly|allows? (?:pets|dogs|cats)",
        "pet policies (the listings do not say)",
        "homes with a yard, and the market figures of a city",
    ),
    (
        r"(?:best|safest|nicest|good|which|what|top) neighbou?rhoods?|neighbou?rhoods? (?:to|for)",
        "neighbourhoods (the data goes down to cities and ZIP codes)",
        "the homes of a city by ZIP code, and its market figures",
    ),
)

# Requests outside real estate: one short friendly paragraph, no tool call.
OFF_TOPIC: Final[tuple[str, ...]] = (
    r"weather|forecast for (?:today|tomorrow)|rain(?:ing)? (?:today|tomorrow)",
    r"jokes?|funny|something funny",
    r"recipes?|cook(?:ing)?|restaurants?|dinner",
    r"sports?|football|basketball|baseball|soccer|super bowl|the game",
    r"movies?|films?|songs?|music|tv shows?",
    r"stocks?|bitcoin|crypto\w*",
    r"news|politics|election",
    r"poems?|write (?:me )?an? (?:essay|story)",
    r"translate",
    r"flights?|hotels?|vacation",
)

# What a comparison question is after: pattern -> the key of compare_markets' result.
COMPARE_FOCUS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (
        "cheapest",
        (r"cheapest", r"least expensive", r"most affordable", r"lowest (?:median )?price"),
    ),
    (
        "fastest_growing",
        (r"fastest[- ]growing", r"growing (?:the )?fastest", r"most growth", r"appreciat\w* most"),
    ),
    (
        "most_competitive",
        (r"most competitive", r"hottest", r"hardest to buy", r"sells? (?:the )?fastest"),
    ),
)

# Property types after these words are left out ("not a condo", "no townhouses").
EXCLUSION_WORDS: Final[tuple[str, ...]] = (
    r"not",
    r"no",
    r"except",
    r"excluding",
    r"without",
    r"anything but",
    r"other than",
    r"but not",
    r"avoid(?:ing)?",
    r"skip",
    r"don'?t want",
    r"hate",
)

# Every US state, so that "Portland, Maine" is read as a place the data does not have.
US_STATES: Final[dict[str, str]] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia",
}  # fmt: skip

# Regions people name instead of cities -> the dataset's cities in them.
REGIONS: Final[dict[str, tuple[str, ...]]] = {
    r"(?:sf |san francisco )?bay area": ("San Francisco", "Oakland", "San Jose"),
    r"silicon valley": ("San Jose",),
    r"(?:the )?eastside": ("Bellevue", "Kirkland", "Redmond"),
    r"puget sound|seattle area|greater seattle": ("Seattle", "Bellevue", "Tacoma"),
    r"(?:research )?triangle": ("Raleigh",),
    r"dfw|dallas[- ]fort worth|metroplex": ("Dallas",),
    r"twin cities": ("Minneapolis",),
    r"front range": ("Denver",),
    r"treasure valley": ("Boise",),
    r"willamette valley": ("Portland", "Salem", "Eugene"),
    r"south florida": ("Miami",),
    r"central oregon": ("Bend",),
    r"wasatch front": ("Salt Lake City",),
    r"valley of the sun": ("Phoenix",),
}

# Canadian provinces, so that "Vancouver BC" is not the dataset's Vancouver, WA.
CANADIAN_PROVINCES: Final[dict[str, str]] = {
    "BC": "British Columbia",
    "AB": "Alberta",
    "ON": "Ontario",
    "QC": "Quebec",
    "MB": "Manitoba",
    "NS": "Nova Scotia",
}

# Where places are (latitude, longitude), to name the nearest cities with data: the dataset's
# cities, well-known cities it lacks, and each state's rough centre.
CITY_COORDINATES: Final[dict[tuple[str, str], tuple[float, float]]] = {
    ("Portland", "OR"): (45.52, -122.68), ("Seattle", "WA"): (47.61, -122.33),
    ("Bellevue", "WA"): (47.61, -122.20), ("Kirkland", "WA"): (47.68, -122.21),
    ("Redmond", "WA"): (47.67, -122.12), ("Vancouver", "WA"): (45.64, -122.66),
    ("Tacoma", "WA"): (47.25, -122.44), ("Spokane", "WA"): (47.66, -117.43),
    ("Eugene", "OR"): (44.05, -123.09), ("Salem", "OR"): (44.94, -123.04),
    ("Bend", "OR"): (44.06, -121.31), ("Boise", "ID"): (43.62, -116.20),
    ("San Francisco", "CA"): (37.77, -122.42), ("Oakland", "CA"): (37.80, -122.27),
    ("San Jose", "CA"): (37.34, -121.89), ("Los Angeles", "CA"): (34.05, -118.24),
    ("San Diego", "CA"): (32.72, -117.16), ("Sacramento", "CA"): (38.58, -121.49),
    ("Denver", "CO"): (39.74, -104.99), ("Austin", "TX"): (30.27, -97.74),
    ("Dallas", "TX"): (32.78, -96.80), ("Houston", "TX"): (29.76, -95.37),
    ("Phoenix", "AZ"): (33.45, -112.07), ("Salt Lake City", "UT"): (40.76, -111.89),
    ("Chicago", "IL"): (41.88, -87.63), ("Minneapolis", "MN"): (44.98, -93.27),
    ("Atlanta", "GA"): (33.75, -84.39), ("Nashville", "TN"): (36.16, -86.78),
    ("Raleigh", "NC"): (35.78, -78.64), ("Boston", "MA"): (42.36, -71.06),
    ("New York", "NY"): (40.71, -74.01), ("Miami", "FL"): (25.76, -80.19),
}  # fmt: skip
OTHER_CITIES: Final[dict[str, tuple[str, float, float]]] = {
    "Las Vegas": ("NV", 36.17, -115.14), "Reno": ("NV", 39.53, -119.81),
    "Tucson": ("AZ", 32.22, -110.97), "Albuquerque": ("NM", 35.08, -106.65),
    "Santa Fe": ("NM", 35.69, -105.94), "Fresno": ("CA", 36.74, -119.79),
    "Orlando": ("FL", 28.54, -81.38), "Tampa": ("FL", 27.95, -82.46),
    "Jacksonville": ("FL", 30.33, -81.66), "Charlotte": ("NC", 35.23, -80.84),
    "Durham": ("NC", 35.99, -78.90), "Charleston": ("SC", 32.78, -79.93),
    "Savannah": ("GA", 32.08, -81.09), "Columbus": ("OH", 39.96, -83.00),
    "Cleveland": ("OH", 41.50, -81.69), "Cincinnati": ("OH", 39.10, -84.51),
    "Detroit": ("MI", 42.33, -83.05), "Philadelphia": ("PA", 39.95, -75.17),
    "Pittsburgh": ("PA", 40.44, -80.00), "Baltimore": ("MD", 39.29, -76.61),
    "Washington": ("DC", 38.91, -77.04), "Richmond": ("VA", 37.54, -77.44),
    "Kansas City": ("MO", 39.10, -94.58), "St. Louis": ("MO", 38.63, -90.20),
    "Indianapolis": ("IN", 39.77, -86.16), "Milwaukee": ("WI", 43.04, -87.91),
    "Madison": ("WI", 43.07, -89.40), "Des Moines": ("IA", 41.59, -93.62),
    "Omaha": ("NE", 41.26, -95.93), "Oklahoma City": ("OK", 35.47, -97.52),
    "Tulsa": ("OK", 36.15, -95.99), "New Orleans": ("LA", 29.95, -90.07),
    "Memphis": ("TN", 35.15, -90.05), "Louisville": ("KY", 38.25, -85.76),
    "Honolulu": ("HI", 21.31, -157.86), "Anchorage": ("AK", 61.22, -149.90),
    "Providence": ("RI", 41.82, -71.41), "Hartford": ("CT", 41.76, -72.67),
    "Burlington": ("VT", 44.48, -73.21), "Buffalo": ("NY", 42.89, -78.88),
    "San Antonio": ("TX", 29.42, -98.49), "El Paso": ("TX", 31.76, -106.49),
    "Fort Worth": ("TX", 32.76, -97.33), "Colorado Springs": ("CO", 38.83, -104.82),
    "Boulder": ("CO", 40.01, -105.27), "Olympia": ("WA", 47.04, -122.90),
    "Medford": ("OR", 42.33, -122.87), "Missoula": ("MT", 46.87, -113.99),
}  # fmt: skip
STATE_CENTRES: Final[dict[str, tuple[float, float]]] = {
    "AL": (32.8, -86.8), "AK": (61.4, -152.3), "AZ": (34.2, -111.7), "AR": (34.9, -92.4),
    "CA": (37.2, -119.5), "CO": (39.0, -105.5), "CT": (41.6, -72.7), "DE": (39.0, -75.5),
    "FL": (28.6, -82.4), "GA": (32.7, -83.4), "HI": (20.8, -156.3), "ID": (44.4, -114.6),
    "IL": (40.0, -89.2), "IN": (39.9, -86.3), "IA": (42.1, -93.5), "KS": (38.5, -98.4),
    "KY": (37.5, -85.3), "LA": (31.1, -92.0), "ME": (45.4, -69.2), "MD": (39.0, -76.8),
    "MA": (42.3, -71.8), "MI": (44.3, -85.4), "MN": (46.3, -94.3), "MS": (32.7, -89.7),
    "MO": (38.4, -92.5), "MT": (47.0, -109.6), "NE": (41.5, -99.8), "NV": (39.3, -116.6),
    "NH": (43.7, -71.6), "NJ": (40.2, -74.7), "NM": (34.4, -106.1), "NY": (42.9, -75.5),
    "NC": (35.6, -79.4), "ND": (47.5, -100.5), "OH": (40.3, -82.8), "OK": (35.6, -97.5),
    "OR": (43.9, -120.6), "PA": (40.9, -77.8), "RI": (41.7, -71.5), "SC": (33.9, -80.9),
    "SD": (44.4, -100.2), "TN": (35.9, -86.4), "TX": (31.5, -99.3), "UT": (39.3, -111.7),
    "VT": (44.1, -72.7), "VA": (37.5, -78.9), "WA": (47.4, -120.5), "WV": (38.6, -80.6),
    "WI": (44.6, -89.9), "WY": (43.0, -107.6), "DC": (38.9, -77.0),
}  # fmt: skip

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
            r"rank(?:ed|ing)?",
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
            r"good investments?",
            r"investment propert(?:y|ies)",
            r"invest(?:ment|ing)? in",
            r"over ?priced",
            r"over ?valued",
            r"under ?valued",
            r"fairly priced",
            r"(?:a )?good deal",
            r"how pricey",
            r"how (?:long|fast|quickly) (?:do|does|are|is) (?:\w+ ){0,3}(?:take to )?sell(?:ing)?",
            r"how (?:expensive|affordable|competitive)",
        ),
    ),
    (
        "affordability",
        (
            r"(?:can|could) (?:i|we) afford",
            r"afford on",
            r"affordability",
            r"how much (?:house|home|of a (?:house|home)) can",
            r"(?:i|we) (?:make|earn|bring in|gross)",
            r"(?:my|our|household|annual|yearly) (?:income|salary)",
            r"income of",
            r"salary of",
            r"what price is that",
            r"how much (?:house|home) is that",
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
