"""The offline assistant's understanding: phrasings to tool calls, extractors, follow-ups."""

from __future__ import annotations

from typing import Any

import pytest

from app.agent.offline import vocabulary as vocab
from app.agent.offline.extract import (
    detect_intents,
    extract_bathrooms,
    extract_bedrooms,
    extract_email,
    extract_limit,
    extract_listing_ids,
    extract_months,
    extract_mortgage_terms,
    extract_price_range,
    extract_property_type,
    extract_sort,
    extract_sqft,
    extract_status,
    extract_unsupported,
    parse_price,
)
from app.agent.offline.places import Place, extract_city, extract_places, extract_unknown_place
from app.agent.offline.plan import ToolCall, plan_reply
from app.agent.offline.state import merge_filters, price_in_history, referenced_ids

PDX = {"city": "Portland", "state": "OR"}
SEA = {"city": "Seattle", "state": "WA"}

# (message, tool, arguments): one tool call expected, with exactly these arguments.
PHRASINGS: list[tuple[str, str, dict[str, Any]]] = [
    # --- search: places
    ("homes in Portland", "search_listings", PDX),
    (
        "houses for sale in Portland, OR",
        "search_listings",
        {**PDX, "property_type": "house", "status": "active"},
    ),
    ("anything in portland oregon under $700k?", "search_listings", {**PDX, "max_price": 700_000}),
    ("Seattle WA listings", "search_listings", SEA),
    (
        "what's available in SF",
        "search_listings",
        {"city": "San Francisco", "state": "CA", "status": "active"},
    ),
    (
        "NYC condos",
        "search_listings",
        {"city": "New York", "state": "NY", "property_type": "condo"},
    ),
    (
        "homes in new york city under 2 million",
        "search_listings",
        {"city": "New York", "state": "NY", "max_price": 2_000_000},
    ),
    ("find me a place in salt lake", "search_listings", {"city": "Salt Lake City", "state": "UT"}),
    ("homes in LA", "search_listings", {"city": "Los Angeles", "state": "CA"}),
    ("homes in Bend, OR", "search_listings", {"city": "Bend", "state": "OR"}),
    ("listings in bend oregon", "search_listings", {"city": "Bend", "state": "OR"}),
    ("homes in Texas", "search_listings", {"state": "TX"}),
    ("land in Washington state", "search_listings", {"state": "WA", "property_type": "land"}),
    ("homes in OR under 500k", "search_listings", {"state": "OR", "max_price": 500_000}),
    # --- search: prices in every form
    (
        "homes in Denver $700k",
        "search_listings",
        {"city": "Denver", "state": "CO", "max_price": 700_000},
    ),
    (
        "homes in Austin 700,000",
        "search_listings",
        {"city": "Austin", "state": "TX", "max_price": 700_000},
    ),
    (
        "homes in Austin for 700000",
        "search_listings",
        {"city": "Austin", "state": "TX", "max_price": 700_000},
    ),
    (
        "houses in Boise under 550k",
        "search_listings",
        {"city": "Boise", "state": "ID", "property_type": "house", "max_price": 550_000},
    ),
    (
        "homes in Dallas below $600,000",
        "search_listings",
        {"city": "Dallas", "state": "TX", "max_price": 600_000},
    ),
    (
        "homes in Houston less than 1m",
        "search_listings",
        {"city": "Houston", "state": "TX", "max_price": 1_000_000},
    ),
    (
        "homes in Phoenix over 400k",
        "search_listings",
        {"city": "Phoenix", "state": "AZ", "min_price": 400_000},
    ),
    (
        "homes in Chicago at least 300k",
        "search_listings",
        {"city": "Chicago", "state": "IL", "min_price": 300_000},
    ),
    (
        "homes in Miami between 400k and 600k",
        "search_listings",
        {"city": "Miami", "state": "FL", "min_price": 400_000, "max_price": 600_000},
    ),
    (
        "homes in Atlanta 400-600k",
        "search_listings",
        {"city": "Atlanta", "state": "GA", "min_price": 400_000, "max_price": 600_000},
    ),
    (
        "homes in Raleigh $400k to $600k",
        "search_listings",
        {"city": "Raleigh", "state": "NC", "min_price": 400_000, "max_price": 600_000},
    ),
    (
        "homes in Boston 1.2 million",
        "search_listings",
        {"city": "Boston", "state": "MA", "max_price": 1_200_000},
    ),
    (
        "homes in San Jose up to $1.2M",
        "search_listings",
        {"city": "San Jose", "state": "CA", "max_price": 1_200_000},
    ),
    (
        "homes in Oakland from 800k to 1.1m",
        "search_listings",
        {"city": "Oakland", "state": "CA", "min_price": 800_000, "max_price": 1_100_000},
    ),
    (
        "condos in San Diego for under a million",
        "search_listings",
        {"city": "San Diego", "state": "CA", "property_type": "condo", "max_price": 1_000_000},
    ),
    (
        "homes in Tacoma 500k or less",
        "search_listings",
        {"city": "Tacoma", "state": "WA", "max_price": 500_000},
    ),
    (
        "homes in Spokane 300k+",
        "search_listings",
        {"city": "Spokane", "state": "WA", "min_price": 300_000},
    ),
    (
        "homes in Eugene around 500k",
        "search_listings",
        {"city": "Eugene", "state": "OR", "min_price": 450_000, "max_price": 550_000},
    ),
    (
        "my budget is $450,000 in Salem",
        "search_listings",
        {"city": "Salem", "state": "OR", "max_price": 450_000},
    ),
    # --- search: rooms and size
    ("3 bed homes in Portland", "search_listings", {**PDX, "min_bedrooms": 3}),
    (
        "3-bedroom house in Seattle",
        "search_listings",
        {**SEA, "min_bedrooms": 3, "property_type": "house"},
    ),
    (
        "three bedrooms in Redmond",
        "search_listings",
        {"city": "Redmond", "state": "WA", "min_bedrooms": 3},
    ),
    ("3br in Kirkland", "search_listings", {"city": "Kirkland", "state": "WA", "min_bedrooms": 3}),
    (
        "at least 2 beds in Bellevue",
        "search_listings",
        {"city": "Bellevue", "state": "WA", "min_bedrooms": 2},
    ),
    (
        "3+ bd 2 ba in Vancouver WA",
        "search_listings",
        {"city": "Vancouver", "state": "WA", "min_bedrooms": 3, "min_bathrooms": 2},
    ),
    (
        "homes in Nashville with 2.5 baths",
        "search_listings",
        {"city": "Nashville", "state": "TN", "min_bathrooms": 2.5},
    ),
    (
        "two bathrooms, 4 bedrooms, Minneapolis",
        "search_listings",
        {"city": "Minneapolis", "state": "MN", "min_bedrooms": 4, "min_bathrooms": 2},
    ),
    (
        "homes in Sacramento over 2000 sq ft",
        "search_listings",
        {"city": "Sacramento", "state": "CA", "min_sqft": 2000},
    ),
    (
        "homes in Denver with at least 1,500 square feet",
        "search_listings",
        {"city": "Denver", "state": "CO", "min_sqft": 1500},
    ),
    (
        "condos in Boston under 900 sqft",
        "search_listings",
        {"city": "Boston", "state": "MA", "property_type": "condo", "max_sqft": 900},
    ),
    (
        "4 bedroom 3 bath house in Austin over 2,500 sq ft under $900k",
        "search_listings",
        {
            "city": "Austin",
            "state": "TX",
            "min_bedrooms": 4,
            "min_bathrooms": 3,
            "property_type": "house",
            "min_sqft": 2500,
            "max_price": 900_000,
        },
    ),
    # --- search: types, status, sort, limit
    (
        "apartments in Chicago",
        "search_listings",
        {"city": "Chicago", "state": "IL", "property_type": "condo"},
    ),
    (
        "a flat in Miami",
        "search_listings",
        {"city": "Miami", "state": "FL", "property_type": "condo"},
    ),
    (
        "townhomes in Raleigh",
        "search_listings",
        {"city": "Raleigh", "state": "NC", "property_type": "townhouse"},
    ),
    (
        "row houses in Boston",
        "search_listings",
        {"city": "Boston", "state": "MA", "property_type": "townhouse"},
    ),
    ("duplex in Portland", "search_listings", {**PDX, "property_type": "multi_family"}),
    ("triplexes in Seattle", "search_listings", {**SEA, "property_type": "multi_family"}),
    (
        "multi-family homes in Atlanta",
        "search_listings",
        {"city": "Atlanta", "state": "GA", "property_type": "multi_family"},
    ),
    ("lots in Boise", "search_listings", {"city": "Boise", "state": "ID", "property_type": "land"}),
    (
        "single family homes in Phoenix",
        "search_listings",
        {"city": "Phoenix", "state": "AZ", "property_type": "house"},
    ),
    (
        "pending homes in Dallas",
        "search_listings",
        {"city": "Dallas", "state": "TX", "status": "pending"},
    ),
    (
        "homes under contract in Houston",
        "search_listings",
        {"city": "Houston", "state": "TX", "status": "pending"},
    ),
    (
        "recently sold homes in Denver",
        "search_listings",
        {"city": "Denver", "state": "CO", "status": "sold"},
    ),
    ("cheapest homes in Portland", "search_listings", {**PDX, "sort": "price_asc"}),
    ("homes in Seattle, lowest price first", "search_listings", {**SEA, "sort": "price_asc"}),
    (
        "most expensive homes in San Francisco",
        "search_listings",
        {"city": "San Francisco", "state": "CA", "sort": "price_desc"},
    ),
    (
        "newest listings in Austin",
        "search_listings",
        {"city": "Austin", "state": "TX", "sort": "newest"},
    ),
    (
        "biggest houses in Houston",
        "search_listings",
        {"city": "Houston", "state": "TX", "property_type": "house", "sort": "sqft_desc"},
    ),
    ("show me 5 homes in Miami", "search_listings", {"city": "Miami", "state": "FL", "limit": 5}),
    (
        "top 3 cheapest condos in Seattle",
        "search_listings",
        {**SEA, "property_type": "condo", "sort": "price_asc", "limit": 3},
    ),
    # --- listing details
    ("tell me about L100234", "get_listing", {"listing_id": "L100234"}),
    ("details for l100345", "get_listing", {"listing_id": "L100345"}),
    ("L100456", "get_listing", {"listing_id": "L100456"}),
    # --- market
    ("how is the Seattle market?", "get_market_analysis", SEA),
    ("market analysis for Austin", "get_market_analysis", {"city": "Austin", "state": "TX"}),
    ("what's the median price in Boise", "get_market_analysis", {"city": "Boise", "state": "ID"}),
    ("is Denver competitive right now?", "get_market_analysis", {"city": "Denver", "state": "CO"}),
    (
        "average price per square foot in Bellevue",
        "get_market_analysis",
        {"city": "Bellevue", "state": "WA"},
    ),
    ("home prices in Miami", "get_market_analysis", {"city": "Miami", "state": "FL"}),
    # --- trends
    (
        "price trends in Denver over the last 6 months",
        "get_price_trends",
        {"city": "Denver", "state": "CO", "months": 6},
    ),
    ("Portland price history past 2 years", "get_price_trends", {**PDX, "months": 24}),
    (
        "how have prices changed in Austin over the last year?",
        "get_price_trends",
        {"city": "Austin", "state": "TX", "months": 12},
    ),
    ("price trend for Seattle", "get_price_trends", SEA),
    (
        "Chicago trends over 5 years",
        "get_price_trends",
        {"city": "Chicago", "state": "IL", "months": 36},
    ),
    # --- compare
    (
        "compare Portland, Seattle and Boise",
        "compare_markets",
        {"cities": ["Portland, OR", "Seattle, WA", "Boise, ID"]},
    ),
    ("Austin vs Dallas", "compare_markets", {"cities": ["Austin, TX", "Dallas, TX"]}),
    (
        "which market is hotter, Denver or Phoenix?",
        "compare_markets",
        {"cities": ["Denver, CO", "Phoenix, AZ"]},
    ),
    (
        "compare the markets in SF, LA, San Diego, Sacramento and San Jose",
        "compare_markets",
        {
            "cities": [
                "San Francisco, CA",
                "Los Angeles, CA",
                "San Diego, CA",
                "Sacramento, CA",
                "San Jose, CA",
            ]
        },
    ),
    # --- mortgage
    (
        "monthly payment on a $650k house with 10% down at 6% for 15 years",
        "estimate_mortgage",
        {"price": 650_000, "down_payment_pct": 10, "annual_rate_pct": 6, "years": 15},
    ),
    ("mortgage on 500k", "estimate_mortgage", {"price": 500_000}),
    (
        "what would I pay per month for a $1.2M home at 7.25% interest?",
        "estimate_mortgage",
        {"price": 1_200_000, "annual_rate_pct": 7.25},
    ),
    (
        "30-year fixed on 800,000 with 25 percent down",
        "estimate_mortgage",
        {"price": 800_000, "down_payment_pct": 25, "years": 30},
    ),
    (
        "mortgage for $400k with $80k down",
        "estimate_mortgage",
        {"price": 400_000, "down_payment_pct": 20},
    ),
    (
        "payment on 700000 at a rate of 5.5",
        "estimate_mortgage",
        {"price": 700_000, "annual_rate_pct": 5.5},
    ),
    # --- listing analytics and reports
    (
        "how are L100234 and L100345 performing?",
        "generate_performance_report",
        {"listing_ids": ["L100234", "L100345"]},
    ),
    (
        "performance report for L100234, L100345 and L100456",
        "generate_performance_report",
        {"listing_ids": ["L100234", "L100345", "L100456"]},
    ),
    (
        "metrics for L100234 and L100345",
        "get_listing_metrics",
        {"listing_ids": ["L100234", "L100345"]},
    ),
    ("page views and inquiries for L100234", "get_listing_metrics", {"listing_ids": ["L100234"]}),
    (
        "email a report of L100234 and L100345 to jane@example.com",
        "send_listing_report",
        {"listing_ids": ["L100234", "L100345"], "recipient_email": "jane@example.com"},
    ),
    (
        "send L100234 to bob.smith+homes@mail.example.org",
        "send_listing_report",
        {"listing_ids": ["L100234"], "recipient_email": "bob.smith+homes@mail.example.org"},
    ),
]


