"""The listings service's tables: the listings themselves and the cities they are in.

Plain SQLAlchemy (the service is not a Flask-SQLAlchemy app). City names are stored in their
canonical spelling; queries resolve what the caller typed to that spelling first, so the
indexes below serve exact matches. Table names carry the service's prefix so that both
services could share one database without colliding.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class City(Base):
    """A city that has listings, with its state's code and full name (to accept either)."""

    __tablename__ = "listings_cities"

    city: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[str] = mapped_column(String(2), primary_key=True)
    state_name: Mapped[str] = mapped_column(String(40))


class Listing(Base):
    """One property for sale (or recently under contract or sold)."""

    __tablename__ = "listings_listings"
    __table_args__ = (
        # search by city: status is always filtered, price is the usual range and sort key
        Index("ix_listings_city_status_price", "city", "state", "status", "price"),
        # search without a city: by status, sorted by price or by date
        Index("ix_listings_status_price", "status", "price"),
        Index("ix_listings_status_listed_at", "status", "listed_at"),
    )

    listing_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    street: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(2))
    zip: Mapped[str] = mapped_column(String(10))
    price: Mapped[int] = mapped_column(Integer)
    bedrooms: Mapped[int] = mapped_column(Integer)
    bathrooms: Mapped[float] = mapped_column(Float)
    sqft: Mapped[int] = mapped_column(Integer)
    property_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    year_built: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listed_at: Mapped[date] = mapped_column(Date)
    days_on_market: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)

    def to_dict(self) -> dict[str, Any]:
        """The listing as the tools return it (`Listing` in mcp_listings/schemas.py)."""
        return {
            "listing_id": self.listing_id,
            "address": {
                "street": self.street,
                "city": self.city,
                "state": self.state,
                "zip": self.zip,
            },
            "price": self.price,
            "bedrooms": self.bedrooms,
            "bathrooms": self.bathrooms,
            "sqft": self.sqft,
            "property_type": self.property_type,
            "status": self.status,
            "year_built": self.year_built,
            "listed_at": self.listed_at.isoformat(),
            "days_on_market": self.days_on_market,
            "description": self.description,
        }

    def one_line_address(self) -> str:
        return f"{self.street}, {self.city}, {self.state} {self.zip}"
