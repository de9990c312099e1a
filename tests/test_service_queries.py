"""The MCP services' data layer: searches obey their filters, market figures agree with the
records they come from, mortgages follow the amortisation formula, and reports are really
delivered (to an outbox file or to an SMTP server)."""

from __future__ import annotations

import email
import socket
from collections import defaultdict
from datetime import date
from email import policy
from statistics import median

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.mcp.tools import ToolError
from mcp_analytics import queries as analytics
from mcp_analytics.models import Engagement
from mcp_analytics.models import Listing as AnalyticsListing
from mcp_analytics.mortgage import estimate
from mcp_analytics.tools import DEFAULT_RATE_PCT
from mcp_analytics.tools import registry as analytics_tools
from mcp_listings import queries as listings
from mcp_listings.reports import ReportSettings, send_report
from mcp_listings.tools import registry as listings_tools

pytest_plugins = ["tests.support.service_fixtures"]

SORT_KEYS = {
    "price_asc": lambda x: (x["price"], x["listing_id"]),
    "price_desc": lambda x: (-x["price"], x["listing_id"]),
    "newest": lambda x: (-date.fromisoformat(x["listed_at"]).toordinal(), x["listing_id"]),
    "sqft_desc": lambda x: (-x["sqft"], x["listing_id"]),
}
CITIES = ["Portland", "portland", "SAN FRANCISCO", "Boise", "New York", "Austin", None]
CITY_LISTS = [(), ("Kirkland", "redmond, WA"), ("Boise, ID", "Eugene", "Bend")]
TYPES = ["house", "condo", "townhouse", "multi_family", "land"]
DWELLINGS = {"house", "condo", "townhouse", "multi_family"}
ZIPS = [(), ("97201", "97202", "98033"), ("83702",)]
AS_OF = date(2026, 10, 31)  # the newest listing of the bundled data: "listed within" counts back


def _matches(listing: dict, f: listings.SearchFilters) -> bool:
    """The filters' meaning, restated independently of the SQL."""
    address = listing["address"]
    cities = [c.partition(",")[0].strip().lower() for c in f.cities]
    cities += [f.city.lower()] if f.city else []
    types = set(f.property_types) | ({f.property_type} if f.property_type else set())
    types = (types or DWELLINGS) - set(f.exclude_types)
    listed = date.fromisoformat(listing["listed_at"])
    year = listing["year_built"]
    checks = [
        listing["status"] == f.status,
        not cities or address["city"].lower() in cities,
        f.state is None or address["state"] == f.state,
        f.min_price is None or listing["price"] >= f.min_price,
        f.max_price is None or listing["price"] <= f.max_price,
        f.min_bedrooms is None or listing["bedrooms"] >= f.min_bedrooms,
        f.max_bedrooms is None or listing["bedrooms"] <= f.max_bedrooms,
        f.min_bathrooms is None or listing["bathrooms"] >= f.min_bathrooms,
        f.max_bathrooms is None or listing["bathrooms"] <= f.max_bathrooms,
        listing["property_type"] in types,
        f.min_sqft is None or listing["sqft"] >= f.min_sqft,
        f.max_sqft is None or listing["sqft"] <= f.max_sqft,
        not f.zip_codes or address["zip"] in f.zip_codes,
        f.min_year_built is None or (year is not None and year >= f.min_year_built),
        f.max_year_built is None or (year is not None and year <= f.max_year_built),
        f.listed_within_days is None or (AS_OF - listed).days <= f.listed_within_days,
        all(word.lower() in listing["description"].lower() for word in f.keywords),
    ]
    return all(checks)


