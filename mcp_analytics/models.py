"""The analytics service's tables: cities, listings (the fields market figures need), the sales
history and each listing's portal engagement.

Plain SQLAlchemy (the service is not a Flask-SQLAlchemy app). Cities are stored in their
canonical spelling and queries resolve what the caller typed to it first, so the indexes serve
exact matches. Table names carry the service's prefix so that both services could share one
database without colliding.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class City(Base):
    """A city with market data, with its state's code and full name (to accept either)."""

    __tablename__ = "analytics_cities"

    city: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[str] = mapped_column(String(2), primary_key=True)
    state_name: Mapped[str] = mapped_column(String(40))


class Listing(Base):
    """A listing as the market figures and the performance reports see it."""

    __tablename__ = "analytics_listings"
    __table_args__ = (Index("ix_analytics_listings_city_status", "city", "state", "status"),)

    listing_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    street: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(2))
    zip: Mapped[str] = mapped_column(String(10))
    price: Mapped[int] = mapped_column(Integer)
    sqft: Mapped[int] = mapped_column(Integer)
    property_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    listed_at: Mapped[date] = mapped_column(Date)
    days_on_market: Mapped[int] = mapped_column(Integer)

    def one_line_address(self) -> str:
        return f"{self.street}, {self.city}, {self.state} {self.zip}"


class Sale(Base):
    """One closed sale of the sales history."""

    __tablename__ = "analytics_sales"
    __table_args__ = (Index("ix_analytics_sales_city_sold_on", "city", "state", "sold_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(2))
    sold_on: Mapped[date] = mapped_column(Date)
    price: Mapped[int] = mapped_column(Integer)
    sqft: Mapped[int] = mapped_column(Integer)
    property_type: Mapped[str] = mapped_column(String(16))


class Engagement(Base):
    """A listing's traffic on the portal since it was listed."""

    __tablename__ = "analytics_engagement"

    listing_id: Mapped[str] = mapped_column(
        String(12), ForeignKey("analytics_listings.listing_id"), primary_key=True
    )
    impressions: Mapped[int] = mapped_column(Integer)
    page_views: Mapped[int] = mapped_column(Integer)
    saves: Mapped[int] = mapped_column(Integer)
    inquiries: Mapped[int] = mapped_column(Integer)
    showings: Mapped[int] = mapped_column(Integer)
