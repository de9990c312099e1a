"""Generate the bundled real-estate dataset that the two MCP services load.

Everything is drawn from one fixed seed with the standard library only, so the output is the same
bytes on every run (gzip with mtime=0). Each city has a small profile: price level per square
foot, how much living space a dollar buys there, the mix of property types, the yearly price
trend and how hot the market is (`PROFILES`); the cities themselves are data/cities.json, the
one city table that the services load and the offline assistant reads too. Listings, the sales
history and the engagement figures all follow from those profiles, so San Francisco comes out
expensive and condo-heavy, Boise cheaper with houses, Austin falling and Boston competitive.

Run from the repository root:  .venv/bin/python data/generate.py
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from statistics import NormalDist

SEED = 20261123
OUT_DIR = Path(__file__).resolve().parent
AS_OF = date(2026, 10, 31)  # the dataset's "today": the last day of the last month of sales
LAST_SALES_MONTH = (2026, 10)
SALES_MONTHS = 36
LISTING_TOTAL = 10_400
FIRST_LISTING_NUMBER = 100_001

NORMAL = NormalDist()
TYPES = ("house", "condo", "townhouse", "multi_family", "land")
# Months 1..12: more homes change hands in late spring and summer, fewer around the new year.
SEASONALITY = (0.74, 0.80, 0.96, 1.06, 1.17, 1.22, 1.16, 1.10, 1.00, 0.95, 0.86, 0.82)
SEASONAL_PRICE = (0.985, 0.99, 1.0, 1.008, 1.015, 1.02, 1.015, 1.01, 1.0, 0.995, 0.99, 0.985)


@dataclass(frozen=True)
class City:
    """The knobs that make one city's market look like itself."""

    name: str
    state: str
    state_name: str
    ppsf: int  # typical price per square foot of a house today
    space: float  # living space relative to the national typical home
    mix: tuple[int, int, int, int, int]  # percentages in TYPES order
    trend_pct: float  # yearly change of prices over the sales history
    heat: float  # 0 cool .. 1 hot: pending share, days on market, months of supply
    weight: float  # relative number of listings and sales
    zips: tuple[int, int]  # plausible range of zip codes
    built: int  # a typical year of construction
    features: tuple[str, ...]  # local selling points used in descriptions


