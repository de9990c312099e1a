"""The listings service's MCP tools: search, details, and emailed reports.

Each tool is a thin typed function: its parameters (with their constraints) are the tool's
input schema, its return model the output schema; the work happens in `queries.py` and
`reports.py`. `registry` is what the service app serves.
"""

from __future__ import annotations

from typing import Annotated

from flask import current_app, g
from pydantic import EmailStr, Field

from app.mcp.dataset import session
from app.mcp.tools import ToolError, ToolRegistry
from mcp_listings import queries, reports
from mcp_listings.queries import PropertyType, SearchFilters, Sort, Status
from mcp_listings.schemas import Listing, ReportReceipt, SearchResult

registry = ToolRegistry()

Place = Annotated[str | None, Field(max_length=80)]
Dollars = Annotated[int | None, Field(ge=0, le=1_000_000_000)]
Sqft = Annotated[int | None, Field(ge=0, le=10_000_000)]


@registry.tool(scope="listings:read")
def search_listings(
    city: Annotated[Place, Field(description='City name, e.g. "Portland" (any case)')] = None,
    state: Annotated[Place, Field(description='State code or name, e.g. "OR" or "Oregon"')] = None,
    min_price: Annotated[Dollars, Field(description="Lowest price in dollars")] = None,
    max_price: Annotated[Dollars, Field(description="Highest price in dollars")] = None,
    min_bedrooms: Annotated[int | None, Field(ge=0, le=20)] = None,
    min_bathrooms: Annotated[float | None, Field(ge=0, le=20)] = None,
    property_type: PropertyType | None = None,
    status: Annotated[Status, Field(description="Listing status")] = "active",
    min_sqft: Annotated[Sqft, Field(description="Smallest living area in square feet")] = None,
    max_sqft: Annotated[Sqft, Field(description="Largest living area in square feet")] = None,
    sort: Annotated[Sort, Field(description="newest = most recently listed first")] = "newest",
    limit: Annotated[int, Field(ge=1, le=50, description="Listings per page")] = 10,
    offset: Annotated[int, Field(ge=0, le=100_000, description="Listings to skip, for paging")] = 0,
) -> SearchResult:
    """Search homes for sale by place, price, rooms, type, status and size.

    Returns one page of listings and the total number that match. Unknown cities give an
    error that names the cities with data.
    """
    filters = SearchFilters(
        city=city,
        state=state,
        min_price=min_price,
        max_price=max_price,
        min_bedrooms=min_bedrooms,
        min_bathrooms=min_bathrooms,
        property_type=property_type,
        status=status,
        min_sqft=min_sqft,
        max_sqft=max_sqft,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    with session() as db:
        return SearchResult.model_validate(queries.search(db, filters))


@registry.tool(scope="listings:read")
def get_listing(
    listing_id: Annotated[
        str, Field(min_length=1, max_length=20, description='Listing id, e.g. "L100234"')
    ],
) -> Listing:
    """Get the full details of one listing by its id."""
    with session() as db:
        return Listing.model_validate(queries.get_listing(db, listing_id))


@registry.tool(scope="listings:report")
def send_listing_report(
    listing_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=20)]],
        Field(min_length=1, max_length=20, description="Ids of the listings to include"),
    ],
    recipient_email: Annotated[EmailStr, Field(description="Where to send the report")],
) -> ReportReceipt:
    """Email a report of the given listings (price, address, rooms, size) to a recipient."""
    with session() as db:
        found, missing = queries.get_listings(db, listing_ids)
    if missing:
        raise ToolError(f"listing not found: {', '.join(missing)}")
    settings = reports.ReportSettings.from_config(current_app.config)
    receipt = reports.send_report(found, str(recipient_email), settings)
    current_app.logger.info(
        "report %s for user %s", receipt["report_id"], getattr(g, "mcp_subject", None)
    )
    return ReportReceipt.model_validate(receipt)
