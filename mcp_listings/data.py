"""Loading the bundled listings into the listings service's database.

`load(engine)` (re)creates the tables and replaces their contents with the dataset in one
transaction, so running it twice leaves the same rows. `ensure_loaded(engine)` loads only when
the listings table is empty: what the service calls when a worker starts
(app/mcp/service.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, delete

from app.mcp.dataset import (
    DATA_DIR,
    insert_rows,
    listing_rows,
    load_if_empty,
    read_cities,
)
from mcp_listings.models import Base, City, Listing

log = logging.getLogger(__name__)


def load(engine: Engine, data_dir: Path = DATA_DIR) -> int:
    """Replace the service's tables' contents with the dataset; returns the listings loaded."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(delete(Listing))
        conn.execute(delete(City))
        insert_rows(conn, City, read_cities(data_dir))
        count = insert_rows(conn, Listing, listing_rows(Listing, data_dir))
    log.info("loaded %d listings", count)
    return count


def ensure_loaded(engine: Engine, data_dir: Path = DATA_DIR) -> bool:
    """Load the dataset if there are no listings yet; True if it loaded."""
    return load_if_empty(engine, Base.metadata, Listing, lambda: load(engine, data_dir))