# fmt: off
# The market of each city of cities.json, by name: $/sqft, space, type mix % (house, condo,
# townhouse, multi_family, land), trend %/yr, heat, weight, zip range, typical year built; then
# local features
PROFILES = {
    "Portland": (330, 1.0, (62, 18, 10, 7, 3), -1.2, 0.35, 1.2, (97201, 97239), 1952,
        ("a covered porch", "a short walk to a food-cart pod", "a rain garden")),
    "Seattle": (610, 0.9, (48, 32, 12, 6, 2), 3.0, 0.6, 1.3, (98101, 98199), 1958,
        ("Sound views", "light-rail access", "a detached studio")),
    "Bellevue": (720, 1.15, (58, 25, 12, 3, 2), 5.0, 0.8, 0.8, (98004, 98008), 1985,
        ("a top-rated school district", "lake access", "a three-car garage")),
    "Kirkland": (660, 1.05, (56, 26, 13, 3, 2), 4.0, 0.75, 0.7, (98033, 98034), 1982,
        ("lake views", "a walkable waterfront", "a chef's kitchen")),
    "Redmond": (640, 1.05, (55, 24, 16, 3, 2), 4.5, 0.7, 0.7, (98052, 98053), 1990,
        ("trail access", "a home office", "solar panels")),
    "Vancouver": (315, 1.05, (72, 10, 10, 5, 3), 1.0, 0.5, 0.8, (98660, 98686), 1978,
        ("a fenced yard", "river trail access", "an RV pad")),
    "Tacoma": (320, 1.0, (70, 10, 8, 9, 3), 2.0, 0.5, 0.8, (98402, 98422), 1948,
        ("Mount Rainier views", "original hardwoods", "a daylight basement")),
    "Spokane": (240, 1.05, (78, 5, 6, 8, 3), 2.5, 0.55, 0.7, (99201, 99224), 1950,
        ("a finished basement", "a big backyard", "a shop building")),
    "Eugene": (290, 1.0, (74, 6, 8, 8, 4), 1.5, 0.45, 0.6, (97401, 97408), 1965,
        ("a garden with raised beds", "bike-path access", "a sunroom")),
    "Salem": (255, 1.0, (78, 5, 7, 7, 3), 2.0, 0.5, 0.6, (97301, 97317), 1970,
        ("a single-level layout", "a covered patio", "fruit trees")),
    "Bend": (400, 1.05, (72, 8, 8, 4, 8), -2.5, 0.3, 0.6, (97701, 97703), 1998,
        ("Cascade views", "a hot tub", "gear storage")),
    "Boise": (280, 1.1, (80, 5, 7, 3, 5), -3.0, 0.3, 0.9, (83702, 83716), 1995,
        ("foothills views", "greenbelt access", "an oversized garage")),
    "San Francisco": (1000, 0.75, (33, 45, 8, 12, 2), 2.5, 0.6, 1.1, (94102, 94134), 1930,
        ("bay views", "in-unit laundry", "a roof deck")),
    "Oakland": (600, 0.85, (60, 20, 8, 10, 2), -1.5, 0.4, 0.8, (94601, 94621), 1940,
        ("bay bridge views", "BART access", "a sunny yard")),
    "San Jose": (850, 0.95, (58, 20, 14, 6, 2), 4.0, 0.75, 1.0, (95110, 95139), 1972,
        ("a remodeled kitchen", "an easy commute to tech campuses", "a pool")),
    "Los Angeles": (700, 0.9, (52, 30, 8, 8, 2), 1.0, 0.45, 1.6, (90001, 90068), 1955,
        ("canyon views", "a pool", "a detached ADU")),
    "San Diego": (700, 0.9, (55, 30, 10, 3, 2), 3.0, 0.6, 1.1, (92101, 92130), 1975,
        ("ocean breezes", "a tiled patio", "a short walk to the beach")),
    "Sacramento": (340, 1.0, (74, 8, 8, 7, 3), -0.5, 0.45, 0.9, (95811, 95838), 1968,
        ("a shaded backyard", "river access", "owned solar")),
    "Denver": (380, 0.95, (56, 25, 12, 5, 2), -1.5, 0.35, 1.2, (80202, 80239), 1962,
        ("mountain views", "a finished basement", "a two-car garage")),
    "Austin": (320, 1.1, (65, 15, 10, 4, 6), -5.5, 0.2, 1.2, (78701, 78759), 1995,
        ("a Hill Country view", "a covered patio", "a game room")),
    "Dallas": (240, 1.15, (68, 12, 10, 5, 5), -1.0, 0.4, 1.2, (75201, 75254), 1985,
        ("a pool", "a media room", "a three-car garage")),
    "Houston": (190, 1.15, (66, 10, 12, 6, 6), 0.5, 0.45, 1.4, (77002, 77099), 1983,
        ("a pool", "a large lot", "a game room")),
    "Phoenix": (270, 1.05, (72, 10, 8, 4, 6), -2.0, 0.35, 1.3, (85003, 85054), 1988,
        ("a heated pool", "desert landscaping", "mountain views")),
    "Salt Lake City": (330, 1.0, (66, 15, 10, 6, 3), 2.0, 0.5, 0.8, (84101, 84121), 1965,
        ("Wasatch views", "ski-gear storage", "a finished basement")),
    "Chicago": (260, 0.9, (34, 45, 7, 12, 2), 5.5, 0.7, 1.5, (60601, 60660), 1925,
        ("lake views", "a short walk to the L", "a private deck")),
    "Minneapolis": (230, 1.0, (62, 20, 7, 9, 2), 3.0, 0.6, 0.9, (55401, 55455), 1938,
        ("lake access", "a heated garage", "a three-season porch")),
    "Atlanta": (250, 1.1, (60, 20, 12, 4, 4), 1.0, 0.45, 1.2, (30303, 30350), 1975,
        ("a wooded lot", "BeltLine access", "a screened porch")),
    "Nashville": (300, 1.05, (60, 15, 15, 5, 5), 0.5, 0.4, 1.0, (37201, 37221), 1985,
        ("a front porch", "a bonus room", "a short walk to live music")),
    "Raleigh": (250, 1.1, (62, 8, 22, 4, 4), 3.0, 0.6, 0.9, (27601, 27617), 1990,
        ("a screened porch", "greenway access", "a first-floor primary suite")),
    "Boston": (750, 0.85, (30, 50, 5, 14, 1), 5.0, 0.8, 1.1, (2108, 2136), 1910,
        ("a bay window", "a short walk to the T", "a private roof deck")),
    "New York": (1100, 0.72, (12, 62, 12, 13, 1), 2.5, 0.55, 1.8, (10001, 10040), 1935,
        ("a doorman building", "park views", "a private terrace")),
    "Miami": (480, 1.0, (36, 55, 6, 2, 1), 4.0, 0.55, 1.2, (33125, 33150), 1980,
        ("water views", "a resort-style pool", "impact windows")),
}
# fmt: on
# The cities themselves (name, state, state name, in order) come from the one city table.
CITIES: tuple[City, ...] = tuple(
    City(row["city"], row["state"], row["state_name"], *PROFILES[row["city"]])
    for row in json.loads((OUT_DIR / "cities.json").read_text(encoding="utf-8"))
)

