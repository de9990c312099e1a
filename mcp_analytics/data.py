"""Loading the bundled dataset into the analytics service's database.

`load(engine)` (re)creates the tables and replaces their contents with the dataset (cities,
listings, the sales history, engagement) in one transaction, so running it twice leaves the
same rows. `ensure_loaded(engine)` loads only when there are no listings yet: what each worker
calls when it starts. `init_app(app)` wires a Flask app to its database. From a shell:
`.venv/bin/python -m mcp_analytics.data [URL]`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, delete

from app.config import DEFAULT_INSTANCE
from app.mcp.dataset import (
    DATA_DIR,
    insert_rows,
    install_sessions,
    make_engine,
    read_cities,
    read_jsonl,
    table_is_empty,
)
from mcp_analytics.models import Base, City, Engagement, Listing, Sale

log = logging.getLogger(__name__)


def default_database_url(environ: Mapping[str, str] = os.environ) -> str:
    """`MCP_ANALYTICS_DATABASE_URL`, else a SQLite file under `instance/`."""
    url = environ.get("MCP_ANALYTICS_DATABASE_URL", "").strip()
    return url or f"sqlite:///{DEFAULT_INSTANCE / 'mcp_analytics.db'}"


def _listing_rows(data_dir: Path) -> Iterator[dict[str, Any]]:
    for record in read_jsonl("listings.jsonl.gz", data_dir):
        address = record["address"]
        yield {
            "listing_id": record["listing_id"],
            "street": address["street"],
            "city": address["city"],
            "state": address["state"],
            "zip": address["zip"],
            "price": record["price"],
            "sqft": record["sqft"],
            "property_type": record["property_type"],
            "status": record["status"],
            "listed_at": date.fromisoformat(record["listed_at"]),
            "days_on_market": record["days_on_market"],
        }


def _sale_rows(data_dir: Path) -> Iterator[dict[str, Any]]:
    for record in read_jsonl("sales.jsonl.gz", data_dir):
        yield {**record, "sold_on": date.fromisoformat(record["sold_on"])}


def load(engine: Engine, data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Replace the tables' contents with the dataset; returns the rows loaded per table."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for model in (Engagement, Sale, Listing, City):
            conn.execute(delete(model))
        counts = {
            "cities": insert_rows(conn, City, read_cities(data_dir)),
            "listings": insert_rows(conn, Listing, _listing_rows(data_dir)),
            "sales": insert_rows(conn, Sale, _sale_rows(data_dir)),
            "engagement": insert_rows(
                conn, Engagement, read_jsonl("engagement.jsonl.gz", data_dir)
            ),
        }
    log.info("loaded %s", counts)
    return counts


def ensure_loaded(engine: Engine, data_dir: Path = DATA_DIR) -> bool:
    """Create the tables and load the dataset if there are no listings yet; True if it loaded."""
    Base.metadata.create_all(engine)
    if not table_is_empty(engine, Listing):
        return False
    load(engine, data_dir)
    return True


def init_app(app: Flask, database_url: str | None = None) -> Engine:
    """Connect `app` to its database (loading the dataset on first use) for the tools."""
    engine = make_engine(database_url or default_database_url())
    ensure_loaded(engine)
    install_sessions(app, engine)
    return engine


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    load(make_engine(sys.argv[1] if len(sys.argv) > 1 else default_database_url()))
