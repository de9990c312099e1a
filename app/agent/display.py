"""What the page shows of a tool's result: a small, fixed-shape `display` view (CONTRACT.md 6.2).

The model reads the whole structured result; people read cards, tables and charts. This module
turns a tool's structured result into the agreed shapes (`/work/notes/display.md`: listings,
listing, trend, markets, mortgage, metrics, affordability), with numbers as numbers and missing
values as None, bounded to `MAX_DISPLAY_BYTES` of JSON so a stored tool call stays small. A tool
with nothing to show (sending a report, an unknown tool, a result of an unexpected shape) has
no display: `display_for` returns None and the event carries no `display` key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

MAX_DISPLAY_BYTES = 16 * 1024
MAX_ITEMS = 10
MAX_DESCRIPTION_CHARS = 1_000

Structured = dict[str, Any]


def _address(listing: Structured) -> str | None:
    address = listing.get("address") or {}
    street, city = address.get("street"), address.get("city")
    if not street or not city:
        return None
    return f"{street}, {city}, {address.get('state', '')} {address.get('zip', '')}".strip()


def _item(listing: Structured) -> Structured:
    """One listing card: the keys the page relies on."""
    address = listing.get("address") or {}
    return {
        "id": listing["listing_id"],
        "address": _address(listing),
        "city": address.get("city"),
        "state": address.get("state"),
        "price": listing.get("price"),
        "beds": listing.get("bedrooms"),
        "baths": listing.get("bathrooms"),
        "sqft": listing.get("sqft"),
        "type": listing.get("property_type"),
        "status": listing.get("status"),
    }


def _listings(result: Structured) -> Structured:
    return {
        "kind": "listings",
        "total": result["total"],
        "items": [_item(listing) for listing in result["listings"][:MAX_ITEMS]],
    }


def _listing(result: Structured) -> Structured:
    description = result.get("description")
    if isinstance(description, str) and len(description) > MAX_DESCRIPTION_CHARS:
        description = description[: MAX_DESCRIPTION_CHARS - 1] + "…"
    return {
        "kind": "listing",
        **_item(result),
        "zip": (result.get("address") or {}).get("zip"),
        "year_built": result.get("year_built"),
        "days_on_market": result.get("days_on_market"),
        "listed_at": result.get("listed_at"),
        "description": description,
    }


def _trend(result: Structured) -> Structured:
    return {
        "kind": "trend",
        "city": result["city"],
        "state": result.get("state"),
        "months": result.get("months"),
        "series": [
            {"month": p["month"], "median_price": p.get("median_price"), "sales": p.get("sales")}
            for p in result["series"]
        ],
        "change_pct": result.get("change_pct"),
    }


MARKET_KEYS = (
    "city",
    "state",
    "median_price",
    "price_per_sqft",
    "price_change_12m_pct",
    "median_days_on_market",
    "inventory",
    "competition_level",
)


def _market_rows(markets: list[Structured]) -> list[Structured]:
    return [{key: market.get(key) for key in MARKET_KEYS} for market in markets]


def _comparison(result: Structured) -> Structured:
    return {
        "kind": "markets",
        "rows": _market_rows(result["markets"]),
        "cheapest": result.get("cheapest"),
        "fastest_growing": result.get("fastest_growing"),
        "most_competitive": result.get("most_competitive"),
    }


def _market(result: Structured) -> Structured:
    return {
        "kind": "markets",
        "rows": _market_rows([result]),
        "cheapest": None,
        "fastest_growing": None,
        "most_competitive": None,
    }


MORTGAGE_KEYS = (
    "price",
    "down_payment",
    "down_payment_pct",
    "loan_amount",
    "annual_rate_pct",
    "years",
    "monthly_payment",
    "total_interest",
    "total_paid",
)


def _mortgage(result: Structured) -> Structured:
    return {"kind": "mortgage", **{key: result[key] for key in MORTGAGE_KEYS}}


METRIC_KEYS = ("listing_id", "page_views", "saves", "inquiries", "conversion_rate")


def _metrics(result: Structured) -> Structured:
    rows = result["metrics"] if "metrics" in result else result["listings"]
    return {"kind": "metrics", "rows": [{key: row.get(key) for key in METRIC_KEYS} for row in rows]}


AFFORDABILITY_KEYS = (
    "min_price",
    "max_price",
    "monthly_budget",
    "down_payment",
    "annual_rate_pct",
    "years",
    "rule",
)


def _affordability(result: Structured) -> Structured:
    return {"kind": "affordability", **{key: result.get(key) for key in AFFORDABILITY_KEYS}}


BUILDERS: dict[str, Callable[[Structured], Structured]] = {
    "search_listings": _listings,
    "get_listing": _listing,
    "get_price_trends": _trend,
    "compare_markets": _comparison,
    "get_market_analysis": _market,
    "estimate_mortgage": _mortgage,
    "get_listing_metrics": _metrics,
    "generate_performance_report": _metrics,
    "estimate_affordability": _affordability,
}


def _size(display: Structured) -> int:
    return len(json.dumps(display, ensure_ascii=False).encode())


def _bounded(display: Structured) -> Structured | None:
    """The display within `MAX_DISPLAY_BYTES`: its longest list is cut from the end until it
    fits (the oldest months of a trend are the first ones, so a trend loses from the start)."""
    while _size(display) > MAX_DISPLAY_BYTES:
        lists = [key for key, value in display.items() if isinstance(value, list) and value]
        if not lists:
            return None
        longest = max(lists, key=lambda key: len(display[key]))
        items = display[longest]
        display[longest] = items[1:] if display["kind"] == "trend" else items[:-1]
    return display


def display_for(tool_name: str, structured: Structured | None) -> Structured | None:
    """The `display` of a completed call of `tool_name`, or None when it has nothing to show."""
    builder = BUILDERS.get(tool_name)
    if builder is None or not isinstance(structured, dict):
        return None
    try:
        display = builder(structured)
    except (KeyError, TypeError, AttributeError):
        return None  # a result of another shape than the tool's schema: show nothing
    return _bounded(display)