STREET_NAMES = (
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Birch",
    "Alder",
    "Willow",
    "Aspen",
    "Spruce",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Washington",
    "Franklin",
    "Adams",
    "Jackson",
    "Monroe",
    "Hawthorne",
    "Juniper",
    "Magnolia",
    "Sycamore",
    "Chestnut",
    "Laurel",
    "Hillcrest",
    "Lakeview",
    "Park",
    "Ridge",
    "River",
    "Sunset",
    "Highland",
    "Meadow",
    "Orchard",
    "Valley",
    "Forest",
    "Harbor",
    "Prospect",
    "Summit",
    "Grant",
    "Church",
    "Mill",
    "Spring",
    "Union",
    "Market",
    "Garfield",
    "Belmont",
    "Clinton",
    "Division",
    "Fremont",
    "Kingston",
    "Sherman",
    "Walnut",
)
STREET_SUFFIXES = ("St", "Ave", "Blvd", "Dr", "Ln", "Ct", "Way", "Pl", "Rd", "Ter")
TYPE_NOUN = {
    "house": ("home", "house", "bungalow", "craftsman", "ranch home"),
    "condo": ("condo", "condominium", "flat", "loft"),
    "townhouse": ("townhouse", "townhome", "row house"),
    "multi_family": ("duplex", "triplex", "fourplex"),
}
OPENERS = (
    "Bright",
    "Updated",
    "Charming",
    "Spacious",
    "Move-in ready",
    "Well-kept",
    "Light-filled",
    "Renovated",
    "Cozy",
    "Stylish",
    "Quiet",
    "Classic",
)
GENERAL_FEATURES = (
    "an open floor plan",
    "hardwood floors",
    "a renovated kitchen",
    "new windows",
    "central air",
    "a gas fireplace",
    "quartz counters",
    "generous storage",
    "a primary suite",
    "a landscaped yard",
    "updated baths",
    "vaulted ceilings",
    "a two-car garage",
    "EV charging",
    "a home office",
)
LAND_CLOSERS = ("Utilities at the street.", "Survey available.", "Build your dream home.")
CLOSERS = (
    "Close to shops, parks and schools.",
    "Priced to sell.",
    "Open house this weekend.",
    "Seller is motivated.",
    "Shown by appointment.",
    "Ready for its next owner.",
    "",
)
TYPE_SQFT = {"house": 1950, "condo": 980, "townhouse": 1550, "multi_family": 2900}
TYPE_PPSF = {"house": 1.0, "condo": 1.06, "townhouse": 0.96, "multi_family": 0.82}


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def round_price(price: float) -> int:
    """Asking and sale prices land on the round numbers that agents use."""
    step = 5_000 if price >= 1_000_000 else 1_000
    return max(step, int(round(price / step)) * step)


