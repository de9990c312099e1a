"""The bundled dataset: the minimums it promises, well-formed records, believable differences
between cities, and a generator that writes the same bytes every time."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import date, timedelta
from statistics import median

from app.agent.offline.vocabulary import CITIES, STATES
from app.mcp.dataset import DATA_DIR, read_jsonl

pytest_plugins = ["tests.support.service_fixtures"]

EXPECTED_CITIES = {
    ("Portland", "OR"), ("Seattle", "WA"), ("Bellevue", "WA"), ("Kirkland", "WA"),
    ("Redmond", "WA"), ("Vancouver", "WA"), ("Tacoma", "WA"), ("Spokane", "WA"),
    ("Eugene", "OR"), ("Salem", "OR"), ("Bend", "OR"), ("Boise", "ID"),
    ("San Francisco", "CA"), ("Oakland", "CA"), ("San Jose", "CA"), ("Los Angeles", "CA"),
    ("San Diego", "CA"), ("Sacramento", "CA"), ("Denver", "CO"), ("Austin", "TX"),
    ("Dallas", "TX"), ("Houston", "TX"), ("Phoenix", "AZ"), ("Salt Lake City", "UT"),
    ("Chicago", "IL"), ("Minneapolis", "MN"), ("Atlanta", "GA"), ("Nashville", "TN"),
    ("Raleigh", "NC"), ("Boston", "MA"), ("New York", "NY"), ("Miami", "FL"),
}  # fmt: skip
AS_OF = date(2026, 10, 31)
TYPES = {"house", "condo", "townhouse", "multi_family", "land"}
STATUSES = {"active", "pending", "sold"}


def _months_back(count: int) -> list[str]:
    months, year, month = [], 2026, 10
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def test_dataset_has_at_least_10000_listings_in_exactly_the_32_cities(dataset):
    listings = dataset["listings"]
    assert len(listings) >= 10_000
    assert {(x["address"]["city"], x["address"]["state"]) for x in listings} == EXPECTED_CITIES
    assert {(c["city"], c["state"]) for c in dataset["cities"]} == EXPECTED_CITIES
    assert {c["state_name"] for c in dataset["cities"] if c["state"] == "OR"} == {"Oregon"}


def test_every_listing_is_well_formed(dataset):
    ids = set()
    for listing in dataset["listings"]:
        assert re.fullmatch(r"L\d{6}", listing["listing_id"])
        ids.add(listing["listing_id"])
        address = listing["address"]
        assert set(address) == {"street", "city", "state", "zip"}
        assert re.fullmatch(r"\d+ \w[\w ]+", address["street"])
        assert re.fullmatch(r"\d{5}", address["zip"])
        assert isinstance(listing["price"], int) and listing["price"] > 0
        assert listing["property_type"] in TYPES
        assert listing["status"] in STATUSES
        assert isinstance(listing["sqft"], int) and listing["sqft"] > 0
        assert listing["bathrooms"] * 2 == int(listing["bathrooms"] * 2)
        if listing["property_type"] == "land":
            assert listing["year_built"] is None
            assert listing["bedrooms"] == 0
        else:
            assert 1850 <= listing["year_built"] <= 2026
            assert listing["bathrooms"] >= 1
        listed = date.fromisoformat(listing["listed_at"])
        assert listed <= AS_OF and listing["days_on_market"] >= 0
        if listing["status"] != "sold":
            assert listed + timedelta(days=listing["days_on_market"]) == AS_OF
        assert 20 <= len(listing["description"]) <= 200
    assert len(ids) == len(dataset["listings"])


def test_sales_cover_36_months_in_every_city_with_seasonal_volume(dataset):
    months = _months_back(36)
    per_city: dict[str, Counter] = defaultdict(Counter)
    for sale in dataset["sales"]:
        assert sale["price"] > 0 and sale["sqft"] > 0 and sale["property_type"] in TYPES
        per_city[sale["city"]][sale["sold_on"][:7]] += 1
    assert set(per_city) == {city for city, _ in EXPECTED_CITIES}
    for counts in per_city.values():
        assert sorted(counts) == months
        assert min(counts.values()) >= 5
    june = sum(counts[m] for counts in per_city.values() for m in months if m.endswith("-06"))
    january = sum(counts[m] for counts in per_city.values() for m in months if m.endswith("-01"))
    assert june > 1.3 * january


def test_engagement_figures_are_consistent_for_every_listing(dataset):
    by_id = {row["listing_id"]: row for row in dataset["engagement"]}
    assert set(by_id) == {listing["listing_id"] for listing in dataset["listings"]}
    for row in by_id.values():
        assert 0 <= row["page_views"] <= row["impressions"]
        assert 0 <= row["saves"] <= row["page_views"]
        assert 0 <= row["showings"] <= row["inquiries"] <= row["page_views"]


def test_cities_differ_believably_in_price_and_type_mix(dataset):
    prices: dict[str, list[int]] = defaultdict(list)
    types: dict[str, Counter] = defaultdict(Counter)
    for listing in dataset["listings"]:
        city = listing["address"]["city"]
        types[city][listing["property_type"]] += 1
        if listing["property_type"] != "land":
            prices[city].append(listing["price"] / listing["sqft"])

    def condo_share(city: str) -> float:
        return types[city]["condo"] / sum(types[city].values())

    assert median(prices["San Francisco"]) > 2.5 * median(prices["Boise"])
    assert median(prices["New York"]) > 3 * median(prices["Houston"])
    assert condo_share("San Francisco") > 0.3 > 0.1 > condo_share("Boise")
    assert types["Boise"].most_common(1)[0][0] == "house"


def test_generator_writes_exactly_the_bundled_files(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("generate", DATA_DIR / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "generate", generate)  # dataclasses look themselves up
    spec.loader.exec_module(generate)
    generate.main(tmp_path)
    for name in ("listings.jsonl.gz", "sales.jsonl.gz", "engagement.jsonl.gz"):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_every_city_of_the_one_city_table_is_generated_and_known_to_the_assistant():
    table = json.loads((DATA_DIR / "cities.json").read_text())
    listed = {
        (row["address"]["city"], row["address"]["state"]) for row in read_jsonl("listings.jsonl.gz")
    }

    assert [(row["city"], row["state"]) for row in table] == list(CITIES)
    assert listed == set(CITIES)
    assert {row["state"]: row["state_name"] for row in table} == STATES


def test_bundled_files_stay_small():
    total = sum(path.stat().st_size for path in DATA_DIR.glob("*.gz"))
    assert total < 3_000_000
