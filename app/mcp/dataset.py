"""What both MCP services share about their data: the bundled dataset and their own database.

Each service keeps its own tables (mcp_listings/models.py, mcp_analytics/models.py) in a
database given by URL, loaded from the files under `data/` (see data/README.md). This module
reads those files, builds the engine, hands a session to the tools of the running app, and
turns what a caller typed as a place ("portland", "Oregon", "OR") into the dataset's spelling.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection, Engine, MetaData, create_engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.mcp.tools import ToolError
from app.settings import sqlalchemy_url

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
EXTENSION_KEY = "mcp_sessions"


def read_jsonl(name: str, data_dir: Path = DATA_DIR) -> Iterator[dict[str, Any]]:
    """The records of one gzipped JSON-lines file of the dataset, in file order."""
    with gzip.open(data_dir / name, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def read_cities(data_dir: Path = DATA_DIR) -> list[dict[str, str]]:
    """The dataset's cities: `{city, state, state_name}` each."""
    return json.loads((data_dir / "cities.json").read_text(encoding="utf-8"))


def listing_rows(model: type, data_dir: Path = DATA_DIR) -> Iterator[dict[str, Any]]:
    """The dataset's listings as rows of `model`: the address flattened, `listed_at` a date,
    and only the columns `model` has (each service keeps the listing fields its tools use)."""
    columns = set(model.__table__.columns.keys())  # type: ignore[attr-defined]
    for record in read_jsonl("listings.jsonl.gz", data_dir):
        row = {**record, **record["address"], "listed_at": date.fromisoformat(record["listed_at"])}
        yield {name: value for name, value in row.items() if name in columns}


def insert_rows(
    conn: Connection, model: type, rows: Iterable[dict[str, Any]], batch: int = 5_000
) -> int:
    """Insert rows in batches (executemany per batch, not one statement per row); returns how
    many were inserted."""
    count = 0
    iterator = iter(rows)
    while chunk := list(islice(iterator, batch)):
        conn.execute(insert(model), chunk)
        count += len(chunk)
    return count


def make_engine(url: str) -> Engine:
    """An engine for a service database; SQLite waits for a writer instead of failing at once,
    since every gunicorn worker may check and load the data when it starts."""
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"timeout": 30})
    return create_engine(url, pool_pre_ping=True)


def install_sessions(app: Flask, engine: Engine) -> None:
    """Make `session()` hand out sessions on `engine` inside this app."""
    app.extensions[EXTENSION_KEY] = sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session() -> Iterator[Session]:
    """A session for the current request: what a tool function uses to read its data."""
    factory: sessionmaker[Session] = current_app.extensions[EXTENSION_KEY]
    with factory() as db:
        yield db


def load_if_empty(
    engine: Engine, metadata: MetaData, marker: type, load: Callable[[], object]
) -> bool:
    """Create a service's tables and run `load` if `marker`'s table has no rows; True if it
    loaded. What each service worker calls when it starts, so a new database gets the data."""
    metadata.create_all(engine)
    with Session(engine) as db:
        if db.scalar(select(func.count()).select_from(marker)) != 0:
            return False
    load()
    return True


def resolve_state(db: Session, city_model: type, state: str) -> str:
    """The two-letter code of a state given by code or name, in any case."""
    wanted = state.strip().lower()
    rows = db.execute(select(city_model.state, city_model.state_name).distinct()).all()
    for code, name in rows:
        if wanted in (code.lower(), name.lower()):
            return code
    known = ", ".join(sorted({code for code, _ in rows}))
    raise ToolError(f"unknown state {state!r}; states with data: {known}")


def resolve_city(
    db: Session, city_model: type, city: str, state: str | None = None
) -> tuple[str, str]:
    """(city, state code) in the dataset's spelling, or a ToolError that names the cities
    that exist, so that a model or a user can correct the request."""
    wanted = " ".join(city.split()).lower()
    code = resolve_state(db, city_model, state) if state and state.strip() else None
    query = select(city_model.city, city_model.state).where(func.lower(city_model.city) == wanted)
    if code:
        query = query.where(city_model.state == code)
    matches = db.execute(query.order_by(city_model.state)).all()
    if len(matches) == 1:
        return matches[0][0], matches[0][1]
    if matches:
        states = ", ".join(f"{name}, {st}" for name, st in matches)
        raise ToolError(f"{city!r} is in more than one state ({states}); give the state")
    rows = db.execute(
        select(city_model.city, city_model.state).order_by(city_model.city, city_model.state)
    ).all()
    known = "; ".join(f"{name}, {st}" for name, st in rows)
    where = f"{city!r} in {code}" if code else repr(city)
    raise ToolError(f"no data for {where}; cities with data: {known}")


def normalise_listing_id(raw: str) -> str:
    """Listing ids as the dataset spells them ("l100234 " -> "L100234")."""
    return raw.strip().upper()
