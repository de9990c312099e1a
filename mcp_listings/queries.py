"""The listings service's questions to its database, as plain functions of a Session.

The tools in `tools.py` only translate arguments and results; everything that decides which
listings come back lives here, testable without HTTP. Expected failures (an unknown city, a
listing that does not exist) raise `ToolError` with a message meant for the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.mcp.dataset import normalise_listing_id, resolve_city, resolve_state
from app.mcp.tools import ToolError
from mcp_listings.models import City, Listing

PropertyType = Literal["house", "condo", "townhouse", "multi_family", "land"]
PROPERTY_TYPES: tuple[PropertyType, ...] = ("house", "condo", "townhouse", "multi_family", "land")
# What "homes" means: every type people live in. Land comes back only when asked for by type.
DWELLINGS: tuple[PropertyType, ...] = ("house", "condo", "townhouse", "multi_family")
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
    """What a search asks for; None (or an empty tuple) means "any". The listing id breaks ties
    in every sort, so that paging through results neither repeats nor skips a listing.

    Places: `city` (with `state` to pick one), and/or `cities` ("City" or "City, ST" each), or
    a `state` alone. Types: `property_type` and `property_types` add up, `exclude_types` take
    away; with neither, every dwelling type (no land). `listed_within_days` counts back from
    the data's as-of date (its newest listing), not from today.
    """

    city: str | None = None
    state: str | None = None
    cities: tuple[str, ...] = ()
    min_price: int | None = None
    max_price: int | None = None
    min_bedrooms: int | None = None
    max_bedrooms: int | None = None
    min_bathrooms: float | None = None
    max_bathrooms: float | None = None
    property_type: PropertyType | None = None
    property_types: tuple[PropertyType, ...] = ()
    exclude_types: tuple[PropertyType, ...] = ()
    status: Status = "active"
    min_sqft: int | None = None
    max_sqft: int | None = None
    zip_codes: tuple[str, ...] = ()
    min_year_built: int | None = None
    max_year_built: int | None = None
    listed_within_days: int | None = None
    keywords: tuple[str, ...] = ()
    sort: Sort = "newest"
    limit: int = 10
    offset: int = 0


@dataclass(frozen=True)
class AppliedFilters:
    """The filters as the query runs them: places resolved to (city, state) pairs, the set of
    types, and the first listing date that counts."""

    asked: SearchFilters
    places: tuple[tuple[str, str], ...]
    state: str | None
    types: tuple[PropertyType, ...]
    listed_since: date | None

    def public(self) -> dict[str, Any]:
        """The filters as the result states them: unset ones left out, places normalised."""
        skip = {"city", "state", "cities", "property_type", "property_types", "listed_within_days"}
        values = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self.asked).items()
            if key not in skip and value not in (None, ())
        }
        if len(self.places) == 1:
            values["city"], values["state"] = self.places[0]
        elif self.places:
            values["cities"] = [f"{city}, {state}" for city, state in self.places]
        elif self.state:
            values["state"] = self.state
        values["property_types"] = list(self.types)
        if self.listed_since is not None:
            values["listed_within_days"] = self.asked.listed_within_days
            values["listed_since"] = self.listed_since.isoformat()
        return values


RANGES = (
    ("min_price", "max_price"),
    ("min_sqft", "max_sqft"),
    ("min_bedrooms", "max_bedrooms"),
    ("min_bathrooms", "max_bathrooms"),
    ("min_year_built", "max_year_built"),
)


def _check_ranges(filters: SearchFilters) -> None:
    for low, high in RANGES:
        lo, hi = getattr(filters, low), getattr(filters, high)
        if lo is not None and hi is not None and lo > hi:
            raise ToolError(f"{low} ({lo}) is greater than {high} ({hi})")


def _types(filters: SearchFilters) -> tuple[PropertyType, ...]:
    wanted = set(filters.property_types)
    if filters.property_type:
        wanted.add(filters.property_type)
    included = wanted or set(DWELLINGS)
    types = tuple(t for t in PROPERTY_TYPES if t in included and t not in filters.exclude_types)
    if not types:
        raise ToolError("the property types asked for and excluded leave nothing to search")
    return types


def _places(db: Session, filters: SearchFilters) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The cities asked for, resolved, without repeats; else the state alone (or nothing)."""
    asked = [(filters.city, filters.state)] if filters.city and filters.city.strip() else []
    for text in filters.cities:
        city, _, state = text.partition(",")
        if city.strip():
            asked.append((city, state.strip() or filters.state))
    if asked:
        resolved = [resolve_city(db, City, city, state) for city, state in asked]
        return tuple(dict.fromkeys(resolved)), None
    if filters.state and filters.state.strip():
        return (), resolve_state(db, City, filters.state)
    return (), None


def normalise(db: Session, filters: SearchFilters) -> AppliedFilters:
    """The filters as the query runs them (or a ToolError naming the cities that exist)."""
    _check_ranges(filters)
    places, state = _places(db, filters)
    since = None
    if filters.listed_within_days is not None:
        as_of = db.scalar(select(func.max(Listing.listed_at)))
        since = (as_of or date.today()) - timedelta(days=filters.listed_within_days)
    return AppliedFilters(filters, places, state, _types(filters), since)


def _where(query: Select, applied: AppliedFilters) -> Select:
    filters = applied.asked
    conditions = [Listing.status == filters.status, Listing.property_type.in_(applied.types)]
    if applied.places:
        conditions.append(
            or_(*(and_(Listing.city == c, Listing.state == s) for c, s in applied.places))
        )
    if applied.state:
        conditions.append(Listing.state == applied.state)
    if applied.listed_since is not None:
        conditions.append(Listing.listed_at >= applied.listed_since)
    if filters.zip_codes:
        conditions.append(Listing.zip.in_([z.strip() for z in filters.zip_codes]))
    for word in filters.keywords:
        conditions.append(func.lower(Listing.description).contains(word.lower(), autoescape=True))
    for value, condition in (
        (filters.min_price, lambda v: Listing.price >= v),
        (filters.max_price, lambda v: Listing.price <= v),
        (filters.min_bedrooms, lambda v: Listing.bedrooms >= v),
        (filters.max_bedrooms, lambda v: Listing.bedrooms <= v),
        (filters.min_bathrooms, lambda v: Listing.bathrooms >= v),
        (filters.max_bathrooms, lambda v: Listing.bathrooms <= v),
        (filters.min_sqft, lambda v: Listing.sqft >= v),
        (filters.max_sqft, lambda v: Listing.sqft <= v),
        (filters.min_year_built, lambda v: Listing.year_built >= v),
        (filters.max_year_built, lambda v: Listing.year_built <= v),
    ):
        if value is not None:
            conditions.append(condition(value))
    return query.where(*conditions)


def search(db: Session, filters: SearchFilters) -> dict[str, Any]:
    """`{total, listings, filters}`: one page of matching listings, the number that match in
    all, and the filters as applied (places normalised, unset ones left out)."""
    applied = normalise(db, filters)
    total = db.scalar(_where(select(func.count()).select_from(Listing), applied)) or 0
    page = db.scalars(
        _where(select(Listing), applied)
        .order_by(*SORTS[filters.sort])
        .limit(filters.limit)
        .offset(filters.offset)
    ).all()
    return {
        "total": total,
        "listings": [listing.to_dict() for listing in page],
        "filters": applied.public(),
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
