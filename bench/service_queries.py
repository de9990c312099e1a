"""Print how long the MCP services' data layer takes: loading the dataset into SQLite and
answering searches and market analyses (p50/p99 over random filter combinations).

    .venv/bin/python bench/service_queries.py
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from app.mcp.dataset import DATA_DIR, make_engine
from mcp_analytics import data as analytics_data
from mcp_analytics import queries as analytics
from mcp_listings import data as listings_data
from mcp_listings import queries as listings

CITIES = ["Portland", "Seattle", "Boise", "San Francisco", "New York", "Austin", None]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms (n={len(samples)})"


def random_filters(rng: random.Random) -> listings.SearchFilters:
    return listings.SearchFilters(
        city=rng.choice(CITIES),
        min_price=rng.choice([None, 200_000, 500_000]),
        max_price=rng.choice([None, 800_000, 2_000_000]),
        min_bedrooms=rng.choice([None, 2, 3, 4]),
        property_type=rng.choice([None, "house", "condo"]),
        status=rng.choice(["active", "active", "pending", "sold"]),
        sort=rng.choice(["price_asc", "price_desc", "newest", "sqft_desc"]),
        limit=rng.choice([10, 20, 50]),
        offset=rng.choice([0, 0, 20]),
    )


def main() -> None:
    for path in sorted(DATA_DIR.glob("*.gz")):
        print(f"{path.name}: {path.stat().st_size:,} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        listings_engine = make_engine(f"sqlite:///{Path(tmp) / 'listings.db'}")
        analytics_engine = make_engine(f"sqlite:///{Path(tmp) / 'analytics.db'}")
        load_listings = timed(lambda: listings_data.load(listings_engine))
        load_analytics = timed(lambda: analytics_data.load(analytics_engine))
        print(f"load into SQLite: listings service {load_listings:.2f} s,", end=" ")
        print(f"analytics service {load_analytics:.2f} s")
        rng = random.Random(1)
        with Session(listings_engine) as db:
            samples = [timed(lambda: listings.search(db, random_filters(rng))) for _ in range(1000)]
        print("search_listings:", percentiles(samples))
        with Session(analytics_engine) as db:
            names = [c for c in CITIES if c]
            samples = [
                timed(lambda: analytics.market_analysis(db, rng.choice(names))) for _ in range(300)
            ]
        print("get_market_analysis:", percentiles(samples))


if __name__ == "__main__":
    main()