@pytest.mark.parametrize(("message", "tool", "arguments"), PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_phrasing_routes_to_the_expected_tool_call(
    message: str, tool: str, arguments: dict[str, Any]
) -> None:
    plan = plan_reply(message, [])
    assert plan.calls == [ToolCall(tool, arguments)]


def test_the_phrasing_table_is_large_and_covers_every_tool() -> None:
    assert len(PHRASINGS) >= 70
    tools = {tool for _, tool, _ in PHRASINGS}
    assert tools == {
        "search_listings",
        "get_listing",
        "send_listing_report",
        "get_market_analysis",
        "get_price_trends",
        "compare_markets",
        "get_listing_metrics",
        "generate_performance_report",
        "estimate_mortgage",
    }


# --- requests answered without a tool call


@pytest.mark.parametrize(
    ("message", "intent", "missing"),
    [
        ("hi", "greeting", None),
        ("Hello there!", "greeting", None),
        ("thanks!", "thanks", None),
        ("what can you do?", "help", None),
        ("what's the weather like?", "off_topic", None),
        ("homes in Las Vegas", "search", "city"),
        ("how is the market?", "market", "city"),
        ("send a report of L100234", "report", "email"),
        ("how are my listings performing?", "performance", "listing_ids"),
        ("what's my monthly payment?", "mortgage", "price"),
    ],
)
def test_requests_that_cannot_call_a_tool_say_what_is_missing(
    message: str, intent: str, missing: str | None
) -> None:
    plan = plan_reply(message, [])
    assert (plan.intent, plan.calls, plan.missing) == (intent, [], missing)


def test_an_unknown_city_is_named_as_not_understood() -> None:
    plan = plan_reply("how is the market in Las Vegas?", [])
    assert plan.missing == "city"
    assert plan.not_understood == ["Las Vegas"]


def test_features_become_description_keywords_and_the_rest_is_reported() -> None:
    plan = plan_reply("3 bedroom house in Nashville with a pool", [])
    assert plan.filters["min_bedrooms"] == 3 and plan.filters["keywords"] == ["pool"]
    assert plan.not_understood == []
    hoa = plan_reply("condos in Miami with low HOA fees", [])
    assert hoa.not_understood == ["filtering by HOA fees"]


def test_several_property_types_are_searched_together() -> None:
    plan = plan_reply("condos or townhouses in Denver", [])
    assert plan.filters["property_types"] == ["condo", "townhouse"]
    assert plan.not_understood == []


def test_a_mortgage_on_a_listing_whose_price_is_unknown_looks_the_listing_up() -> None:
    plan = plan_reply("mortgage on L100999", [])
    assert plan.calls == [ToolCall("get_listing", {"listing_id": "L100999"})]
    assert plan.missing == "price"


def test_trend_periods_beyond_the_data_are_capped_and_the_cap_is_stated() -> None:
    plan = plan_reply("Chicago trends over 5 years", [])
    assert plan.calls[0].arguments["months"] == 36
    assert any("36 months" in a for a in plan.assumptions)


# --- the small extractors


@pytest.mark.parametrize(
    ("text", "price"),
    [
        ("$700k", 700_000),
        ("700K", 700_000),
        ("700,000", 700_000),
        ("700000", 700_000),
        ("1.2 million", 1_200_000),
        ("$1.2M", 1_200_000),
        ("2m", 2_000_000),
        ("half a million", 500_000),
        ("a million", 1_000_000),
        ("3 bedrooms", None),
        ("2000 sq ft", None),
        ("6 months", None),
        ("10% down", None),
        ("L100234", None),
    ],
)
def test_parse_price_reads_common_money_forms(text: str, price: int | None) -> None:
    assert parse_price(text) == price


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("under 550k", (None, 550_000)),
        ("below $600,000", (None, 600_000)),
        ("less than 1m", (None, 1_000_000)),
        ("no more than 450k", (None, 450_000)),
        ("500k or less", (None, 500_000)),
        ("over 400k", (400_000, None)),
        ("at least 300k", (300_000, None)),
        ("400k+", (400_000, None)),
        ("between 400k and 600k", (400_000, 600_000)),
        ("400-600k", (400_000, 600_000)),
        ("$400k to $600k", (400_000, 600_000)),
        ("1-1.5 million", (1_000_000, 1_500_000)),
        ("around 500k", (450_000, 550_000)),
        ("$700k", (None, 700_000)),
        ("3 to 4 bedrooms", (None, None)),
        ("nothing here", (None, None)),
    ],
)
def test_extract_price_range_reads_bounds_and_ranges(
    text: str, bounds: tuple[int | None, int | None]
) -> None:
    assert extract_price_range(text) == bounds


