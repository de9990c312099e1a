"""The analytics tools' results as pydantic models: their JSON schemas are the `outputSchema`s."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MarketAnalysis(BaseModel):
    city: str
    state: str
    median_price: int = Field(description="Median asking price of active and pending homes")
    average_price: int
    price_per_sqft: int = Field(description="Median asking price per square foot")
    inventory: int = Field(description="Active listings")
    pending_count: int
    sold_count: int = Field(description="Sales in the last 12 months")
    median_days_on_market: int
    price_change_12m_pct: float = Field(
        description="Median sale price of the last 3 months against the same months a year ago"
    )
    competition_level: Literal["low", "moderate", "high"]
    trend: Literal["rising", "stable", "falling"]


class TrendPoint(BaseModel):
    month: str = Field(description='"YYYY-MM"')
    median_price: int | None = Field(description="Median sale price; null if nothing sold")
    sales: int


class PriceTrends(BaseModel):
    city: str
    state: str
    months: int
    series: list[TrendPoint] = Field(description="Oldest month first")
    change_pct: float = Field(description="Change of the median from the first month to the last")


class MarketComparison(BaseModel):
    markets: list[MarketAnalysis] = Field(description="In the order asked")
    cheapest: str | None = Field(description="City with the lowest median price")
    fastest_growing: str | None = Field(description="City with the largest 12-month price change")
    most_competitive: str | None = Field(
        description="City with the highest competition level (fewest days on market breaks ties)"
    )


class ListingMetric(BaseModel):
    listing_id: str
    page_views: int
    saves: int
    inquiries: int
    days_on_market: int
    click_through_rate: float = Field(ge=0, le=1, description="Page views per impression")
    conversion_rate: float = Field(ge=0, le=1, description="Inquiries per page view")


class ListingMetrics(BaseModel):
    metrics: list[ListingMetric]
    not_found: list[str]


class Totals(BaseModel):
    page_views: int
    saves: int
    inquiries: int


class TopPerformer(BaseModel):
    listing_id: str
    address: str
    page_views: int
    inquiries: int
    conversion_rate: float


class ListingPerformance(BaseModel):
    listing_id: str
    page_views: int
    saves: int
    inquiries: int
    conversion_rate: float
    days_on_market: int


class Recommendation(BaseModel):
    listing_id: str
    recommendation: str


class PerformanceReport(BaseModel):
    listing_count: int
    totals: Totals
    top_performer: TopPerformer
    listings: list[ListingPerformance]
    recommendations: list[Recommendation]
    not_found: list[str]


class MortgageEstimate(BaseModel):
    price: float
    down_payment_pct: float
    down_payment: float
    loan_amount: float
    annual_rate_pct: float
    years: int
    monthly_payment: float = Field(description="Principal and interest per month")
    total_paid: float = Field(description="All monthly payments over the term")
    total_interest: float


class AffordabilityEstimate(BaseModel):
    annual_income: int | None
    monthly_debts: int
    min_price: int = Field(description="Comfortable price: housing within the 28/36 rule")
    max_price: int = Field(description="Stretch price: housing within 33/43")
    monthly_budget: int = Field(
        description="Comfortable monthly housing cost (P&I, tax, insurance)"
    )
    max_monthly_budget: int = Field(description="Stretch monthly housing cost")
    down_payment: int = Field(description="Down payment at the comfortable price, dollars")
    down_payment_pct: float | None
    annual_rate_pct: float
    years: int
    tax_insurance_pct: float = Field(description="Yearly property tax and insurance, % of price")
    rule: str = Field(description="The debt-to-income rule used")