filters_strategy = st.builds(
    listings.SearchFilters,
    city=st.sampled_from(CITIES),
    cities=st.sampled_from(CITY_LISTS),
    min_price=st.none() | st.integers(0, 1_500_000),
    max_price=st.none() | st.integers(1_500_000, 5_000_000),
    min_bedrooms=st.none() | st.integers(0, 6),
    max_bedrooms=st.none() | st.integers(6, 10),
    min_bathrooms=st.none() | st.sampled_from([1.0, 1.5, 2.0, 3.5]),
    max_bathrooms=st.none() | st.sampled_from([3.5, 4.0, 6.0]),
    property_type=st.none() | st.sampled_from(TYPES),
    property_types=st.sampled_from([(), ("condo", "townhouse"), ("land",), ("house", "land")]),
    exclude_types=st.sampled_from([(), ("condo",), ("multi_family", "townhouse")]),
    status=st.sampled_from(["active", "pending", "sold"]),
    min_sqft=st.none() | st.integers(0, 2500),
    max_sqft=st.none() | st.integers(2500, 9000),
    zip_codes=st.sampled_from(ZIPS),
    min_year_built=st.none() | st.integers(1900, 2010),
    max_year_built=st.none() | st.integers(2010, 2026),
    listed_within_days=st.none() | st.integers(0, 400),
    keywords=st.sampled_from([(), ("garage",), ("Yard", "pool"), ("100%_",)]),
    sort=st.sampled_from(list(SORT_KEYS)),
    limit=st.integers(1, 50),
    offset=st.integers(0, 60),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filters=filters_strategy)
def test_search_returns_exactly_the_matching_page_in_sort_order(listings_engine, dataset, filters):
    """Every returned listing obeys every filter, and none that obeys them all is left out."""
    with Session(listings_engine) as db:
        try:
            result = listings.search(db, filters)
        except ToolError as error:  # asked for types and excluded them all
            assert "leave nothing" in str(error)
            return
    expected = sorted(
        (x for x in dataset["listings"] if _matches(x, filters)), key=SORT_KEYS[filters.sort]
    )
    assert result["total"] == len(expected)
    page = expected[filters.offset : filters.offset + filters.limit]
    assert [x["listing_id"] for x in result["listings"]] == [x["listing_id"] for x in page]
    assert result["listings"] == page  # the public shape, field for field
    assert result["filters"]["status"] == filters.status


def test_homes_leave_out_land_unless_land_is_asked_for(listings_db):
    homes = listings.search(listings_db, listings.SearchFilters(city="Bend", limit=50))
    assert homes["filters"]["property_types"] == ["house", "condo", "townhouse", "multi_family"]
    assert all(x["property_type"] != "land" for x in homes["listings"])
    land = listings.search(listings_db, listings.SearchFilters(city="Bend", property_type="land"))
    assert land["total"] > 0 and land["filters"]["property_types"] == ["land"]


def test_several_cities_are_searched_together_and_named_as_applied(listings_db):
    both = listings.search(
        listings_db, listings.SearchFilters(cities=("kirkland", "Redmond, WA"), limit=50)
    )
    assert both["filters"]["cities"] == ["Kirkland, WA", "Redmond, WA"]
    assert {x["address"]["city"] for x in both["listings"]} == {"Kirkland", "Redmond"}
    with pytest.raises(ToolError, match="unknown state 'ME'; states with data: AZ"):
        listings.search(listings_db, listings.SearchFilters(city="Portland", state="ME"))


def test_paging_through_a_search_visits_every_match_once(listings_db):
    base = dict(city="Seattle", sort="price_asc", limit=50)
    total = listings.search(listings_db, listings.SearchFilters(**base))["total"]
    seen = []
    for offset in range(0, total, 50):
        page = listings.search(listings_db, listings.SearchFilters(**base, offset=offset))
        seen += [x["listing_id"] for x in page["listings"]]
    assert len(seen) == len(set(seen)) == total > 50


def test_city_and_state_match_case_insensitively_and_by_state_name(listings_db):
    exact = listings.search(listings_db, listings.SearchFilters(city="Portland", state="OR"))
    loose = listings.search(listings_db, listings.SearchFilters(city=" portland ", state="oregon"))
    assert exact == loose
    assert loose["filters"]["city"] == "Portland" and loose["filters"]["state"] == "OR"
    by_state = listings.search(listings_db, listings.SearchFilters(state="Idaho", limit=50))
    assert {x["address"]["city"] for x in by_state["listings"]} == {"Boise"}


def test_unknown_city_error_names_the_cities_that_exist(listings_db, analytics_db):
    with pytest.raises(ToolError) as searched:
        listings.search(listings_db, listings.SearchFilters(city="Gotham"))
    with pytest.raises(ToolError) as analysed:
        analytics.market_analysis(analytics_db, "Gotham")
    for error in (searched, analysed):
        assert "Gotham" in str(error.value)
        assert "Portland, OR" in str(error.value) and "Miami, FL" in str(error.value)


