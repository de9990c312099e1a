"""Loading the bundled dataset into the analytics service's database.

`load(engine)` (re)creates the tables and replaces their contents with the dataset (cities,
listings, the sales history, engagement) in one transaction, so running it twice leaves the
same rows. `ensure_loaded(engine)` loads only when there are no listings yet: what each worker
calls when it starts (app/mcp/service.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete

from app.mcp.dataset import (
    DATA_DIR,
    insert_rows,
    listing_rows,
    load_if_empty,
    read_cities,
    read_jsonl,
)
from mcp_analytics.models import Base, City, Engagement, Listing, Sale

log = logging.getLogger(__name__)


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
            "listings": insert_rows(conn, Listing, listing_rows(Listing, data_dir)),
            "sales": insert_rows(conn, Sale, _sale_rows(data_dir)),
            "engagement": insert_rows(
                conn, Engagement, read_jsonl("engagement.jsonl.gz", data_dir)
            ),
        }
    log.info("loaded %s", counts)
    return counts


def ensure_loaded(engine: Engine, data_dir: Path = DATA_DIR) -> bool:
    """Load the dataset if there are no listings yet; True if it loaded."""
    return load_if_empty(engine, Base.metadata, Listing, lambda: load(engine, data_dir))