def test_a_bare_amount_is_not_a_maximum_when_asked_not_to() -> None:
    assert extract_price_range("$700k", bare_is_max=False) == (None, None)


@pytest.mark.parametrize(
    ("text", "beds"),
    [
        ("3 bed", 3),
        ("3-bedroom", 3),
        ("three bedrooms", 3),
        ("3br", 3),
        ("at least 2 beds", 2),
        ("3+ bd", 3),
        ("4 or more bedrooms", 4),
        ("more than 2 bedrooms", 3),
        ("a house", None),
    ],
)
def test_extract_bedrooms(text: str, beds: int | None) -> None:
    assert extract_bedrooms(text) == beds


@pytest.mark.parametrize(
    ("text", "baths"),
    [
        ("2 baths", 2),
        ("2.5 bathrooms", 2.5),
        ("two and a half baths", 2.5),
        ("1 ba", 1),
        ("3 bed", None),
    ],
)
def test_extract_bathrooms(text: str, baths: float | None) -> None:
    assert extract_bathrooms(text) == baths


@pytest.mark.parametrize(
    ("text", "sqft"),
    [
        ("over 2000 sq ft", (2000, None)),
        ("at least 1,500 square feet", (1500, None)),
        ("under 1000 sqft", (None, 1000)),
        ("2k+ sq ft", (2000, None)),
        ("between 1500 and 2500 sq ft", (1500, 2500)),
        ("under 500k", (None, None)),
    ],
)
def test_extract_sqft(text: str, sqft: tuple[int | None, int | None]) -> None:
    assert extract_sqft(text) == sqft


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("show me 5", 5),
        ("top 3", 3),
        ("10 listings", 10),
        ("show me 3 bedroom homes", None),
        ("show me 200 homes", 50),
        ("show me homes", None),
    ],
)
def test_extract_limit(text: str, limit: int | None) -> None:
    assert extract_limit(text) == limit


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("condo", "condo"),
        ("apartment", "condo"),
        ("flat", "condo"),
        ("townhome", "townhouse"),
        ("townhouse", "townhouse"),
        ("row house", "townhouse"),
        ("duplex", "multi_family"),
        ("triplex", "multi_family"),
        ("multi-family", "multi_family"),
        ("lot", "land"),
        ("land", "land"),
        ("house", "house"),
        ("single family home", "house"),
        ("homes", None),
        ("I like it a lot", None),
    ],
)
def test_extract_property_type_maps_synonyms(text: str, kind: str | None) -> None:
    assert extract_property_type(text) == kind


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("for sale", "active"),
        ("available", "active"),
        ("pending", "pending"),
        ("under contract", "pending"),
        ("sold", "sold"),
        ("recently sold", "sold"),
        ("homes", None),
    ],
)
def test_extract_status(text: str, status: str | None) -> None:
    assert extract_status(text) == status


