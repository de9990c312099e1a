"""The analytics service's figures, computed from the dataset by plain functions of a Session.

Market figures (see data/README.md for the same rules in prose):

- prices (median, average, price per sqft) are asking prices of the active and pending
  listings, land left out (a lot has no living area and would drag the figures down);
- `inventory` counts active listings, `pending_count` pending ones, and
  `median_days_on_market` is over both;
- `sold_count` is the number of sales in the last 12 months of the city's sales history
  (which ends in its latest month with sales, 2026-10 in the bundled data);
- `price_change_12m_pct` compares the median sale price of the last 3 months with that of the
  same 3 months a year earlier (same season, so the seasons do not masquerade as a trend);
- `trend` is "rising" from +2.0 %, "falling" from -2.0 %, else "stable";
- `competition_level` follows the months of supply (inventory / average monthly sales over
  12 months): under 2.5 "high", 4.0 or more "low", else "moderate".

Expected failures (an unknown city) raise `ToolError` with a message meant for the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from statistics import median
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.mcp.dataset import normalise_listing_id, resolve_city
from app.mcp.tools import ToolError
from mcp_analytics.models import City, Engagement, Listing, Sale

RISING_PCT = 2.0
FALLING_PCT = -2.0
HIGH_COMPETITION_SUPPLY = 2.5
LOW_COMPETITION_SUPPLY = 4.0

# Performance recommendations, in the order they are checked.
MANY_VIEWS = 500
LOW_CONVERSION = 0.01
LONG_ON_MARKET_DAYS = 60
MANY_IMPRESSIONS = 1_000
LOW_CLICK_THROUGH = 0.025


TOTALS = ("page_views", "saves", "inquiries")

Month = tuple[int, int]


def _month_of(day: date) -> Month:
    return day.year, day.month


def _shift(month: Month, months: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + months
    return index // 12, index % 12 + 1


def _month_label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _pct_change(new: float, old: float) -> float:
    return round((new / old - 1) * 100, 1) if old else 0.0


def _sales_since(db: Session, city: str, state: str, first: Month) -> list[tuple[date, int]]:
    rows = db.execute(
        select(Sale.sold_on, Sale.price).where(
            Sale.city == city, Sale.state == state, Sale.sold_on >= date(first[0], first[1], 1)
        )
    ).all()
    return [(sold_on, price) for sold_on, price in rows]


def latest_sales_month(db: Session, city: str, state: str) -> Month | None:
    last = db.scalar(select(func.max(Sale.sold_on)).where(Sale.city == city, Sale.state == state))
    return _month_of(last) if last else None


def _competition(inventory: int, sold_12m: int) -> str:
    if sold_12m == 0:
        return "low"
    supply = inventory / (sold_12m / 12)
    if supply < HIGH_COMPETITION_SUPPLY:
        return "high"
    return "low" if supply >= LOW_COMPETITION_SUPPLY else "moderate"


def _trend(change_pct: float) -> str:
    if change_pct >= RISING_PCT:
        return "rising"
    return "falling" if change_pct <= FALLING_PCT else "stable"


def market_analysis(db: Session, city: str, state: str | None = None) -> dict[str, Any]:
    """The market figures of one city (rules in the module docstring)."""
    city, state = resolve_city(db, City, city, state)
    columns = (Listing.price, Listing.sqft, Listing.property_type, Listing.status)
    listings = db.execute(
        select(*columns, Listing.days_on_market).where(
            Listing.city == city,
            Listing.state == state,
            Listing.status.in_(("active", "pending")),
        )
    ).all()
    homes = [row for row in listings if row.property_type != "land"]
    prices = [row.price for row in homes]
    inventory = sum(1 for row in listings if row.status == "active")

    latest = latest_sales_month(db, city, state)
    sold_12m = 0
    change = 0.0
    if latest:
        sales = _sales_since(db, city, state, _shift(latest, -14))
        last_year_start = _shift(latest, -11)
        sold_12m = sum(1 for day, _ in sales if _month_of(day) >= last_year_start)
        recent = [p for day, p in sales if _month_of(day) >= _shift(latest, -2)]
        year_ago = [p for day, p in sales if _month_of(day) <= _shift(latest, -12)]
        if recent and year_ago:
            change = _pct_change(median(recent), median(year_ago))
    return {
        "city": city,
        "state": state,
        "median_price": round(median(prices)) if prices else 0,
        "average_price": round(sum(prices) / len(prices)) if prices else 0,
        "price_per_sqft": round(median(row.price / row.sqft for row in homes)) if homes else 0,
        "inventory": inventory,
        "pending_count": len(listings) - inventory,
        "sold_count": sold_12m,
        "median_days_on_market": (
            round(median(row.days_on_market for row in listings)) if listings else 0
        ),
        "price_change_12m_pct": change,
        "competition_level": _competition(inventory, sold_12m),
        "trend": _trend(change),
    }


def price_trends(db: Session, city: str, state: str | None = None, months: int = 12) -> dict:
    """Median sale price and number of sales per month for the last `months` months of the
    city's sales history, oldest first; `change_pct` from the first month to the last."""
    city, state = resolve_city(db, City, city, state)
    latest = latest_sales_month(db, city, state)
    if latest is None:
        raise ToolError(f"no sales history for {city}, {state}")
    first = _shift(latest, -(months - 1))
    by_month: dict[Month, list[int]] = {}
    for day, price in _sales_since(db, city, state, first):
        by_month.setdefault(_month_of(day), []).append(price)
    series = []
    for offset in range(months):
        month = _shift(first, offset)
        prices = by_month.get(month, [])
        series.append(
            {
                "month": _month_label(month),
                "median_price": round(median(prices)) if prices else None,
                "sales": len(prices),
            }
        )
    medians = [point["median_price"] for point in series if point["median_price"]]
    return {
        "city": city,
        "state": state,
        "months": months,
        "series": series,
        "change_pct": _pct_change(medians[-1], medians[0]) if len(medians) > 1 else 0.0,
    }


