"""The offline assistant's answers: figures from the tool results, tidy markdown, chunking."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.agent.offline.compose import chunk_text, compose_answer, offline_notice
from app.agent.offline.plan import plan_reply


def listing(listing_id: str, price: int, **extra: Any) -> dict[str, Any]:
    return {
        "listing_id": listing_id,
        "address": {"street": "12 Oak St", "city": "Portland", "state": "OR", "zip": "97201"},
        "price": price,
        "bedrooms": 3,
        "bathrooms": 2.5,
        "sqft": 1850,
        "property_type": "house",
        "status": "active",
        "year_built": 1998,
        "listed_at": "2026-09-14",
        "days_on_market": 12,
        "description": "Bright corner house near the park.",
        **extra,
    }


def market(
    city: str, state: str, median: int, days: int, change: float, level: str, trend: str
) -> dict[str, Any]:
    return {
        "city": city,
        "state": state,
        "median_price": median,
        "average_price": median + 21_000,
        "price_per_sqft": 412,
        "inventory": 120,
        "pending_count": 31,
        "sold_count": 480,
        "median_days_on_market": days,
        "price_change_12m_pct": change,
        "competition_level": level,
        "trend": trend,
    }


SEARCH_RESULT = {
    "total": 23,
    "listings": [listing(f"L1002{i}0", 600_000 + i * 1_000) for i in range(10)],
    "filters": {
        "city": "Portland",
        "state": "OR",
        "max_price": 700_000,
        "status": "active",
        "sort": "newest",
        "limit": 10,
        "offset": 0,
    },
}
MORTGAGE_RESULT = {
    "price": 650_000.0,
    "down_payment_pct": 10,
    "down_payment": 65_000.0,
    "loan_amount": 585_000.0,
    "annual_rate_pct": 6.0,
    "years": 15,
    "monthly_payment": 4936.61,
    "total_paid": 888_589.8,
    "total_interest": 303_589.8,
}


def answer(message: str, *results: Any, history: list[dict[str, str]] | None = None) -> str:
    return compose_answer(plan_reply(message, history or []), list(results))


def tables(text: str) -> list[list[str]]:
    """The markdown tables in `text`, each as its lines."""
    found: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found


def assert_well_formed(table: list[str]) -> None:
    """Header, a separator of --- cells, then rows, all with the same number of cells."""

    def cells(line: str) -> list[str]:
        assert line.startswith("|") and line.endswith("|"), line
        return re.split(r"(?<!\\)\|", line[1:-1])

    width = len(cells(table[0]))
    assert all(re.fullmatch(r"-{3,}:?", c) for c in cells(table[1])), table[1]
    assert len(table) >= 3
    for line in table:
        assert len(cells(line)) == width, line


def test_search_answer_gives_the_count_the_best_five_and_the_filters() -> None:
    text = answer("homes in Portland under 700k", SEARCH_RESULT)
    assert "**23**" in text
    assert "in Portland, OR under $700,000" in text
    [table] = tables(text)
    assert_well_formed(table)
    assert len(table) == 2 + 5
    assert "| $600,000 | 3 bd / 2.5 ba | 1,850 | 12 Oak St, Portland, OR 97201 | L100200 |" in text
    assert "L100250" not in text
    assert "narrow" in text and "show me more" in text


def test_search_answer_shows_as_many_as_asked() -> None:
    text = answer("show me 8 homes in Portland", SEARCH_RESULT)
    assert len(tables(text)[0]) == 2 + 8


def test_an_empty_search_suggests_how_to_widen_it() -> None:
    text = answer("4 bed condos in Boise under 300k", {"total": 0, "listings": [], "filters": {}})
    assert "**no** condos for sale in Boise, ID under $300,000 with 4+ bedrooms" in text
    assert "under $350,000" in text and "3 bedrooms" in text
    assert not tables(text)


def test_unsupported_filters_are_mentioned_in_the_answer() -> None:
    text = answer("3 bed house in Portland, pet friendly", SEARCH_RESULT)
    assert "Not applied: filtering by pet policies" in text


def test_market_answer_has_the_figures_and_their_meaning() -> None:
    text = answer(
        "how is the Portland market?", market("Portland", "OR", 585_000, 21, 3.4, "high", "rising")
    )
    for figure in ("$585,000", "$606,000", "$412", "120", "31", "480", "21", "+3.4%"):
        assert figure in text
    assert "Competition is **high**" in text and "Prices are **rising**" in text
    assert "about 3.0 months" in text


def test_trend_answer_has_the_change_the_ends_and_at_most_twelve_rows() -> None:
    series = [
        {"month": f"2025-{m:02d}", "median_price": 500_000 + m * 1_000, "sales": 40}
        for m in range(1, 13)
    ]
    series += [
        {"month": f"2026-{m:02d}", "median_price": 520_000 + m * 1_000, "sales": 41}
        for m in range(1, 7)
    ]
    result = {"city": "Denver", "state": "CO", "months": 18, "series": series, "change_pct": 4.1}
    text = answer("price trends in Denver over the last 18 months", result)
    assert "rose **4.1%** over the last 18 months" in text
    assert "from $501,000 (2025-01) to $526,000 (2026-06)" in text
    [table] = tables(text)
    assert_well_formed(table)
    assert len(table) == 2 + 12
    assert "| 2025-01 |" in table[2] and "| 2026-06 |" in table[-1]


def test_comparison_is_a_table_with_a_row_per_city_in_order() -> None:
    result = {
        "markets": [
            market("Portland", "OR", 585_000, 21, 3.4, "high", "rising"),
            market("Boise", "ID", 480_000, 35, -1.2, "low", "falling"),
        ]
    }
    text = answer("compare Portland and Boise", result)
    [table] = tables(text)
    assert_well_formed(table)
    assert table[2].startswith("| Portland, OR | $585,000 |")
    assert table[3].startswith("| Boise, ID | $480,000 |")
    assert "Cheapest: **Boise**" in text
    assert "Fastest-selling: **Portland**" in text


def test_which_of_those_is_cheapest_leads_with_the_tools_pick() -> None:
    result = {
        "markets": [
            market("Portland", "OR", 585_000, 21, 3.4, "high", "rising"),
            market("Boise", "ID", 480_000, 35, -1.2, "low", "falling"),
        ],
        "cheapest": "Boise",
        "fastest_growing": "Portland",
        "most_competitive": "Portland",
    }
    history = [
        {"role": "user", "content": "compare Portland and Boise"},
        {"role": "assistant", "content": "..."},
    ]
    text = answer("which of those is the cheapest?", result, history=history)
    assert text.startswith("**Boise** is the cheapest of these markets: median $480,000.")


def test_mortgage_answer_shows_every_assumption_and_the_totals() -> None:
    text = answer(
        "monthly payment on a $650k house with 10% down at 6% for 15 years", MORTGAGE_RESULT
    )
    for figure in (
        "$4,936.61",
        "$650,000",
        "10% = $65,000",
        "$585,000",
        "6% a year",
        "15 years",
        "$888,590",
        "$303,590",
    ):
        assert figure in text
    assert "(default)" not in text
    assert_well_formed(tables(text)[0])


def test_mortgage_answer_marks_the_defaulted_figures() -> None:
    result = MORTGAGE_RESULT | {"down_payment_pct": 20, "annual_rate_pct": 6.5, "years": 30}
    text = answer("mortgage on 650k", result)
    assert "20% (default)" in text and "(the default rate)" in text and "30 years (default)" in text


def test_a_mortgage_on_an_unpriced_listing_reports_its_price_on_the_id_line() -> None:
    text = answer("mortgage on L100999", listing("L100999", 615_000))
    first_line = text.splitlines()[0]
    assert "L100999" in first_line and "$615,000" in first_line


def test_metrics_answer_has_totals_and_the_leader() -> None:
    result = {
        "metrics": [
            {
                "listing_id": "L100234",
                "page_views": 1200,
                "saves": 80,
                "inquiries": 12,
                "days_on_market": 30,
                "click_through_rate": 0.042,
                "conversion_rate": 0.01,
            },
            {
                "listing_id": "L100345",
                "page_views": 300,
                "saves": 10,
                "inquiries": 1,
                "days_on_market": 90,
                "click_through_rate": 0.02,
                "conversion_rate": 0.0033,
            },
        ],
        "not_found": ["L100999"],
    }
    text = answer("metrics for L100234, L100345 and L100999", result)
    assert "1,500 page views and 13 inquiries" in text
    assert "Most inquiries: **L100234** (12)" in text
    assert "4.2%" in text and "Not found: L100999" in text
    assert_well_formed(tables(text)[0])


def test_performance_answer_has_totals_top_performer_and_recommendations() -> None:
    result = {
        "listing_count": 2,
        "totals": {"page_views": 1500, "saves": 90, "inquiries": 13},
        "top_performer": {
            "listing_id": "L100234",
            "address": "12 Oak St, Portland, OR 97201",
            "page_views": 1200,
            "inquiries": 12,
            "conversion_rate": 0.01,
        },
        "listings": [
            {
                "listing_id": "L100234",
                "page_views": 1200,
                "saves": 80,
                "inquiries": 12,
                "conversion_rate": 0.01,
                "days_on_market": 30,
            },
            {
                "listing_id": "L100345",
                "page_views": 300,
                "saves": 10,
                "inquiries": 1,
                "conversion_rate": 0.0033,
                "days_on_market": 90,
            },
        ],
        "recommendations": [
            {"listing_id": "L100345", "recommendation": "Long time on market: review the price."}
        ],
        "not_found": [],
    }
    text = answer("how are L100234 and L100345 performing?", result)
    assert "1,500 page views, 90 saves and 13 inquiries" in text
    assert "Top performer: **L100234** (12 Oak St, Portland, OR 97201)" in text
    assert "- **L100345**: Long time on market: review the price." in text
    assert_well_formed(tables(text)[0])


@pytest.mark.parametrize(("via", "phrase"), [("smtp", "Sent a report"), ("outbox", "outbox")])
def test_report_answer_says_where_it_went(via: str, phrase: str) -> None:
    sent = {
        "report_id": "rpt_1",
        "recipient": "jane@example.com",
        "listing_count": 2,
        "delivered_via": via,
    }
    text = answer("email a report of L100234 and L100345 to jane@example.com", sent)
    assert phrase in text and "jane@example.com" in text and "rpt_1" in text


def test_listing_details_put_price_and_id_on_one_line() -> None:
    text = answer("tell me about L100234", listing("L100234", 650_000))
    assert "**L100234** · **$650,000** · 3 bd / 2.5 ba · 1,850 sq ft" in text.splitlines()[0]
    assert "Bright corner house" in text and "$351" in text


def test_a_failed_tool_is_explained_with_what_to_try() -> None:
    text = answer("tell me about L100999", "listing not found")
    assert "couldn't find listing L100999" in text and "search first" in text
    market_error = answer("how is the Portland market?", "unknown city 'X'; cities are: ...")
    assert "unknown city" in market_error and "cities I cover" in market_error


def test_an_unparseable_request_gets_the_capabilities_and_examples() -> None:
    text = answer("blah blah")
    assert "I'm not sure how to help with that" in text
    assert "*compare Portland, Seattle and Boise*" in text
    assert "mortgage" in text


def test_an_unknown_city_is_named_with_the_nearest_cities_that_have_data() -> None:
    text = answer("homes in Las Vegas")
    assert text.startswith("I don't have data for **Las Vegas**.")
    assert "**Los Angeles, CA** (about 230 mi)" in text and "**Phoenix, AZ**" in text


def test_a_place_nobody_knows_lists_the_cities_with_data() -> None:
    text = answer("homes in Springfield")
    assert "I don't have data for **Springfield**" in text and "Boise (ID)" in text


def test_the_notice_is_present_only_when_asked() -> None:
    plan = plan_reply("hi", [])
    assert offline_notice() not in compose_answer(plan, [])
    with_notice = compose_answer(plan, [], include_notice=True)
    assert with_notice.startswith(offline_notice())


def test_the_notice_is_one_short_line_that_names_the_key_to_set() -> None:
    notice = offline_notice()
    assert "\n" not in notice and len(notice) <= 100
    assert "Offline assistant" in notice and "OPENAI_API_KEY" in notice


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "one",
        "  leading and trailing  ",
        "line one\n\n| a | b |\n|---|---|\n",
        "tabs\tand\r\nwindows lines",
        "I found **23** homes for sale in Portland, OR.",
    ],
)
def test_chunks_join_back_to_the_text_exactly(text: str) -> None:
    assert "".join(chunk_text(text)) == text


def test_chunks_are_a_few_words_each() -> None:
    text = answer("homes in Portland under 700k", SEARCH_RESULT)
    chunks = list(chunk_text(text))
    assert len(chunks) > 10
    assert all(len(chunk.split()) <= 3 for chunk in chunks)