@pytest.mark.parametrize(
    ("text", "sort"),
    [
        ("cheapest", "price_asc"),
        ("lowest price", "price_asc"),
        ("cheaper ones", "price_asc"),
        ("cheaper than 500k", None),
        ("most expensive", "price_desc"),
        ("newest", "newest"),
        ("latest", "newest"),
        ("largest", "sqft_desc"),
        ("biggest", "sqft_desc"),
    ],
)
def test_extract_sort(text: str, sort: str | None) -> None:
    assert extract_sort(text) == sort


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Portland, OR", Place("Portland", "OR")),
        ("portland oregon", Place("Portland", "OR")),
        ("Seattle WA", Place("Seattle", "WA")),
        ("SF", Place("San Francisco", "CA")),
        ("NYC", Place("New York", "NY")),
        ("new york city", Place("New York", "NY")),
        ("salt lake", Place("Salt Lake City", "UT")),
        ("Salt Lake City, Utah", Place("Salt Lake City", "UT")),
        ("l.a. homes", Place("Los Angeles", "CA")),
        ("we could bend the rules", None),
        ("sf", None),
    ],
)
def test_extract_city_knows_the_usual_spellings(text: str, place: Place | None) -> None:
    assert extract_city(text) == place


def test_every_dataset_city_is_recognised_by_its_own_name() -> None:
    for city, state in vocab.CITIES:
        assert extract_city(f"homes in {city}") == Place(city, state), city


