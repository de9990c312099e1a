"""The page's view of tool results (`display`, CONTRACT.md 6.2): the agreed shapes, built from
the tools' real results on the bundled data, numbers as numbers, and never over 16 KB."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from app.agent.display import MAX_DISPLAY_BYTES, display_for
from app.mcp.tools import ToolRegistry
from mcp_analytics.tools import registry as analytics_tools
from mcp_listings.tools import registry as listings_tools

pytest_plugins = ["tests.support.service_fixtures"]

ITEM_KEYS = {"id", "address", "city", "state", "price", "beds", "baths", "sqft", "type", "status"}


def structured(app: Flask, registry: ToolRegistry, name: str, **arguments: Any) -> dict:
    with app.app_context():
        result = registry.get(name).call(arguments)
    assert not result.is_error, result.content
    return result.structured_content


def test_search_shows_at_most_ten_listing_cards_and_the_total(listings_app: Flask) -> None:
    result = structured(listings_app, listings_tools, "search_listings", city="Seattle", limit=25)
    display = display_for("search_listings", result)
    assert display["kind"] == "listings" and display["total"] == result["total"] > 25
    assert len(display["items"]) == 10
    first, listing = display["items"][0], result["listings"][0]
    assert set(first) == ITEM_KEYS
    assert first["id"] == listing["listing_id"] and first["price"] == listing["price"]
    assert first["address"].startswith(listing["address"]["street"])
    assert first["address"].endswith(f"Seattle, WA {listing['address']['zip']}")
    assert isinstance(first["baths"], float) and isinstance(first["beds"], int)


def test_one_listing_adds_its_details(listings_app: Flask) -> None:
    result = structured(listings_app, listings_tools, "get_listing", listing_id="L100006")
    display = display_for("get_listing", result)
    assert display["kind"] == "listing" and display["id"] == "L100006"
    assert ITEM_KEYS | {"zip", "year_built", "days_on_market", "listed_at", "description"} <= set(
        display
    )
    assert display["description"] == result["description"]


def test_trends_comparisons_mortgages_metrics_and_affordability(analytics_app: Flask) -> None:
    trend = display_for(
        "get_price_trends",
        structured(analytics_app, analytics_tools, "get_price_trends", city="Denver", months=36),
    )
    assert trend["kind"] == "trend" and trend["city"] == "Denver" and len(trend["series"]) == 36
    assert set(trend["series"][0]) == {"month", "median_price", "sales"}

    comparison = structured(
        analytics_app, analytics_tools, "compare_markets", cities=["Boise", "Austin", "Miami"]
    )
    markets = display_for("compare_markets", comparison)
    assert markets["kind"] == "markets" and [r["city"] for r in markets["rows"]] == [
        "Boise",
        "Austin",
        "Miami",
    ]
    cheapest = min(comparison["markets"], key=lambda m: m["median_price"])["city"]
    assert markets["cheapest"] == cheapest
    fastest = max(comparison["markets"], key=lambda m: m["price_change_12m_pct"])["city"]
    assert markets["fastest_growing"] == fastest
    assert markets["most_competitive"] in {"Boise", "Austin", "Miami"}
    one = display_for(
        "get_market_analysis",
        structured(analytics_app, analytics_tools, "get_market_analysis", city="Boise"),
    )
    assert one["kind"] == "markets" and len(one["rows"]) == 1 and one["cheapest"] is None

    mortgage = display_for(
        "estimate_mortgage",
        structured(analytics_app, analytics_tools, "estimate_mortgage", price=500_000),
    )
    assert mortgage["kind"] == "mortgage" and mortgage["loan_amount"] == 400_000

    metrics = display_for(
        "generate_performance_report",
        structured(
            analytics_app,
            analytics_tools,
            "generate_performance_report",
            listing_ids=["L100001", "L100002"],
        ),
    )
    assert metrics["kind"] == "metrics" and [r["listing_id"] for r in metrics["rows"]] == [
        "L100001",
        "L100002",
    ]

    afford = display_for(
        "estimate_affordability",
        structured(analytics_app, analytics_tools, "estimate_affordability", annual_income=90_000),
    )
    assert afford["kind"] == "affordability" and afford["min_price"] < afford["max_price"]
    assert afford["monthly_budget"] == 2100 and "28/36" in afford["rule"]


def test_sending_a_report_and_unexpected_shapes_have_no_display() -> None:
    assert display_for("send_listing_report", {"report_id": "r1", "recipient": "a@b.co"}) is None
    assert display_for("no_such_tool", {"total": 1}) is None
    assert display_for("search_listings", {"unexpected": True}) is None
    assert display_for("search_listings", None) is None


def test_a_display_is_never_larger_than_16_kb() -> None:
    series = [{"month": f"20{i:04d}", "median_price": 10**9, "sales": 10**6} for i in range(2000)]
    trend = display_for("get_price_trends", {"city": "X", "state": "Y", "series": series})
    assert len(json.dumps(trend).encode()) <= MAX_DISPLAY_BYTES
    assert trend["series"][-1] == series[-1]  # the newest months are kept
    rows = [{"listing_id": "L" + "9" * 2000, "page_views": 1} for _ in range(50)]
    metrics = display_for("get_listing_metrics", {"metrics": rows})
    assert len(json.dumps(metrics).encode()) <= MAX_DISPLAY_BYTES and metrics["rows"]
