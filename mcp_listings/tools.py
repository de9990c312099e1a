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
    city: Annotated[Place, Field(description='One city, e.g. "Portland" (any case)')] = None,
    state: Annotated[
        Place,
        Field(description='State code or name, e.g. "OR": picks the city, or searches the state'),
    ] = None,
    cities: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=100)], ...],
        Field(
            max_length=10,
            description='Several cities at once, each "City" or "City, ST", e.g. '
            '["Kirkland, WA", "Redmond"]',
        ),
    ] = (),
    min_price: Annotated[Dollars, Field(description="Lowest price in dollars")] = None,
    max_price: Annotated[Dollars, Field(description="Highest price in dollars")] = None,
    min_bedrooms: Annotated[int | None, Field(ge=0, le=20)] = None,
    max_bedrooms: Annotated[int | None, Field(ge=0, le=20)] = None,
    min_bathrooms: Annotated[float | None, Field(ge=0, le=20)] = None,
    max_bathrooms: Annotated[float | None, Field(ge=0, le=20)] = None,
    property_type: Annotated[
        PropertyType | None, Field(description="One property type (or use property_types)")
    ] = None,
    property_types: Annotated[
        tuple[PropertyType, ...],
        Field(
            max_length=5,
            description="Any of these types; with no type given, every home type but land",
        ),
    ] = (),
    exclude_types: Annotated[
        tuple[PropertyType, ...],
        Field(max_length=5, description='Types to leave out ("not a condo")'),
    ] = (),
    status: Annotated[Status, Field(description="Listing status")] = "active",
    min_sqft: Annotated[Sqft, Field(description="Smallest living area in square feet")] = None,
    max_sqft: Annotated[Sqft, Field(description="Largest living area in square feet")] = None,
    zip_codes: Annotated[
        tuple[Annotated[str, Field(pattern=r"^\d{5}$")], ...],
        Field(max_length=20, description='Five-digit ZIP codes, e.g. ["97201"]'),
    ] = (),
    min_year_built: Annotated[int | None, Field(ge=1700, le=2100)] = None,
    max_year_built: Annotated[int | None, Field(ge=1700, le=2100)] = None,
    listed_within_days: Annotated[
        int | None,
        Field(
            ge=0,
            le=3650,
            description="Listed in the last N days, counted back from the data's newest listing",
        ),
    ] = None,
    keywords: Annotated[
        tuple[Annotated[str, Field(min_length=2, max_length=40)], ...],
        Field(
            max_length=5,
            description='Words the description must all contain, e.g. ["garage", "yard"]',
        ),
    ] = (),
    sort: Annotated[Sort, Field(description="newest = most recently listed first")] = "newest",
    limit: Annotated[int, Field(ge=1, le=50, description="Listings per page")] = 10,
    offset: Annotated[int, Field(ge=0, le=100_000, description="Listings to skip, for paging")] = 0,
) -> SearchResult:
    """Search listings by place (one city, several cities, or a whole state), price, bedrooms
    and bathrooms (min and max), property types (several, and exclusions), size, ZIP codes, year
    built, how recently listed, and features as words of the description ("garage", "yard").
    With no property type it returns homes only (no land). Returns one page and the total; an
    unknown city is an error that names the cities with data.
    """
    filters = SearchFilters(
        city=city,
        state=state,
        cities=cities,
        min_price=min_price,
        max_price=max_price,
        min_bedrooms=min_bedrooms,
        max_bedrooms=max_bedrooms,
        min_bathrooms=min_bathrooms,
        max_bathrooms=max_bathrooms,
        property_type=property_type,
        property_types=property_types,
        exclude_types=exclude_types,
        status=status,
        min_sqft=min_sqft,
        max_sqft=max_sqft,
        zip_codes=zip_codes,
        min_year_built=min_year_built,
        max_year_built=max_year_built,
        listed_within_days=listed_within_days,
        keywords=keywords,
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


@registry.tool(scope="listings:report", read_only=False, open_world=True)
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