def test_a_state_alone_is_a_state_wide_place() -> None:
    assert extract_places("homes in Oregon") == [Place(None, "OR")]
    assert extract_places("homes in TX") == [Place(None, "TX")]


def test_the_word_or_after_a_city_is_not_oregon() -> None:
    assert extract_places("Seattle or Portland") == [
        Place("Seattle", "WA"),
        Place("Portland", "OR"),
    ]


def test_extract_unknown_place_names_a_capitalised_place_outside_the_dataset() -> None:
    assert extract_unknown_place("homes in Las Vegas") == "Las Vegas"
    assert extract_unknown_place("homes in Portland") is None


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("over the last 6 months", 6),
        ("past 2 years", 24),
        ("last year", 12),
        ("last quarter", 3),
        ("18-month", 18),
        ("this year", None),
        ("monthly", None),
    ],
)
def test_extract_months(text: str, months: int | None) -> None:
    assert extract_months(text) == months


def test_extract_listing_ids_normalises_case_and_drops_repeats() -> None:
    assert extract_listing_ids("l100234, L100345 and L100234; not L12345") == ["L100234", "L100345"]


def test_extract_email() -> None:
    assert extract_email("send it to jane@example.com.") == "jane@example.com"
    assert extract_email("no address") is None


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        (
            "$650k with 10% down at 6% for 15 years",
            {"price": 650_000, "down_payment_pct": 10, "annual_rate_pct": 6, "years": 15},
        ),
        ("at 6.5%", {"annual_rate_pct": 6.5}),
        ("20% down", {"down_payment_pct": 20}),
        ("15 year", {"years": 15}),
        ("$500k with $100k down", {"price": 500_000, "down_payment_pct": 20}),
    ],
)
def test_extract_mortgage_terms(text: str, terms: dict[str, float]) -> None:
    assert extract_mortgage_terms(text) == terms


