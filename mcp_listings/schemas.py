"""The listings tools' results as pydantic models: their JSON schemas are the `outputSchema`s."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from mcp_listings.queries import PropertyType, Status


class Address(BaseModel):
    street: str
    city: str
    state: str = Field(description="Two-letter state code")
    zip: str


class Listing(BaseModel):
    listing_id: str = Field(description='"L" and six digits, e.g. "L100234"')
    address: Address
    price: int = Field(description="Asking price in US dollars (sale price once sold)")
    bedrooms: int
    bathrooms: float
    sqft: int = Field(description="Living area; for land, the lot area")
    property_type: PropertyType
    status: Status
    year_built: int | None = Field(description="null for land")
    listed_at: str = Field(description="ISO date the listing went on the market")
    days_on_market: int
    description: str


class SearchResult(BaseModel):
    total: int = Field(description="How many listings match, across all pages")
    listings: list[Listing]
    filters: dict[str, Any] = Field(description="The filters applied, place names normalised")


class ReportReceipt(BaseModel):
    report_id: str
    recipient: str
    listing_count: int
    delivered_via: Literal["smtp", "outbox"]