def pick_type(rng: random.Random, city: City) -> str:
    return rng.choices(TYPES, weights=city.mix)[0]


def home_size(rng: random.Random, city: City, kind: str) -> int:
    sqft = lognormal(rng, TYPE_SQFT[kind] * city.space, 0.28)
    floor = 380 if kind == "condo" else 700
    return int(round(max(floor, min(sqft, 9_000)) / 10) * 10)


def home_price(rng: random.Random, city: City, kind: str, sqft: int) -> tuple[int, float]:
    """Price from size, the city's price per square foot and a noise factor returned as well.

    The noise factor tells later steps whether the home is priced above its market (>1), which
    drives days on market and how readily viewers turn into inquiries.
    """
    noise = math.exp(rng.gauss(0.0, 0.16))
    # Small homes cost more per square foot than big ones.
    size_effect = (TYPE_SQFT[kind] * city.space / sqft) ** 0.25
    return round_price(sqft * city.ppsf * TYPE_PPSF[kind] * size_effect * noise), noise


def land_parcel(rng: random.Random, city: City) -> tuple[int, int, float]:
    """A lot: (lot size in sqft, price, noise)."""
    lot = int(round(lognormal(rng, 12_000, 0.8) / 100) * 100)
    noise = math.exp(rng.gauss(0.0, 0.25))
    price = round_price(city.ppsf * 55 * (lot / 10_000) ** 0.55 * noise)
    return max(lot, 2_000), price, noise


def rooms(rng: random.Random, kind: str, sqft: int) -> tuple[int, float]:
    if kind == "condo":
        beds = max(0, min(3, round(sqft / 450 + rng.uniform(-0.7, 0.4))))
    elif kind == "multi_family":
        beds = max(3, min(10, round(sqft / 550 + rng.uniform(-1, 1))))
    else:
        beds = max(1, min(7, round(sqft / 620 + rng.uniform(-0.8, 0.8))))
    baths = max(1.0, round((beds * 0.7 + rng.choice((0.0, 0.25, 0.5, 0.8))) * 2) / 2)
    return beds, baths


def year_built(rng: random.Random, city: City, kind: str) -> int:
    newer = {"condo": 18, "townhouse": 22}.get(kind, 0)
    year = int(rng.gauss(city.built + newer, 22))
    return max(1885, min(year, AS_OF.year))


def street_address(rng: random.Random, kind: str, used: set[str]) -> str:
    while True:
        street = f"{rng.randint(10, 9899)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"
        if kind == "condo":
            street += f" Unit {rng.randint(1, 24)}{rng.choice('ABCDEF')}"
        if street not in used:
            used.add(street)
            return street


def describe(rng: random.Random, city: City, kind: str, beds: int, lot: int) -> str:
    if kind == "land":
        acres = lot / 43_560
        return (
            f"{acres:.2f}-acre {rng.choice(('buildable lot', 'parcel', 'homesite'))} in "
            f"{city.name} with {rng.choice(city.features)}. "
            f"{rng.choice(LAND_CLOSERS)}"
        )
    noun = rng.choice(TYPE_NOUN[kind])
    size = "studio" if beds == 0 else f"{beds}-bedroom"
    features = rng.sample(GENERAL_FEATURES, 1) + [rng.choice(city.features)]
    rng.shuffle(features)
    text = f"{rng.choice(OPENERS)} {size} {noun} with {features[0]} and {features[1]}."
    closer = rng.choice(CLOSERS)
    return f"{text} {closer}".strip()