def test_extract_unsupported_names_features_the_search_cannot_filter() -> None:
    assert extract_unsupported("pet friendly with low hoa fees") == ["pet policies", "HOA fees"]
    assert extract_unsupported("3 bed homes with a pool and a garage") == []


def test_detect_intents_ignores_the_phrase_on_the_market() -> None:
    assert "market" not in detect_intents("homes on the market in Portland")


def test_merge_filters_replaces_the_place_whole_and_keeps_a_consistent_price_range() -> None:
    earlier = {**PDX, "min_price": 400_000, "max_price": 600_000, "min_bedrooms": 3}
    assert merge_filters(earlier, {"state": "WA"}) == {
        "state": "WA",
        "min_price": 400_000,
        "max_price": 600_000,
        "min_bedrooms": 3,
    }
    assert merge_filters(earlier, {"min_price": 700_000}) == {
        **PDX,
        "min_price": 700_000,
        "min_bedrooms": 3,
    }
    assert merge_filters(earlier, {"max_price": 800_000})["min_price"] == 400_000


SEARCH_ANSWER = (
    "I found **2** homes.\n\n| Price | Beds / baths | Sq ft | Address | ID |\n"
    "|---:|---|---:|---|---|\n"
    "| $650,000 | 3 bd / 2 ba | 1,800 | 1 Main St, Portland, OR 97201 | L100234 |\n"
    "| $720,000 | 4 bd / 3 ba | 2,200 | 2 Oak St, Portland, OR 97202 | L100345 |"
)