def test_city_in_the_wrong_state_is_an_error(listings_db):
    with pytest.raises(ToolError, match="'Portland' in WA"):
        listings.search(listings_db, listings.SearchFilters(city="Portland", state="WA"))


def test_inverted_price_range_is_an_error_naming_the_fields(listings_db):
    with pytest.raises(ToolError, match="min_price"):
        listings.search(listings_db, listings.SearchFilters(min_price=9, max_price=1))


def test_get_listing_accepts_any_case_and_reports_unknown_ids(listings_db, dataset):
    first = dataset["listings"][0]
    assert listings.get_listing(listings_db, first["listing_id"].lower()) == first
    with pytest.raises(ToolError, match="listing not found"):
        listings.get_listing(listings_db, "L000000")


def test_tool_arguments_are_validated_by_their_schema(listings_app, analytics_app):
    with listings_app.app_context():
        too_many = listings_tools.get("search_listings").call({"limit": 51})
        far_page = listings_tools.get("search_listings").call({"offset": 2**63})
        bad_email = listings_tools.get("send_listing_report").call(
            {"listing_ids": ["L100001"], "recipient_email": "not-an-address"}
        )
        page = listings_tools.get("search_listings").call({"city": "Boise", "limit": 3})
    with analytics_app.app_context():
        one_city = analytics_tools.get("compare_markets").call({"cities": ["Boise"]})
        months = analytics_tools.get("get_price_trends").call({"city": "Boise", "months": 37})
    assert too_many.is_error and "limit" in too_many.content[0].text
    assert far_page.is_error and "offset" in far_page.content[0].text  # not "failed unexpectedly"
    assert bad_email.is_error and "recipient_email" in bad_email.content[0].text
    assert one_city.is_error and "cities" in one_city.content[0].text
    assert months.is_error and "months" in months.content[0].text
    assert not page.is_error and len(page.structured_content["listings"]) == 3


def _city_records(dataset, city):
    listings_ = [x for x in dataset["listings"] if x["address"]["city"] == city]
    sales = [s for s in dataset["sales"] if s["city"] == city]
    return listings_, sales


def test_market_analysis_agrees_with_a_direct_recomputation(analytics_db, dataset):
    city_listings, sales = _city_records(dataset, "Denver")
    open_ = [x for x in city_listings if x["status"] in ("active", "pending")]
    homes = [x for x in open_ if x["property_type"] != "land"]
    inventory = sum(1 for x in open_ if x["status"] == "active")
    last_12 = [s for s in sales if s["sold_on"] >= "2025-11-01"]
    recent = median(s["price"] for s in sales if s["sold_on"] >= "2026-08-01")
    year_ago = median(s["price"] for s in sales if "2025-08-01" <= s["sold_on"] < "2025-11-01")
    change = round((recent / year_ago - 1) * 100, 1)
    supply = inventory / (len(last_12) / 12)

    result = analytics.market_analysis(analytics_db, "denver", "Colorado")

    assert result == {
        "city": "Denver",
        "state": "CO",
        "median_price": round(median(x["price"] for x in homes)),
        "average_price": round(sum(x["price"] for x in homes) / len(homes)),
        "price_per_sqft": round(median(x["price"] / x["sqft"] for x in homes)),
        "inventory": inventory,
        "pending_count": len(open_) - inventory,
        "sold_count": len(last_12),
        "median_days_on_market": round(median(x["days_on_market"] for x in open_)),
        "price_change_12m_pct": change,
        "competition_level": "high" if supply < 2.5 else "low" if supply >= 4 else "moderate",
        "trend": "rising" if change >= 2 else "falling" if change <= -2 else "stable",
    }


def test_markets_differ_as_their_data_does(analytics_db):
    austin = analytics.market_analysis(analytics_db, "Austin")
    boston = analytics.market_analysis(analytics_db, "Boston", "MA")
    assert (austin["trend"], austin["competition_level"]) == ("falling", "low")
    assert (boston["trend"], boston["competition_level"]) == ("rising", "high")