def status_and_dates(rng: random.Random, city: City, noise: float) -> tuple[str, date, int]:
    """Status, listing date and days on market; overpriced homes sit longer."""
    pending_share = 0.06 + 0.18 * city.heat
    status = rng.choices(
        ("active", "pending", "sold"), weights=(0.74 - pending_share, pending_share, 0.26)
    )[0]
    mean_dom = (75 - 55 * city.heat) * (1 + 2.5 * max(0.0, noise - 1.0))
    if status == "sold":
        dom = min(int(rng.expovariate(1 / mean_dom)) + 3, 300)
        closed = AS_OF - timedelta(days=rng.randint(0, 330))
        return status, closed - timedelta(days=dom), dom
    dom = min(int(rng.expovariate(1 / (mean_dom * (0.7 if status == "pending" else 1.3)))), 365)
    return status, AS_OF - timedelta(days=dom), dom


def engagement(rng: random.Random, listing: dict, noise: float, city: City) -> dict:
    """Portal traffic for one listing: more exposure the longer it is listed; overpriced
    listings draw views but few inquiries, weak photos draw impressions but few clicks."""
    days = max(1, listing["days_on_market"])
    daily = lognormal(rng, 90 * city.weight * (0.6 + city.heat), 0.45)
    impressions = int(daily * (days**0.85) * 4 + rng.randint(50, 400))
    ctr = min(0.15, lognormal(rng, 0.045, 0.45))
    page_views = int(impressions * ctr)
    saves = int(page_views * min(0.2, lognormal(rng, 0.06, 0.4)))
    inquiry_rate = lognormal(rng, 0.022, 0.45) / (1 + 6 * max(0.0, noise - 1.0))
    inquiries = int(page_views * min(0.1, inquiry_rate))
    showings = int(inquiries * rng.uniform(0.25, 0.75))
    return {
        "listing_id": listing["listing_id"],
        "page_views": page_views,
        "impressions": impressions,
        "saves": saves,
        "inquiries": inquiries,
        "showings": showings,
    }


def make_listings(rng: random.Random) -> tuple[list[dict], list[dict]]:
    total_weight = sum(city.weight for city in CITIES)
    listings: list[dict] = []
    stats: list[dict] = []
    number = FIRST_LISTING_NUMBER
    for city in CITIES:
        used: set[str] = set()
        for _ in range(round(LISTING_TOTAL * city.weight / total_weight)):
            kind = pick_type(rng, city)
            if kind == "land":
                sqft, price, noise = land_parcel(rng, city)
                beds, baths, built = 0, 0.0, None
            else:
                sqft = home_size(rng, city, kind)
                price, noise = home_price(rng, city, kind, sqft)
                beds, baths = rooms(rng, kind, sqft)
                built = year_built(rng, city, kind)
            status, listed, dom = status_and_dates(rng, city, noise)
            listing = {
                "listing_id": f"L{number}",
                "address": {
                    "street": street_address(rng, kind, used),
                    "city": city.name,
                    "state": city.state,
                    "zip": f"{rng.randint(*city.zips):05d}",
                },
                "price": price,
                "bedrooms": beds,
                "bathrooms": baths,
                "sqft": sqft,
                "property_type": kind,
                "status": status,
                "year_built": built,
                "listed_at": listed.isoformat(),
                "days_on_market": dom,
                "description": describe(rng, city, kind, beds, sqft),
            }
            listings.append(listing)
            stats.append(engagement(rng, listing, noise, city))
            number += 1
    return listings, stats


def sales_months() -> list[tuple[int, int]]:
    year, month = LAST_SALES_MONTH
    months = []
    for _ in range(SALES_MONTHS):
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def type_quota(rng: random.Random, city: City, volume: int) -> list[str]:
    """The month's property types in the city's proportions (largest remainder, ties at random),
    so that a month's median moves with prices rather than with the luck of the draw."""
    total = sum(city.mix)
    shares = [volume * weight / total for weight in city.mix]
    counts = [int(share) for share in shares]
    order = sorted(range(len(TYPES)), key=lambda i: (shares[i] - counts[i], rng.random()))
    for i in order[::-1][: volume - sum(counts)]:
        counts[i] += 1
    return [kind for kind, count in zip(TYPES, counts, strict=True) for _ in range(count)]