def _history(*turns: str) -> list[dict[str, str]]:
    """Alternate user and assistant turns, starting with the user."""
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": text} for i, text in enumerate(turns)]


def test_price_in_history_reads_the_price_on_the_listing_line() -> None:
    history = _history("homes in Portland", SEARCH_ANSWER)
    assert price_in_history("L100345", history) == 720_000
    assert price_in_history("L999999", history) is None


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("these", ["L100234", "L100345"]),
        ("the second one", ["L100345"]),
        ("the last one", ["L100345"]),
        ("the top 1", ["L100234"]),
        ("#2", ["L100345"]),
        ("the tenth one", []),
    ],
)
def test_referenced_ids_resolves_pointers_to_earlier_listings(text: str, ids: list[str]) -> None:
    assert referenced_ids(text, _history("homes in Portland", SEARCH_ANSWER))[0] == ids


# --- follow-ups over two and three turns


def _plan_after(*turns: str, answer: str = "Here you go.") -> Any:
    """Plan the last message after the others, each answered with `answer`."""
    history: list[dict[str, str]] = []
    for turn in turns[:-1]:
        history += [{"role": "user", "content": turn}, {"role": "assistant", "content": answer}]
    return plan_reply(turns[-1], history)


def test_a_bedroom_follow_up_keeps_the_city_and_price() -> None:
    plan = _plan_after("homes in Portland under 700k", "what about 4 bedrooms?")
    assert plan.calls == [
        ToolCall("search_listings", {**PDX, "max_price": 700_000, "min_bedrooms": 4})
    ]
    assert plan.follow_up


def test_a_city_follow_up_keeps_the_other_filters_over_three_turns() -> None:
    plan = _plan_after("homes in Portland under 700k", "what about 4 bedrooms?", "and in Seattle?")
    assert plan.calls == [
        ToolCall("search_listings", {**SEA, "max_price": 700_000, "min_bedrooms": 4})
    ]


def test_cheaper_ones_sorts_by_price_and_keeps_the_search() -> None:
    plan = _plan_after("condos in Portland under 700k", "cheaper ones")
    assert plan.calls[0].arguments == {
        **PDX,
        "max_price": 700_000,
        "property_type": "condo",
        "sort": "price_asc",
    }


def test_the_market_there_uses_the_last_city() -> None:
    plan = _plan_after("homes in Portland under 700k", "what about the market there?")
    assert plan.calls == [ToolCall("get_market_analysis", PDX)]
    assert plan.assumptions == ["Portland, OR from earlier in the conversation"]


def test_a_new_search_with_its_own_city_starts_afresh() -> None:
    plan = _plan_after("3 bed homes in Seattle under 900k", "condos in Boise")
    assert plan.calls[0].arguments == {"city": "Boise", "state": "ID", "property_type": "condo"}


