"""The listings service's questions to its database, as plain functions of a Session.

The tools in `tools.py` only translate arguments and results; everything that decides which
listings come back lives here, testable without HTTP. Expected failures (an unknown city, a
listing that does not exist) raise `ToolError` with a message meant for the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.mcp.dataset import normalise_listing_id, resolve_city, resolve_state
from app.mcp.tools import ToolError
from mcp_listings.models import City, Listing

PropertyType = Literal["house", "condo", "townhouse", "multi_family", "land"]
Status = Literal["active", "pending", "sold"]
Sort = Literal["price_asc", "price_desc", "newest", "sqft_desc"]

SORTS = {
    "price_asc": (Listing.price.asc(), Listing.listing_id.asc()),
    "price_desc": (Listing.price.desc(), Listing.listing_id.asc()),
    "newest": (Listing.listed_at.desc(), Listing.listing_id.asc()),
    "sqft_desc": (Listing.sqft.desc(), Listing.listing_id.asc()),
}


@dataclass(frozen=True)
class SearchFilters:
    """What a search asks for; None means "any". The listing id breaks ties in every sort, so
    that paging through results neither repeats nor skips a listing."""

    city: str | None = None
    state: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    min_bedrooms: int | None = None
    min_bathrooms: float | None = None
    property_type: PropertyType | None = None
    status: Status = "active"
    min_sqft: int | None = None
    max_sqft: int | None = None
    sort: Sort = "newest"
    limit: int = 10
    offset: int = 0


def _check_ranges(filters: SearchFilters) -> None:
    for low, high in (("min_price", "max_price"), ("min_sqft", "max_sqft")):
        lo, hi = getattr(filters, low), getattr(filters, high)
        if lo is not None and hi is not None and lo > hi:
            raise ToolError(f"{low} ({lo}) is greater than {high} ({hi})")


def normalise(db: Session, filters: SearchFilters) -> SearchFilters:
    """The filters with the place spelled as in the dataset (or a ToolError naming the cities
    that exist)."""
    _check_ranges(filters)
    values = asdict(filters)
    if filters.city and filters.city.strip():
        values["city"], values["state"] = resolve_city(db, City, filters.city, filters.state)
    elif filters.state and filters.state.strip():
        values["city"], values["state"] = None, resolve_state(db, City, filters.state)
    else:
        values["city"] = values["state"] = None
    return SearchFilters(**values)


def _where(query: Select, filters: SearchFilters) -> Select:
    conditions = [Listing.status == filters.status]
    if filters.city:
        conditions.append(Listing.city == filters.city)
    if filters.state:
        conditions.append(Listing.state == filters.state)
    for value, condition in (
        (filters.min_price, lambda v: Listing.price >= v),
        (filters.max_price, lambda v: Listing.price <= v),
        (filters.min_bedrooms, lambda v: Listing.bedrooms >= v),
        (filters.min_bathrooms, lambda v: Listing.bathrooms >= v),
        (filters.property_type, lambda v: Listing.property_type == v),
        (filters.min_sqft, lambda v: Listing.sqft >= v),
        (filters.max_sqft, lambda v: Listing.sqft <= v),
    ):
        if value is not None:
            conditions.append(condition(value))
    return query.where(*conditions)


def search(db: Session, filters: SearchFilters) -> dict[str, Any]:
    """`{total, listings, filters}`: one page of matching listings, the number that match in
    all, and the filters as applied (place normalised, unset ones left out)."""
    applied = normalise(db, filters)
    total = db.scalar(_where(select(func.count()).select_from(Listing), applied)) or 0
    page = db.scalars(
        _where(select(Listing), applied)
        .order_by(*SORTS[applied.sort])
        .limit(applied.limit)
        .offset(applied.offset)
    ).all()
    return {
        "total": total,
        "listings": [listing.to_dict() for listing in page],
        "filters": {key: value for key, value in asdict(applied).items() if value is not None},
    }


def get_listing(db: Session, listing_id: str) -> dict[str, Any]:
    """The full listing, or a ToolError "listing not found"."""
    listing = db.get(Listing, normalise_listing_id(listing_id))
    if listing is None:
        raise ToolError(f"listing not found: {listing_id.strip()}")
    return listing.to_dict()


def get_listings(db: Session, listing_ids: Sequence[str]) -> tuple[list[Listing], list[str]]:
    """(the listings found, in the order asked and without repeats; the ids not found)."""
    wanted = list(dict.fromkeys(normalise_listing_id(raw) for raw in listing_ids))
    found = {
        listing.listing_id: listing
        for listing in db.scalars(select(Listing).where(Listing.listing_id.in_(wanted)))
    }
    return [found[i] for i in wanted if i in found], [i for i in wanted if i not in found]