def stratified_normals(rng: random.Random, count: int) -> list[float]:
    """Standard normal draws, one from each of `count` equal-probability strata, in random
    order: each record looks random, while a month's median stays close to the market's."""
    draws = [NORMAL.inv_cdf((i + rng.random()) / count) for i in range(count)]
    rng.shuffle(draws)
    return draws


def sale_record(rng: random.Random, city: City, kind: str, z: float, level: float) -> tuple:
    """(price, sqft) of one closed sale: the price drawn from the stratum z, the size loosely
    following the price."""
    if kind == "land":
        price = city.ppsf * 60 * math.exp(0.5 * z)
        sqft = 12_000 * math.exp(0.6 * z + 0.4 * rng.gauss(0.0, 1.0))
        return round_price(price * level), max(2_000, int(round(sqft / 100) * 100))
    median_sqft = TYPE_SQFT[kind] * city.space
    price = median_sqft * city.ppsf * TYPE_PPSF[kind] * math.exp(0.3 * z)
    sqft = median_sqft * math.exp(0.24 * z + 0.14 * rng.gauss(0.0, 1.0))
    floor = 380 if kind == "condo" else 700
    return round_price(price * level), int(round(max(floor, min(sqft, 9_000)) / 10) * 10)


def make_sales(rng: random.Random, listing_counts: dict[str, int]) -> Iterator[dict]:
    """Closed sales, month by month; volume follows the season and the market's heat (months of
    supply from about 2 in hot markets to 5 in cool ones), prices follow the city's trend with
    a little month-to-month noise."""
    for city in CITIES:
        active = listing_counts[city.name] * (0.68 - 0.18 * city.heat)
        monthly = active / (6 - 5 * city.heat)
        for index, (year, month) in enumerate(sales_months()):
            months_back = SALES_MONTHS - 1 - index
            trend = (1 + city.trend_pct / 100) ** (-months_back / 12)
            level = trend * SEASONAL_PRICE[month - 1] * math.exp(rng.gauss(0.0, 0.01))
            volume = max(3, round(rng.gauss(monthly * SEASONALITY[month - 1], monthly * 0.08)))
            days_in_month = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
            kinds = type_quota(rng, city, volume)
            strata: dict[str, list[float]] = {
                kind: stratified_normals(rng, kinds.count(kind)) for kind in TYPES
            }
            for kind in kinds:
                price, sqft = sale_record(rng, city, kind, strata[kind].pop(), level)
                yield {
                    "city": city.name,
                    "state": city.state,
                    "sold_on": date(year, month, rng.randint(1, days_in_month)).isoformat(),
                    "price": price,
                    "sqft": sqft,
                    "property_type": kind,
                }


def write_jsonl_gz(path: Path, records: Iterable[dict]) -> int:
    """Write records as gzipped JSON lines with no timestamp or name in the header: same bytes
    on every run."""
    count = 0
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as out,
    ):
        for record in records:
            out.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
            count += 1
    return count


def main(out_dir: Path = OUT_DIR) -> None:
    """Write the three gzipped JSON-lines files into `out_dir` (cities.json is their input)."""
    rng = random.Random(SEED)
    listings, stats = make_listings(rng)
    counts: dict[str, int] = {}
    for listing in listings:
        counts[listing["address"]["city"]] = counts.get(listing["address"]["city"], 0) + 1
    write_jsonl_gz(out_dir / "listings.jsonl.gz", listings)
    write_jsonl_gz(out_dir / "engagement.jsonl.gz", stats)
    write_jsonl_gz(out_dir / "sales.jsonl.gz", make_sales(rng, counts))


if __name__ == "__main__":
    main()