@pytest.mark.parametrize("months", [1, 12, 36])
def test_price_trends_have_one_entry_per_month_oldest_first(analytics_db, dataset, months):
    result = analytics.price_trends(analytics_db, "Boise", "ID", months)
    labels = [point["month"] for point in result["series"]]
    assert len(labels) == result["months"] == months
    assert labels == sorted(labels) and labels[-1] == "2026-10"
    by_month = defaultdict(list)
    for sale in _city_records(dataset, "Boise")[1]:
        by_month[sale["sold_on"][:7]].append(sale["price"])
    for point in result["series"]:
        assert point["sales"] == len(by_month[point["month"]])
        assert point["median_price"] == round(median(by_month[point["month"]]))
    first, last = result["series"][0]["median_price"], result["series"][-1]["median_price"]
    assert result["change_pct"] == round((last / first - 1) * 100, 1)


def test_compare_markets_keeps_the_order_asked(analytics_db):
    result = analytics.compare_markets(analytics_db, ["Miami, FL", "boise", "Portland, Oregon"])
    assert [(m["city"], m["state"]) for m in result["markets"]] == [
        ("Miami", "FL"),
        ("Boise", "ID"),
        ("Portland", "OR"),
    ]


def test_listing_metrics_compute_rates_and_list_unknown_ids(analytics_db, dataset):
    engagement = {row["listing_id"]: row for row in dataset["engagement"]}
    result = analytics.listing_metrics(analytics_db, ["L100002", "l100001", "L999999"])
    assert [m["listing_id"] for m in result["metrics"]] == ["L100002", "L100001"]
    assert result["not_found"] == ["L999999"]
    for metric in result["metrics"]:
        row = engagement[metric["listing_id"]]
        assert metric["click_through_rate"] == round(row["page_views"] / row["impressions"], 4)
        assert metric["conversion_rate"] == round(row["inquiries"] / row["page_views"], 4)
        assert 0 <= metric["click_through_rate"] <= 1 and 0 <= metric["conversion_rate"] <= 1


def test_performance_report_picks_the_listing_with_most_inquiries(analytics_db):
    ids = [f"L{n}" for n in range(100001, 100021)]
    report = analytics.performance_report(analytics_db, ids)
    top = max(report["listings"], key=lambda row: row["inquiries"])
    assert report["top_performer"]["listing_id"] == top["listing_id"]
    assert report["totals"]["inquiries"] == sum(row["inquiries"] for row in report["listings"])
    assert {r["listing_id"] for r in report["recommendations"]} == set(ids)


def _listing(days: int, status: str = "active") -> AnalyticsListing:
    return AnalyticsListing(listing_id="L1", status=status, days_on_market=days)


def test_many_views_but_few_inquiries_recommends_reviewing_price_and_photos():
    stats = Engagement(impressions=20_000, page_views=2_000, saves=50, inquiries=5, showings=1)
    advice = analytics.recommendations_for(_listing(20), stats)
    assert len(advice) == 1 and "review the price and the photos" in advice[0]


def test_long_time_on_market_recommends_a_price_reduction():
    stats = Engagement(impressions=5_000, page_views=300, saves=20, inquiries=9, showings=3)
    advice = analytics.recommendations_for(_listing(120), stats)
    assert advice == ["On the market for 120 days: consider a price reduction."]


def test_healthy_listing_gets_no_corrective_advice():
    stats = Engagement(impressions=3_000, page_views=200, saves=20, inquiries=8, showings=3)
    assert analytics.recommendations_for(_listing(12), stats)[0].startswith("Performing well")


def test_mortgage_matches_the_known_amortisation_value():
    result = estimate(500_000, 20, 6.5, 30)
    assert result["down_payment"] == 100_000 and result["loan_amount"] == 400_000
    assert result["monthly_payment"] == 2528.27
    assert result["total_interest"] == pytest.approx(result["total_paid"] - 400_000)


@given(
    price=st.floats(10_000, 5_000_000),
    down=st.floats(0, 99),
    rate=st.floats(0.1, 15),
    years=st.integers(1, 40),
)
def test_mortgage_payment_is_the_standard_formula(price, down, rate, years):
    result = estimate(price, down, rate, years)
    r, n = rate / 1200, years * 12
    expected = result["loan_amount"] * r * (1 + r) ** n / ((1 + r) ** n - 1)
    assert result["monthly_payment"] == pytest.approx(expected, abs=0.006)


