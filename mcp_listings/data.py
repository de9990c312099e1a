"""Loading the bundled listings into the listings service's database.

`load(engine)` (re)creates the tables and replaces their contents with the dataset in one
transaction, so running it twice leaves the same rows. `ensure_loaded(engine)` loads only when
the listings table is empty: what each worker calls when it starts. `init_app(app)` wires a
Flask app to its database. From a shell: `.venv/bin/python -m mcp_listings.data [URL]`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path

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
from mcp_listings.models import Base, City, Listing

log = logging.getLogger(__name__)


def default_database_url(environ: Mapping[str, str] = os.environ) -> str:
    """`MCP_LISTINGS_DATABASE_URL`, else a SQLite file under `instance/`."""
    url = environ.get("MCP_LISTINGS_DATABASE_URL", "").strip()
    return url or f"sqlite:///{DEFAULT_INSTANCE / 'mcp_listings.db'}"


def listing_row(record: dict) -> dict:
    """A dataset record (the listing's public shape) as a row of `Listing`."""
    address = record["address"]
    return {
        "listing_id": record["listing_id"],
        "street": address["street"],
        "city": address["city"],
        "state": address["state"],
        "zip": address["zip"],
        "price": record["price"],
        "bedrooms": record["bedrooms"],
        "bathrooms": record["bathrooms"],
        "sqft": record["sqft"],
        "property_type": record["property_type"],
        "status": record["status"],
        "year_built": record["year_built"],
        "listed_at": date.fromisoformat(record["listed_at"]),
        "days_on_market": record["days_on_market"],
        "description": record["description"],
    }


def load(engine: Engine, data_dir: Path = DATA_DIR) -> int:
    """Replace the service's tables' contents with the dataset; returns the listings loaded."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(delete(Listing))
        conn.execute(delete(City))
        insert_rows(conn, City, read_cities(data_dir))
        count = insert_rows(
            conn, Listing, (listing_row(r) for r in read_jsonl("listings.jsonl.gz", data_dir))
        )
    log.info("loaded %d listings", count)
    return count


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
