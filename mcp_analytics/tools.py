"""The analytics service's MCP tools: market figures, listing performance and mortgages.

Each tool is a thin typed function: its parameters (with their constraints) are the tool's
input schema, its return model the output schema; the work happens in `queries.py` and
`mortgage.py`. `registry` is what the service app serves.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from app.mcp.dataset import session
from app.mcp.tools import ToolError, ToolRegistry
from app.settings import Settings
from mcp_analytics import affordability, mortgage, queries
from mcp_analytics.schemas import (
    AffordabilityEstimate,
    ListingMetrics,
    MarketAnalysis,
    MarketComparison,
    MortgageEstimate,
    PerformanceReport,
    PriceTrends,
)

registry = ToolRegistry()

# The schema shows the default, so it is read once, when the service starts.
DEFAULT_RATE_PCT = Settings().mortgage_default_rate_pct

CityName = Annotated[
    str, Field(min_length=1, max_length=80, description='City name, e.g. "Portland"')
]
StateName = Annotated[
    str | None,
    Field(max_length=80, description='State code or name, e.g. "OR" or "Oregon"'),
]
ListingIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=20)]],
    Field(min_length=1, max_length=50, description='Listing ids, e.g. ["L100234"]'),
]


@registry.tool(scope="analytics:read")
def get_market_analysis(city: CityName, state: StateName = None) -> MarketAnalysis:
    """Market figures for a city: median and average price, price per sqft, inventory, sales,
    days on market, 12-month price change, competition level and trend.

    Computed from the dataset's active and pending listings and its last 12 months of sales.
    """
    with session() as db:
        return MarketAnalysis.model_validate(queries.market_analysis(db, city, state))


@registry.tool(scope="analytics:read")
def get_price_trends(
    city: CityName,
    state: StateName = None,
    months: Annotated[int, Field(ge=1, le=36, description="How many months, up to 36")] = 12,
) -> PriceTrends:
    """Monthly median sale price and number of sales in a city, oldest month first."""
    with session() as db:
        return PriceTrends.model_validate(queries.price_trends(db, city, state, months))


@registry.tool(scope="analytics:read")
def compare_markets(
    cities: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]],
        Field(
            min_length=2,
            max_length=5,
            description='2 to 5 markets, each "City, ST" or "City", e.g. ["Austin, TX", "Boise"]',
        ),
    ],
) -> MarketComparison:
    """Compare the market figures of 2 to 5 cities side by side, in the order given, and name
    the cheapest, the fastest growing and the most competitive of them."""
    with session() as db:
        return MarketComparison.model_validate(queries.compare_markets(db, cities))


@registry.tool(scope="analytics:read")
def get_listing_metrics(listing_ids: ListingIds) -> ListingMetrics:
    """Engagement per listing: page views, saves, inquiries, days on market, click-through and
    conversion rates."""
    with session() as db:
        return ListingMetrics.model_validate(queries.listing_metrics(db, listing_ids))


@registry.tool(scope="analytics:read")
def generate_performance_report(listing_ids: ListingIds) -> PerformanceReport:
    """A performance report for listings: totals, the top performer and rule-based
    recommendations (e.g. many views but few inquiries: review price and photos)."""
    with session() as db:
        return PerformanceReport.model_validate(queries.performance_report(db, listing_ids))


@registry.tool(scope="analytics:read")
def estimate_mortgage(
    price: Annotated[float, Field(gt=0, le=1_000_000_000, description="Purchase price, dollars")],
    down_payment_pct: Annotated[float, Field(ge=0, le=100, description="Percent down")] = 20,
    annual_rate_pct: Annotated[
        float, Field(ge=0, le=30, description="Annual interest rate in percent")
    ] = DEFAULT_RATE_PCT,
    years: Annotated[int, Field(ge=1, le=40, description="Term in years")] = 30,
) -> MortgageEstimate:
    """Estimate the monthly principal and interest of a fixed-rate mortgage, and the totals."""
    return MortgageEstimate.model_validate(
        mortgage.estimate(price, down_payment_pct, annual_rate_pct, years)
    )


@registry.tool(scope="analytics:read")
def estimate_affordability(
    annual_income: Annotated[
        float | None,
        Field(gt=0, le=100_000_000, description="Gross household income per year, dollars"),
    ] = None,
    monthly_debts: Annotated[
        float,
        Field(ge=0, le=10_000_000, description="Other debt payments per month (car, cards...)"),
    ] = 0,
    down_payment: Annotated[
        float | None,
        Field(ge=0, le=1_000_000_000, description="Cash for the down payment, dollars (savings)"),
    ] = None,
    down_payment_pct: Annotated[
        float, Field(ge=0, lt=100, description="Percent down, when no dollar amount is given")
    ] = 20,
    annual_rate_pct: Annotated[
        float, Field(ge=0, le=30, description="Annual interest rate in percent")
    ] = DEFAULT_RATE_PCT,
    years: Annotated[int, Field(ge=1, le=40, description="Term in years")] = 30,
    tax_insurance_pct: Annotated[
        float, Field(ge=0, le=10, description="Yearly property tax and insurance, % of price")
    ] = 1.25,
    monthly_budget: Annotated[
        float | None,
        Field(gt=0, le=10_000_000, description="Most to spend on housing per month, dollars"),
    ] = None,
) -> AffordabilityEstimate:
    """Estimate what home price an income (or a monthly housing budget) affords under the 28/36
    debt-to-income rule (comfortable) and 33/43 (stretch): a price range and the monthly
    budget, from income, monthly debts, down payment or savings, rate and term.
    """
    if annual_income is None and monthly_budget is None:
        raise ToolError("give annual_income or monthly_budget")
    return AffordabilityEstimate.model_validate(
        affordability.estimate(
            annual_income,
            monthly_debts,
            down_payment,
            down_payment_pct,
            annual_rate_pct,
            years,
            tax_insurance_pct,
            monthly_budget,
        )
    )