def test_show_me_more_pages_through_the_same_search() -> None:
    plan = _plan_after("condos in Austin", "only 2 bedrooms", "show me more")
    assert plan.calls[0].arguments == {
        "city": "Austin",
        "state": "TX",
        "property_type": "condo",
        "min_bedrooms": 2,
        "limit": 5,
        "offset": 5,  # the first answer showed 5: "more" is results 6-10
    }


def test_a_market_follow_up_with_a_new_city_keeps_asking_about_markets() -> None:
    plan = _plan_after("how is the Seattle market?", "and Boise?")
    assert plan.calls == [ToolCall("get_market_analysis", {"city": "Boise", "state": "ID"})]


def test_a_trend_follow_up_keeps_the_period_then_changes_it() -> None:
    two = _plan_after("price trends in Denver over the last 6 months", "what about Austin?")
    assert two.calls[0].arguments == {"city": "Austin", "state": "TX", "months": 6}
    three = _plan_after(
        "price trends in Denver over the last 6 months", "what about Austin?", "and over 2 years?"
    )
    assert three.calls[0].arguments == {"city": "Austin", "state": "TX", "months": 24}


def test_a_comparison_grows_with_another_city() -> None:
    plan = _plan_after("compare Portland and Seattle", "add Boise")
    assert plan.calls[0].arguments == {"cities": ["Portland, OR", "Seattle, WA", "Boise, ID"]}


def test_compare_it_with_uses_the_city_asked_about_before() -> None:
    plan = _plan_after("how is the Seattle market", "compare it with Boise")
    assert plan.calls[0].arguments == {"cities": ["Seattle, WA", "Boise, ID"]}


def test_mortgage_follow_ups_change_one_figure_and_keep_the_rest() -> None:
    first = "monthly payment on a $650k house with 10% down at 6% for 15 years"
    rate = _plan_after(first, "what about at 5%?")
    assert rate.calls[0].arguments == {
        "price": 650_000,
        "down_payment_pct": 10,
        "annual_rate_pct": 5,
        "years": 15,
    }
    down = _plan_after(first, "what about at 5%?", "and with 20% down?")
    assert down.calls[0].arguments == {
        "price": 650_000,
        "down_payment_pct": 20,
        "annual_rate_pct": 5,
        "years": 15,
    }


def test_a_mortgage_on_a_listed_home_uses_its_price_from_the_conversation() -> None:
    plan = _plan_after(
        "homes in Portland", "what's the monthly payment on L100345?", answer=SEARCH_ANSWER
    )
    assert plan.calls == [ToolCall("estimate_mortgage", {"price": 720_000})]
    assert plan.assumptions == ["the price of L100345 from earlier in the conversation"]


def test_a_mortgage_on_that_house_says_which_listing_it_picked() -> None:
    plan = _plan_after("homes in Portland", "mortgage on that house", answer=SEARCH_ANSWER)
    assert plan.calls == [ToolCall("estimate_mortgage", {"price": 650_000})]
    assert "L100234, the first listing from earlier" in plan.assumptions


def test_these_refers_to_the_listings_of_the_last_answer() -> None:
    report = _plan_after(
        "homes in Portland", "email these to bob@example.com", answer=SEARCH_ANSWER
    )
    assert report.calls == [
        ToolCall(
            "send_listing_report",
            {"listing_ids": ["L100234", "L100345"], "recipient_email": "bob@example.com"},
        )
    ]
    performance = _plan_after("homes in Portland", "how are they performing?", answer=SEARCH_ANSWER)
    assert performance.calls == [
        ToolCall("generate_performance_report", {"listing_ids": ["L100234", "L100345"]})
    ]


def test_the_first_one_asks_for_that_listings_details() -> None:
    plan = _plan_after(
        "homes in Portland", "tell me more about the first one", answer=SEARCH_ANSWER
    )
    assert plan.calls == [ToolCall("get_listing", {"listing_id": "L100234"})]


def test_greetings_do_not_reset_the_conversation() -> None:
    plan = _plan_after("homes in Portland under 700k", "thanks", "what about 3 bedrooms?")
    assert plan.calls[0].arguments == {**PDX, "max_price": 700_000, "min_bedrooms": 3}


def test_a_zip_code_is_not_read_as_a_budget() -> None:
    assert extract_price_range("homes in 97201") == (None, None)
    assert extract_price_range("homes under 97201") == (None, 97_201)