def parse_market(text: str) -> tuple[str, str | None]:
    """ "Portland, OR" / "Portland, Oregon" / "Portland" -> (city, state or None)."""
    city, _, state = text.partition(",")
    return city.strip(), state.strip() or None


COMPETITION_RANK = {"low": 0, "moderate": 1, "high": 2}


def compare_markets(db: Session, cities: Sequence[str]) -> dict[str, Any]:
    """The market analysis of each city, in the order asked, and which market is cheapest
    (lowest median price), fastest growing (largest 12-month change) and most competitive
    (highest competition level, then fewest days on market)."""
    markets = [market_analysis(db, *parse_market(text)) for text in cities]
    priced = [m for m in markets if m["median_price"]]
    return {
        "markets": markets,
        "cheapest": min(priced, key=lambda m: m["median_price"])["city"] if priced else None,
        "fastest_growing": max(markets, key=lambda m: m["price_change_12m_pct"])["city"],
        "most_competitive": max(
            markets,
            key=lambda m: (
                COMPETITION_RANK[m["competition_level"]],
                -m["median_days_on_market"],
            ),
        )["city"],
    }


def _rates(engagement: Engagement) -> tuple[float, float]:
    """(click-through rate = views / impressions, conversion rate = inquiries / views)."""
    ctr = engagement.page_views / engagement.impressions if engagement.impressions else 0.0
    conversion = engagement.inquiries / engagement.page_views if engagement.page_views else 0.0
    return round(ctr, 4), round(conversion, 4)


def _found(
    db: Session, listing_ids: Sequence[str]
) -> tuple[list[tuple[Listing, Engagement]], list[str]]:
    wanted = list(dict.fromkeys(normalise_listing_id(raw) for raw in listing_ids))
    rows = db.execute(
        select(Listing, Engagement)
        .join(Engagement, Engagement.listing_id == Listing.listing_id)
        .where(Listing.listing_id.in_(wanted))
    ).all()
    found = {listing.listing_id: (listing, engagement) for listing, engagement in rows}
    return [found[i] for i in wanted if i in found], [i for i in wanted if i not in found]


def listing_metrics(db: Session, listing_ids: Sequence[str]) -> dict[str, Any]:
    """Engagement figures per listing, in the order asked; unknown ids in `not_found`."""
    found, missing = _found(db, listing_ids)
    metrics = []
    for listing, engagement in found:
        ctr, conversion = _rates(engagement)
        metrics.append(
            {
                "listing_id": listing.listing_id,
                "page_views": engagement.page_views,
                "saves": engagement.saves,
                "inquiries": engagement.inquiries,
                "days_on_market": listing.days_on_market,
                "click_through_rate": ctr,
                "conversion_rate": conversion,
            }
        )
    return {"metrics": metrics, "not_found": missing}


def recommendations_for(listing: Listing, engagement: Engagement) -> list[str]:
    """Rule-based advice for one listing (thresholds at the top of this module)."""
    ctr, conversion = _rates(engagement)
    if listing.status == "sold":
        return [f"Sold after {listing.days_on_market} days on market: no action needed."]
    if listing.status == "pending":
        return ["Under contract: keep it visible until the sale closes."]
    advice = []
    if engagement.page_views >= MANY_VIEWS and conversion < LOW_CONVERSION:
        advice.append(
            f"Many views ({engagement.page_views:,}) but few inquiries "
            f"({conversion:.1%} of views): review the price and the photos."
        )
    if listing.days_on_market > LONG_ON_MARKET_DAYS:
        advice.append(
            f"On the market for {listing.days_on_market} days: consider a price reduction."
        )
    if engagement.impressions >= MANY_IMPRESSIONS and ctr < LOW_CLICK_THROUGH:
        advice.append(
            f"Shown often but rarely opened ({ctr:.1%} click-through): improve the lead "
            "photo and the headline."
        )
    return advice or ["Performing well: keep the current price and marketing."]


def performance_report(db: Session, listing_ids: Sequence[str]) -> dict[str, Any]:
    """Totals, the top performer (most inquiries, then best conversion, then most views) and
    recommendations for the listings found."""
    found, missing = _found(db, listing_ids)
    if not found:
        raise ToolError(f"none of the listings were found: {', '.join(missing)}")
    rows = []
    recommendations = []
    for listing, engagement in found:
        _, conversion = _rates(engagement)
        rows.append(
            {
                "listing_id": listing.listing_id,
                "page_views": engagement.page_views,
                "saves": engagement.saves,
                "inquiries": engagement.inquiries,
                "conversion_rate": conversion,
                "days_on_market": listing.days_on_market,
            }
        )
        recommendations += [
            {"listing_id": listing.listing_id, "recommendation": text}
            for text in recommendations_for(listing, engagement)
        ]
    best = max(
        range(len(rows)),
        key=lambda i: (rows[i]["inquiries"], rows[i]["conversion_rate"], rows[i]["page_views"]),
    )
    top = rows[best]
    return {
        "listing_count": len(rows),
        "totals": {key: sum(row[key] for row in rows) for key in TOTALS},
        "top_performer": {
            "listing_id": top["listing_id"],
            "address": found[best][0].one_line_address(),
            "page_views": top["page_views"],
            "inquiries": top["inquiries"],
            "conversion_rate": top["conversion_rate"],
        },
        "listings": rows,
        "recommendations": recommendations,
        "not_found": missing,
    }
