"""Loading the bundled listings into the listings service's database.

`load(engine)` (re)creates the tables and replaces their contents with the dataset in one
transaction, so running it twice leaves the same rows. `ensure_loaded(engine)` loads only when
the listings table is empty: what the service calls when a worker starts
(app/mcp/service.py), and what `flask --app mcp_listings.wsgi setup` runs.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, delete

from app.mcp.dataset import (
    DATA_DIR,
    insert_rows,
    read_cities,
    read_jsonl,
    table_is_empty,
)
from mcp_listings.models import Base, City, Listing

log = logging.getLogger(__name__)


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