def test_mortgage_at_zero_rate_repays_only_the_loan():
    result = estimate(360_000, 0, 0, 30)
    assert result["monthly_payment"] == 1000 and result["total_interest"] == 0


def test_mortgage_tool_defaults_to_the_configured_rate(analytics_app):
    with analytics_app.app_context():
        result = analytics_tools.get("estimate_mortgage").call({"price": 500_000})
    expected = estimate(500_000, 20, DEFAULT_RATE_PCT, 30)
    assert result.structured_content["annual_rate_pct"] == DEFAULT_RATE_PCT
    assert result.structured_content["monthly_payment"] == expected["monthly_payment"]


def test_report_without_smtp_writes_a_parseable_eml_to_the_outbox(listings_app, tmp_path):
    with listings_app.app_context():
        result = listings_tools.get("send_listing_report").call(
            {"listing_ids": ["L100006", "L100001"], "recipient_email": "buyer@example.com"}
        )
    receipt = result.structured_content
    assert not result.is_error and receipt["delivered_via"] == "outbox"
    assert receipt["listing_count"] == 2 and receipt["recipient"] == "buyer@example.com"
    path = tmp_path / "outbox" / f"{receipt['report_id']}.eml"
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "buyer@example.com"
    body = message.get_body(("plain",)).get_content()
    assert "L100006: $630,000" in body and "5155 Aspen Ave, Portland, OR 97222" in body
    assert "2 bd / 1.5 ba, 1,410 sqft" in body


def test_report_with_unknown_listing_is_an_error_and_sends_nothing(listings_app, tmp_path):
    with listings_app.app_context():
        result = listings_tools.get("send_listing_report").call(
            {"listing_ids": ["L100006", "L000000"], "recipient_email": "buyer@example.com"}
        )
    assert result.is_error and "L000000" in result.content[0].text
    assert not (tmp_path / "outbox").exists()


class _Inbox:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def test_report_with_smtp_url_reaches_the_smtp_server(listings_db, smtp_server, tmp_path):
    inbox, url = smtp_server
    found, _ = listings.get_listings(listings_db, ["L100006"])
    settings_ = ReportSettings(smtp_url=url, outbox_dir=tmp_path / "outbox")
    receipt = send_report(found, "agent@example.com", settings_)
    assert receipt["delivered_via"] == "smtp"
    (envelope,) = inbox.envelopes
    assert envelope.rcpt_tos == ["agent@example.com"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert message["X-Report-Id"] == receipt["report_id"]
    assert "5155 Aspen Ave" in message.get_body(("plain",)).get_content()
    assert not (tmp_path / "outbox").exists()


def test_report_to_an_unreachable_smtp_server_is_a_tool_error(listings_db, tmp_path):
    found, _ = listings.get_listings(listings_db, ["L100006"])
    settings_ = ReportSettings(smtp_url=f"smtp://127.0.0.1:{_free_port()}", timeout=2)
    with pytest.raises(ToolError, match="could not be sent"):
        send_report(found, "agent@example.com", settings_)


_big_numbers = st.sampled_from([1e30, -1e30, 1e308, 2**63, -(2**63) - 1, 10**40, 0.5, -1])
_argument_values = (
    _big_numbers
    | st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["Portland", "Boise, ID", "L100001", "a@example.com", "\u0000"])
)
_TOOLS = [("listings", tool.name) for tool in listings_tools]
_TOOLS += [("analytics", tool.name) for tool in analytics_tools]


@pytest.mark.parametrize(("service", "name"), _TOOLS, ids=[name for _, name in _TOOLS])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_generated_arguments_make_a_tool_fail_unexpectedly(
    listings_app, analytics_app, service, name, data
):
    """Bad arguments are named in the error, never "failed unexpectedly" (offset 2**63 was)."""
    app = listings_app if service == "listings" else analytics_app
    tool = (listings_tools if service == "listings" else analytics_tools).get(name)
    names = sorted(tool.definition().input_schema.get("properties", {}))
    # One hostile value at a time: several would mostly stop at the first bad field.
    field = data.draw(st.sampled_from(names), label="field")
    value = data.draw(_argument_values | st.lists(_argument_values, max_size=4), label="value")
    arguments = {field: value}
    with app.app_context():
        result = tool.call(arguments)
    assert "failed unexpectedly" not in result.content[0].text, (name, arguments)
