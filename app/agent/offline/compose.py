"""Writing the offline assistant's answers: markdown built from a `Plan` and the tools' results.

Every figure in an answer comes from a tool's structured result (the shapes in INTERFACES.md);
this module only formats and explains them, so the offline assistant never states a number
it did not get from the data. A failed tool arrives as its error text and is explained with
what to try instead. Each answer lists what was assumed or left out, so nothing is silently
guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from app.agent.offline import vocabulary as vocab
from app.agent.offline.places import nearest_places
from app.agent.offline.plan import SHOWN_BY_DEFAULT, Plan, ToolCall

Result = dict[str, Any] | str

MAX_TREND_ROWS = 12
CHUNK_WORDS = 3
DEFAULT_RATE_NOTE = "the default rate"

EXAMPLES = (
    "3 bedroom homes in Portland under $700k",
    "condos in Seattle between 400k and 600k, cheapest first",
    "how is the Austin market?",
    "price trends in Denver over the last 6 months",
    "compare Portland, Seattle and Boise",
    "monthly payment on a $650k house with 10% down at 6% for 30 years",
    "I make $120k, what can I afford in Boise?",
    "tell me about L100234",
    "how are L100234 and L100345 performing?",
    "email a report of L100234 to jane@example.com",
)


# ---------------------------------------------------------------------------------------------
# Formatting helpers


def money(amount: float | None) -> str:
    """$650,000 for whole dollars, $4,936.61 when there are cents; "n/a" for None."""
    if amount is None:
        return "n/a"
    if float(amount).is_integer() or abs(amount) >= 100_000:
        return f"${round(amount):,}"
    return f"${amount:,.2f}"


def percent(value: float | None, signed: bool = False) -> str:
    """3.4% (or +3.4% when `signed`), one decimal at most."""
    if value is None:
        return "n/a"
    text = f"{value:+.1f}%" if signed else f"{value:.1f}%"
    return text.replace(".0%", "%")


def ratio(value: float | None) -> str:
    """A 0..1 rate as a percentage with one decimal: 0.0234 -> 2.3%."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


def number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,}" if float(value).is_integer() else f"{value:,.1f}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ").strip()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int]) -> str:
    """A markdown table; columns whose index is in `numeric` are right-aligned."""
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |"]
    lines.append(
        "|" + "|".join("---:" if i in numeric else "---" for i in range(len(headers))) + "|"
    )
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _rooms(listing: dict[str, Any]) -> str:
    if listing.get("property_type") == "land":
        return "land"
    return f"{listing.get('bedrooms', '?')} bd / {number(listing.get('bathrooms'))} ba"


def _address(listing: dict[str, Any]) -> str:
    address = listing.get("address") or {}
    if isinstance(address, str):
        return address
    street = address.get("street", "")
    place = ", ".join(p for p in (address.get("city"), address.get("state")) if p)
    return ", ".join(p for p in (street, f"{place} {address.get('zip', '')}".strip()) if p)


def _type_words(property_type: str | None, plural: bool = True) -> str:
    if not property_type:
        return "homes" if plural else "home"
    singular, many = vocab.PROPERTY_TYPE_LABELS.get(property_type, (property_type, property_type))
    return many if plural else singular


def _join(items: Sequence[str], last: str = "and") -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _place_of(filters: dict[str, Any]) -> str:
    if filters.get("cities"):
        return _join([str(c) for c in filters["cities"]], "or")
    if filters.get("city"):
        state = filters.get("state")
        return f"{filters['city']}, {state}" if state else filters["city"]
    if filters.get("state"):
        state = filters["state"]
        return vocab.STATES.get(state.upper(), state) if isinstance(state, str) else str(state)
    return ""


def _types_of(filters: dict[str, Any], plural: bool) -> str:
    asked = filters.get("property_types") or []
    if filters.get("property_type"):
        asked = [filters["property_type"]]
    dwellings = ["house", "condo", "townhouse", "multi_family"]
    if not asked or sorted(asked) == sorted(dwellings):
        words = "homes" if plural else "home"
    else:
        words = _join([_type_words(t, plural) for t in asked], "or")
    excluded = filters.get("exclude_types") or []
    if excluded:
        words += " (no " + _join([_type_words(t) for t in excluded], "or") + ")"
    return words


def _range(low: Any, high: Any, unit: str, show: Callable[[Any], str] = str) -> str:
    if low is not None and high is not None:
        return f"{show(low)} {unit}" if low == high else f"{show(low)}–{show(high)} {unit}"
    if low is not None:
        return f"{show(low)}+ {unit}"
    return f"at most {show(high)} {unit}" if high is not None else ""


def describe_filters(filters: dict[str, Any], plural: bool = True) -> str:
    """The search in words: "condos for sale in Portland, OR under $700,000 with 3+ bedrooms"."""
    status = filters.get("status", "active")
    words = {"active": "for sale", "pending": "pending", "sold": "sold"}.get(status, status)
    parts = [f"{_types_of(filters, plural)} {words}"]
    place = _place_of(filters)
    if filters.get("zip_codes"):
        zips = _join(list(filters["zip_codes"]), "or")
        parts.append(f"in ZIP {zips}" + (f" ({place})" if place else ""))
    else:
        parts.append(f"in {place}" if place else f"in all {len(vocab.CITIES)} cities")
    low, high = filters.get("min_price"), filters.get("max_price")
    if low is not None and high is not None:
        parts.append(f"priced {money(low)}–{money(high)}")
    elif high is not None:
        parts.append(f"under {money(high)}")
    elif low is not None:
        parts.append(f"over {money(low)}")
    extras = [
        _range(filters.get("min_bedrooms"), filters.get("max_bedrooms"), "bedrooms"),
        _range(filters.get("min_bathrooms"), filters.get("max_bathrooms"), "bathrooms", number),
        _range(filters.get("min_sqft"), filters.get("max_sqft"), "sq ft", lambda v: f"{v:,}"),
    ]
    first_year, last_year = filters.get("min_year_built"), filters.get("max_year_built")
    if first_year and last_year:
        extras.append(f"built {first_year}–{last_year}")
    elif first_year:
        extras.append(f"built {first_year} or later")
    elif last_year:
        extras.append(f"built {last_year} or earlier")
    if filters.get("keywords"):
        extras.append(_join([f"“{word}”" for word in filters["keywords"]]) + " in the description")
    extras = [e for e in extras if e]
    if extras:
        parts.append("with " + _join(extras))
    if filters.get("listed_within_days") is not None:
        parts.append(f"listed in the last {filters['listed_within_days']} days")
    return " ".join(parts)


def _next(*suggestions: str) -> str:
    """The answer's last line: what the user can ask next ("ask *a*, *b* or *c*")."""
    return f"\n\n_Next you can ask {_join([s for s in suggestions if s], 'or')}._"


def _notes(plan: Plan) -> str:
    lines = []
    if plan.assumptions:
        lines.append(f"_Assumed: {'; '.join(plan.assumptions)}._")
    if plan.not_understood:
        lines.append(f"_Not applied: {'; '.join(plan.not_understood)}._")
    return "\n".join(lines)


def _with_notes(plan: Plan, body: str) -> str:
    notes = _notes(plan)
    return f"{body}\n\n{notes}" if notes else body


# ---------------------------------------------------------------------------------------------
# Errors and missing information


def explain_error(call: ToolCall, error: str) -> str:
    """A failed tool call explained plainly, with what to try next."""
    lowered = error.lower()
    if "not found" in lowered and call.name in {"get_listing", "send_listing_report"}:
        ids = call.arguments.get("listing_id") or ", ".join(call.arguments.get("listing_ids", []))
        return (
            f"I couldn't find listing {ids}: {error}. Listing ids look like `L100234`; "
            "search first (e.g. *homes in Portland*) and use an id from the results."
        )
    if "not found" in lowered and "listing_ids" in call.arguments:
        return (
            f"None of those listings were found ({error}). Check the ids, which look like "
            "`L100234`, or search first and ask about *these*."
        )
    if "city" in lowered or "cities" in lowered or "market" in lowered:
        return (
            f"I don't have market data for that place: {error}. "
            f"Try one of the {len(vocab.CITIES)} cities I cover, e.g. *how is the Boise market?*"
        )
    return (
        f"The `{call.name}` tool didn't answer: {error}. Please try again in a moment; "
        "if it keeps failing, the data service may be down."
    )


def _city_list() -> str:
    return "; ".join(f"{city} ({state})" for city, state in vocab.CITIES)


def compose_missing(plan: Plan) -> str:
    """Ask for what the request lacked, with an example of how to say it."""
    if plan.missing == "city":
        unknown = [u for u in plan.not_understood if u]
        lead = (
            f"I don't have data for **{unknown[0]}**."
            if unknown and plan.intent in {"search", "market", "trends", "affordability"}
            else "Which city do you mean?"
        )
        nearest = nearest_places(unknown[0]) if unknown else []
        if nearest:
            near = _join([f"**{place.label}** (about {miles:,} mi)" for place, miles in nearest])
            example = f"homes in {nearest[0][0].city}"
            return (
                f"{lead} The nearest places I have data for are {near}.\n\n"
                f"Next you can ask, for example: *{example}* or *how is the "
                f"{nearest[0][0].city} market?*"
            )
        example = {
            "search": "homes in Boise under 500k",
            "trends": "price trends in Denver over the last year",
        }.get(plan.intent, "how is the Austin market?")
        return (
            f"{lead} I cover these {len(vocab.CITIES)} cities: {_city_list()}.\n\n"
            f"Try, for example: *{example}*"
        )
    if plan.missing == "income":
        return (
            "To say what you can afford I need your **income**, e.g. *I make $120k a year, what "
            "can I afford in Boise?* Monthly debts, savings for a down payment, a rate and a term "
            "are optional (I assume no debts, 20% down, the configured rate and 30 years)."
        )
    if plan.missing == "cities":
        return (
            "Which markets should I compare? Name 2 to 5 cities, e.g. "
            "*compare Portland, Seattle and Boise*."
        )
    if plan.missing == "price":
        return (
            "What price should I use? For example: *monthly payment on a $650k house with 10% "
            "down at 6% for 30 years* (down payment, rate and term are optional: I default to "
            "20% down, the configured rate and 30 years)."
        )
    if plan.missing == "listing_ids":
        return (
            "Which listings? Give their ids (like `L100234`), or search first, e.g. *homes in "
            "Portland*, and then ask about *these* or *the first one*."
        )
    if plan.missing == "email":
        ids = ", ".join(plan.listing_ids) or "L100234"
        return (
            f"Where should I send it? Add an email address, e.g. *email a report of {ids} to "
            "jane@example.com*."
        )
    return compose_help(plan)


# ---------------------------------------------------------------------------------------------
# One writer per intent


def compose_help(plan: Plan | None = None) -> str:
    """What the offline assistant can do, with example questions to copy."""
    lead = "Here's what I can help with:"
    if plan is not None and plan.intent == "unknown":
        lead = "I'm not sure how to help with that. Here's what I can do:"
    capabilities = (
        "**find homes** in one or several cities or a state, by price, bedrooms, bathrooms, "
        "size, type, zip code, year built, how recently listed and features (a garage, a yard)",
        "**listing details** by id",
        "**market analysis** of a city, **price trends** over a period, **comparisons** of "
        "2–5 cities",
        "**mortgage estimates** (price, down payment, rate, term) and **what you can afford** "
        "on an income",
        "**listing metrics** and **performance reports**, and **emailing a listing report**",
    )
    examples = "\n".join(f"- *{e}*" for e in EXAMPLES)
    return (
        f"{lead}\n\n"
        + "\n".join(f"- {c}" for c in capabilities)
        + f"\n\nTry, for example:\n{examples}\n\n"
        f"I know {len(vocab.CITIES)} cities, from Portland, Seattle and Boise to Austin, "
        "Chicago, Boston, New York and Miami."
    )


def compose_greeting(plan: Plan) -> str:
    if plan.intent == "thanks":
        return "You're welcome! Ask me anything else about homes, markets or mortgages."
    return (
        "Hi! I can find homes, look up listings, analyse markets and trends, compare cities, "
        "estimate mortgages and report on listing performance. For example: "
        f"*{EXAMPLES[0]}* or *{EXAMPLES[2]}*"
    )


def _shown_count(plan: Plan, available: int) -> int:
    wanted = plan.filters.get("limit") or SHOWN_BY_DEFAULT
    return min(wanted, available)


def _narrow_hints(filters: dict[str, Any], listings: list[dict[str, Any]]) -> list[str]:
    hints = []
    if filters.get("max_price") is None and listings:
        prices = sorted(item["price"] for item in listings if item.get("price"))
        if prices:
            hints.append(f"a budget (*under {money(_round_price(prices[len(prices) // 2]))}*)")
    if filters.get("min_bedrooms") is None:
        hints.append("a bedroom count (*at least 3 bedrooms*)")
    if not filters.get("property_type"):
        hints.append("a type (*only condos*)")
    if not filters.get("city"):
        hints.append("a city (*in Portland*)")
    return hints[:3]


def _round_price(amount: float) -> int:
    step = 50_000 if amount >= 500_000 else 25_000
    return max(step, round(amount / step) * step)


def _widen_hints(filters: dict[str, Any]) -> list[str]:
    hints = []
    if filters.get("max_price") is not None:
        hints.append(f"a higher budget (*under {money(_round_price(filters['max_price'] * 1.2))}*)")
    if (filters.get("min_bedrooms") or 0) > 1:
        hints.append(f"fewer bedrooms (*{filters['min_bedrooms'] - 1} bedrooms*)")
    if filters.get("property_type"):
        hints.append("any property type (*all types*)")
    if filters.get("min_sqft") or filters.get("max_sqft"):
        hints.append("a different size")
    if filters.get("min_bathrooms"):
        hints.append("fewer bathrooms")
    if filters.get("city"):
        state = filters.get("state")
        hints.append(f"the whole state (*in {vocab.STATES.get(state, state)}*)" if state else "")
    return [h for h in hints if h][:3]


def compose_search(plan: Plan, result: dict[str, Any]) -> str:
    """The count found, the best few as a table, the filters restated and how to adjust them."""
    filters = plan.filters | dict(result.get("filters") or {})
    listings = list(result.get("listings") or [])
    total = int(result.get("total", len(listings)))
    described = describe_filters(filters)
    offset = filters.get("offset") or 0
    if total == 0 or not listings:
        widen = _widen_hints(filters)
        tip = f" Try {_join(widen, 'or')}." if widen else " Try another city or a wider budget."
        if offset:
            return _with_notes(plan, f"That's all: there are no more {described}.")
        return _with_notes(plan, f"I found **no** {described}.{tip}")
    shown = listings[: _shown_count(plan, len(listings))]
    sort = filters.get("sort", "newest")
    first = offset + 1
    heading = f"I found **{total:,}** {describe_filters(filters, plural=total != 1)}."
    if total > len(shown):
        heading += (
            f" Here are {len(shown)} ({vocab.SORT_LABELS.get(sort, sort)}, "
            f"results {first}–{first + len(shown) - 1}):"
        )
    rows = [
        [
            money(item.get("price")),
            _rooms(item),
            f"{item['sqft']:,}" if item.get("sqft") else "n/a",
            _address(item),
            item.get("listing_id", ""),
        ]
        for item in shown
    ]
    table = markdown_table(["Price", "Beds / baths", "Sq ft", "Address", "ID"], rows, {0, 2})
    advice = []
    if total > len(shown) + offset:
        narrow = _narrow_hints(filters, listings)
        if narrow:
            advice.append(f"To narrow it down, add {_join(narrow, 'or')}.")
    else:
        widen = _widen_hints(filters)
        if widen:
            advice.append(f"To see more, try {_join(widen, 'or')}.")
    more = ["*show me more*"] if total > len(shown) + offset else []
    next_line = _next(
        *more,
        f"*tell me about {shown[0].get('listing_id', 'L100234')}*",
        "*email these to you@example.com*",
    )
    return _with_notes(plan, f"{heading}\n\n{table}\n\n{' '.join(advice)}{next_line}")


def compose_listing(plan: Plan, listing: dict[str, Any]) -> str:
    """One listing's details, price and id on the first line (later turns read them back)."""
    listing_id = listing.get("listing_id", "")
    price = listing.get("price")
    sqft = listing.get("sqft")
    head = (
        f"**{listing_id}** · **{money(price)}** · {_rooms(listing)} · "
        f"{f'{sqft:,} sq ft' if sqft else 'size n/a'} · {_address(listing)}"
    )
    facts = [
        f"Type: {_type_words(listing.get('property_type'), plural=False)}; status: "
        f"{listing.get('status', 'n/a')}",
    ]
    if listing.get("year_built"):
        facts.append(f"Built: {listing['year_built']}")
    if listing.get("listed_at"):
        facts.append(
            f"Listed: {listing['listed_at']} ({listing.get('days_on_market', '?')} days on market)"
        )
    if price and sqft:
        facts.append(f"Price per sq ft: {money(round(price / sqft))}")
    body = head + "\n\n" + "\n".join(f"- {fact}" for fact in facts)
    if listing.get("description"):
        body += f"\n\n> {listing['description'].strip()}"
    return body


def _compose_details(plan: Plan, results: Sequence[Result]) -> str:
    parts = []
    for call, result in zip(plan.calls, results, strict=False):
        if isinstance(result, str):
            parts.append(explain_error(call, result))
        else:
            parts.append(compose_listing(plan, result))
    found = [r for r in results if isinstance(r, dict)]
    if found:
        city = (found[0].get("address") or {}).get("city")
        hint = f"*monthly payment on {found[0].get('listing_id')}*"
        if city:
            hint += f", *how is the {city} market?*"
        parts.append(f"You can ask {hint} or *how is it performing?*")
    return _with_notes(plan, "\n\n".join(parts))


def _competition_meaning(level: str, days: float | None) -> str:
    speed = f" (median {number(days)} days on market)" if days is not None else ""
    return {
        "high": f"Competition is **high**{speed}: homes sell quickly, so buyers should be "
        "ready to move fast and may face competing offers.",
        "moderate": f"Competition is **moderate**{speed}: a balanced market, with time to "
        "compare but not to wait long on the good ones.",
        "low": f"Competition is **low**{speed}: buyers have choice and room to negotiate.",
    }.get(level, f"Competition: {level}{speed}.")


def _trend_meaning(trend: str, change: float | None) -> str:
    change_text = f" ({percent(change, signed=True)} over 12 months)" if change is not None else ""
    return {
        "rising": f"Prices are **rising**{change_text}: waiting is likely to cost more.",
        "stable": f"Prices are **stable**{change_text}.",
        "falling": f"Prices are **falling**{change_text}: buyers may find more room on price.",
    }.get(trend, f"Trend: {trend}{change_text}.")


def _supply_months(market: dict[str, Any]) -> float | None:
    sold = market.get("sold_count") or 0
    inventory = market.get("inventory")
    if not sold or inventory is None:
        return None
    return round(inventory / (sold / 12), 1)


def compose_market(plan: Plan, market: dict[str, Any]) -> str:
    """A city's figures and what they mean for a buyer."""
    place = f"{market.get('city')}, {market.get('state')}"
    figures = [
        f"Median price: **{money(market.get('median_price'))}** "
        f"(average {money(market.get('average_price'))})",
        f"Price per sq ft: {money(market.get('price_per_sqft'))}",
        f"For sale now: {number(market.get('inventory'))} (pending: "
        f"{number(market.get('pending_count'))})",
        f"Sold in the last 12 months: {number(market.get('sold_count'))}",
        f"Median days on market: {number(market.get('median_days_on_market'))}",
        f"12-month price change: **{percent(market.get('price_change_12m_pct'), signed=True)}**",
    ]
    supply = _supply_months(market)
    meaning = [
        _competition_meaning(
            market.get("competition_level", "n/a"), market.get("median_days_on_market")
        ),
        _trend_meaning(market.get("trend", "n/a"), market.get("price_change_12m_pct")),
    ]
    if supply is not None:
        meaning.append(
            f"At the past year's pace of sales, today's listings would last about {supply} "
            "months (under 4 favours sellers, over 6 favours buyers)."
        )
    city = market.get("city")
    lead = (
        f"**{place}**: the median asking price is **{money(market.get('median_price'))}** "
        f"({money(market.get('price_per_sqft'))} per sq ft), "
        f"{percent(market.get('price_change_12m_pct'), signed=True)} over 12 months, and "
        f"competition is {market.get('competition_level', 'n/a')}."
    )
    if re.search(r"over ?priced|over ?valued|under ?valued|fairly priced|good deal", plan.text):
        lead += (
            " Whether that is *overpriced* is a judgement the data can't make, but these "
            "figures (and a comparison with nearby cities) are what it rests on."
        )
    body = (
        f"{lead}\n\n"
        + "\n".join(f"- {f}" for f in figures)
        + "\n\n"
        + " ".join(meaning)
        + _next(
            f"*price trends in {city} over the last 2 years*",
            f"*homes in {city} under {money(_round_price(market.get('median_price') or 500_000))}*",
            f"*compare {city} with another city*",
        )
    )
    return _with_notes(plan, body)


def _sample(series: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most `limit` evenly spaced points, always keeping the first and the last."""
    if len(series) <= limit:
        return series
    step = (len(series) - 1) / (limit - 1)
    return [series[round(i * step)] for i in range(limit)]


def compose_trends(plan: Plan, trends: dict[str, Any]) -> str:
    """The change over the period, its start and end, high and low, and the monthly points."""
    place = f"{trends.get('city')}, {trends.get('state')}"
    months = trends.get("months") or len(trends.get("series") or [])
    series = [p for p in trends.get("series") or [] if p.get("median_price") is not None]
    if not series:
        return _with_notes(plan, f"There were no recorded sales in {place} in that period.")
    change = trends.get("change_pct", 0.0)
    verb = "rose" if change > 0 else "fell" if change < 0 else "held steady"
    first, last = series[0], series[-1]
    amount = f" **{percent(abs(change))}**" if change else ""
    summary = (
        f"The median sale price in {place} {verb}{amount} over the last {months} months, "
        f"from {money(first['median_price'])} ({first['month']}) to "
        f"{money(last['median_price'])} ({last['month']})."
    )
    high = max(series, key=lambda p: p["median_price"])
    low = min(series, key=lambda p: p["median_price"])
    sales = sum(p.get("sales") or 0 for p in series)
    summary += (
        f" Highest: {money(high['median_price'])} in {high['month']}; lowest: "
        f"{money(low['median_price'])} in {low['month']}. {sales:,} sales in total."
    )
    points = _sample(series, MAX_TREND_ROWS)
    rows = [[p["month"], money(p["median_price"]), number(p.get("sales"))] for p in points]
    table = markdown_table(["Month", "Median price", "Sales"], rows, {1, 2})
    caption = (
        "" if len(points) == len(series) else f"\n\n_{len(points)} of {len(series)} months shown._"
    )
    return _with_notes(plan, f"{summary}\n\n{table}{caption}")


def compose_compare(plan: Plan, comparison: dict[str, Any]) -> str:
    """The markets side by side, then which is cheapest, fastest and growing most."""
    markets = list(comparison.get("markets") or [])
    if not markets:
        return _with_notes(plan, "I got no market figures back to compare.")
    rows = [
        [
            f"{m.get('city')}, {m.get('state')}",
            money(m.get("median_price")),
            money(m.get("price_per_sqft")),
            number(m.get("inventory")),
            number(m.get("median_days_on_market")),
            percent(m.get("price_change_12m_pct"), signed=True),
            m.get("competition_level", "n/a"),
            m.get("trend", "n/a"),
        ]
        for m in markets
    ]
    table = markdown_table(
        [
            "Market",
            "Median price",
            "$/sq ft",
            "For sale",
            "Days on market",
            "12-mo change",
            "Competition",
            "Trend",
        ],
        rows,
        {1, 2, 3, 4, 5},
    )

    def best(key: str, pick: Callable[..., Any]) -> dict[str, Any]:
        return pick((m for m in markets if m.get(key) is not None), key=lambda m: m[key])

    def named(city: str | None, key: str, pick: Callable[..., Any]) -> dict[str, Any]:
        return next((m for m in markets if m.get("city") == city), None) or best(key, pick)

    cheapest = named(comparison.get("cheapest"), "median_price", min)
    growth = named(comparison.get("fastest_growing"), "price_change_12m_pct", max)
    competitive = next(
        (m for m in markets if m.get("city") == comparison.get("most_competitive")), None
    )
    fastest = best("median_days_on_market", min)
    leads = {
        "cheapest": f"**{cheapest['city']}** is the cheapest of these markets: median "
        f"{money(cheapest['median_price'])}.",
        "fastest_growing": f"**{growth['city']}** is growing fastest: "
        f"{percent(growth['price_change_12m_pct'], signed=True)} over 12 months.",
        "most_competitive": f"**{(competitive or fastest)['city']}** is the most competitive: "
        f"{(competitive or fastest).get('competition_level', 'n/a')} competition, "
        f"{number((competitive or fastest).get('median_days_on_market'))} days on market.",
    }
    summary = (
        f"Cheapest: **{cheapest['city']}** (median {money(cheapest['median_price'])}). "
        f"Fastest growing: **{growth['city']}** "
        f"({percent(growth['price_change_12m_pct'], signed=True)} over 12 months). "
        f"Most competitive: **{(competitive or fastest)['city']}**. "
        f"Fastest-selling: **{fastest['city']}** ({number(fastest['median_days_on_market'])} "
        "days on market)."
    )
    lead = leads.get(plan.focus or "", summary)
    body = f"{lead}\n\n{table}" + ("" if lead == summary else f"\n\n{summary}")
    first = markets[0].get("city")
    next_line = _next(
        "*which of those is the cheapest?*",
        f"*homes in {cheapest['city']}*",
        f"*price trends in {first}*",
    )
    return _with_notes(plan, body + next_line)


def compose_mortgage(plan: Plan, estimate: dict[str, Any]) -> str:
    """The monthly payment with every assumption shown, and the totals over the term."""
    given = plan.mortgage
    down_note = "" if "down_payment_pct" in given else " (default)"
    rate_note = "" if "annual_rate_pct" in given else f" ({DEFAULT_RATE_NOTE})"
    years_note = "" if "years" in given else " (default)"
    body = (
        f"**{money(estimate.get('monthly_payment'))} a month** in principal and interest.\n\n"
        + markdown_table(
            ["Assumption", "Value"],
            [
                ["Price", money(estimate.get("price"))],
                [
                    "Down payment",
                    f"{percent(estimate.get('down_payment_pct'))}{down_note} = "
                    f"{money(estimate.get('down_payment'))}",
                ],
                ["Loan", money(estimate.get("loan_amount"))],
                ["Rate", f"{percent(estimate.get('annual_rate_pct'))} a year, fixed{rate_note}"],
                ["Term", f"{estimate.get('years')} years{years_note}"],
            ],
            {1},
        )
        + f"\n\nOver {estimate.get('years')} years you would pay "
        f"{money(estimate.get('total_paid'))} in total, of which "
        f"{money(estimate.get('total_interest'))} is interest."
        " Not included: property tax, insurance, HOA fees"
    )
    body += (
        ", and mortgage insurance, usually required below 20% down."
        if (estimate.get("down_payment_pct") or 0) < 20
        else "."
    )
    body += " Change any figure, e.g. *what about at 5.5%?* or *with 25% down*."
    return _with_notes(plan, body)


def _compose_mortgage_price(plan: Plan, listing: dict[str, Any]) -> str:
    """The listing's price, when it was not in the conversation, so the user can ask again."""
    price = money(listing.get("price"))
    listing_id = listing.get("listing_id", "")
    return (
        f"**{listing_id}** is listed at **{price}** ({_address(listing)}). "
        f"Ask *monthly payment on that house* and I'll estimate it with that price (20% down, "
        f"the default rate and 30 years unless you say otherwise), or give the figures "
        f"yourself, e.g. *payment on {price} with 10% down at 6%*."
    )


def compose_metrics(plan: Plan, metrics: dict[str, Any]) -> str:
    """Engagement per listing, totals and the listing with most inquiries."""
    rows = list(metrics.get("metrics") or [])
    missing = metrics.get("not_found") or []
    if not rows:
        return _with_notes(
            plan, f"I found no metrics for {', '.join(missing) or 'those listings'}."
        )
    table = markdown_table(
        [
            "Listing",
            "Page views",
            "Saves",
            "Inquiries",
            "Days on market",
            "Click-through",
            "Conversion",
        ],
        [
            [
                m.get("listing_id"),
                number(m.get("page_views")),
                number(m.get("saves")),
                number(m.get("inquiries")),
                number(m.get("days_on_market")),
                ratio(m.get("click_through_rate")),
                ratio(m.get("conversion_rate")),
            ]
            for m in rows
        ],
        {1, 2, 3, 4, 5, 6},
    )
    views = sum(m.get("page_views") or 0 for m in rows)
    inquiries = sum(m.get("inquiries") or 0 for m in rows)
    lead = max(rows, key=lambda m: (m.get("inquiries") or 0, m.get("page_views") or 0))
    summary = (
        f"{len(rows)} listing{'s' if len(rows) != 1 else ''}: {views:,} page views and "
        f"{inquiries:,} inquiries in total."
    )
    if len(rows) > 1:
        summary += f" Most inquiries: **{lead['listing_id']}** ({number(lead.get('inquiries'))})."
    body = f"{summary}\n\n{table}"
    if missing:
        body += f"\n\nNot found: {', '.join(missing)}."
    body += "\n\nFor recommendations, ask for a *performance report*."
    return _with_notes(plan, body)


def compose_performance(plan: Plan, report: dict[str, Any]) -> str:
    """Totals, the top performer, a table per listing and the recommendations."""
    totals = report.get("totals") or {}
    top = report.get("top_performer") or {}
    rows = list(report.get("listings") or [])
    count = report.get("listing_count", len(rows))
    parts = [
        f"**Performance of {count} listing{'s' if count != 1 else ''}:** "
        f"{number(totals.get('page_views'))} page views, {number(totals.get('saves'))} saves and "
        f"{number(totals.get('inquiries'))} inquiries in total."
    ]
    if top:
        parts.append(
            f"Top performer: **{top.get('listing_id')}** ({top.get('address', '')}) with "
            f"{number(top.get('inquiries'))} inquiries from {number(top.get('page_views'))} views "
            f"({ratio(top.get('conversion_rate'))} conversion)."
        )
    if rows:
        parts.append(
            markdown_table(
                ["Listing", "Page views", "Saves", "Inquiries", "Conversion", "Days on market"],
                [
                    [
                        r.get("listing_id"),
                        number(r.get("page_views")),
                        number(r.get("saves")),
                        number(r.get("inquiries")),
                        ratio(r.get("conversion_rate")),
                        number(r.get("days_on_market")),
                    ]
                    for r in rows
                ],
                {1, 2, 3, 4, 5},
            )
        )
    recommendations = report.get("recommendations") or []
    if recommendations:
        parts.append(
            "**Recommendations**\n\n"
            + "\n".join(
                f"- **{r.get('listing_id')}**: {r.get('recommendation')}" for r in recommendations
            )
        )
    else:
        parts.append("No recommendations: these listings are performing in line with the rest.")
    if report.get("not_found"):
        parts.append(f"Not found: {', '.join(report['not_found'])}.")
    return _with_notes(plan, "\n\n".join(parts))


def compose_report(plan: Plan, sent: dict[str, Any]) -> str:
    """Where the report went: by email, or into the outbox when no mail server is set up."""
    count = sent.get("listing_count", len(plan.listing_ids))
    what = f"a report of {count} listing{'s' if count != 1 else ''}"
    if plan.listing_ids:
        what += f" ({', '.join(plan.listing_ids)})"
    recipient = sent.get("recipient") or plan.recipient
    report_id = sent.get("report_id", "")
    if sent.get("delivered_via") == "outbox":
        body = (
            f"I prepared {what} for **{recipient}** (report `{report_id}`). No mail server is "
            "configured here, so it was saved to the outbox (`instance/outbox/`) instead of "
            "being emailed; set `SMTP_URL` to send reports for real."
        )
    else:
        body = f"Sent {what} to **{recipient}** (report `{report_id}`)."
    return _with_notes(plan, body)


def compose_affordability(plan: Plan, results: Sequence[Result]) -> str:
    """The price range an income affords, the monthly budget and the rule, then (when a place
    was named) how many homes there fit the budget, the top few of them."""
    estimate = results[0]
    if isinstance(estimate, str):
        return _with_notes(plan, explain_error(plan.calls[0], estimate))
    given = plan.finances
    assumed = []
    if "monthly_debts" not in given:
        assumed.append("no other monthly debts")
    if "down_payment" not in given and "down_payment_pct" not in given:
        assumed.append("20% down")
    if "annual_rate_pct" not in given:
        assumed.append(f"{number(estimate.get('annual_rate_pct'))}% ({DEFAULT_RATE_NOTE})")
    if "years" not in given:
        assumed.append("a 30-year term")
    if estimate.get("annual_income") is None:
        lead = (
            f"With {money(estimate.get('monthly_budget'))} a month for housing you can afford "
            f"about **{money(estimate.get('min_price'))}** (up to "
            f"**{money(estimate.get('max_price'))}**)."
        )
    else:
        lead = (
            f"On {money(estimate.get('annual_income'))} a year you can comfortably afford about "
            f"**{money(estimate.get('min_price'))}**, and stretch to "
            f"**{money(estimate.get('max_price'))}**."
        )
    details = [
        f"Monthly housing budget: **{money(estimate.get('monthly_budget'))}** comfortable, "
        f"{money(estimate.get('max_monthly_budget'))} at most (principal, interest, property "
        f"tax and insurance at {number(estimate.get('tax_insurance_pct'))}% a year)",
        f"Down payment: {money(estimate.get('down_payment'))}"
        + (
            f" ({number(estimate.get('down_payment_pct'))}%)"
            if estimate.get("down_payment_pct") is not None
            else ""
        ),
        f"Loan: {number(estimate.get('years'))} years at "
        f"{number(estimate.get('annual_rate_pct'))}%",
        f"Rule: {estimate.get('rule')}",
    ]
    body = lead + "\n\n" + "\n".join(f"- {d}" for d in details)
    if assumed:
        body += f"\n\n_Assumed: {', '.join(assumed)}._"
    place = plan.places[0] if plan.places else None
    search = results[1] if len(results) > 1 else None
    if isinstance(search, dict):
        listings = list(search.get("listings") or [])
        found = int(search.get("total", 0))
        filters = dict(search.get("filters") or {})
        body += (
            f"\n\nIn {_place_of(filters) or place} there are **{found:,}** "
            f"{_types_of(filters, found != 1)} for sale up to {money(estimate.get('max_price'))}"
        )
        if listings:
            rows = [
                [money(i.get("price")), _rooms(i), _address(i), i.get("listing_id", "")]
                for i in listings[:SHOWN_BY_DEFAULT]
            ]
            body += ", the priciest first:\n\n" + markdown_table(
                ["Price", "Beds / baths", "Address", "ID"], rows, {0}
            )
        else:
            body += "."
    elif isinstance(search, str):
        body += f"\n\n{explain_error(ToolCall('search_listings', {}), search)}"
    city = place.split(",")[0] if place else "Boise"
    body += _next(
        f"*homes in {city} under {money(_round_price(estimate.get('min_price') or 300_000))}*",
        "*what if I put $50k down?*",
        f"*monthly payment on {money(_round_price(estimate.get('min_price') or 300_000))}*",
    )
    return _with_notes(plan, body)


def compose_edge(plan: Plan) -> str:
    """One short paragraph for what the assistant does not do: off-topic requests, and
    questions the data cannot answer (schools, crime, predictions)."""
    city = plan.places[0].split(",")[0] if plan.places else "Portland"
    if plan.intent == "unanswerable" and plan.edge:
        what, offer = plan.edge
        return (
            f"I can't tell you about **{what}**: my data has listings, sales and market figures, "
            f"not that. What I can show you is {offer}."
            + _next(f"*how is the {city} market?*", f"*homes in {city} under 600k*")
        )
    return (
        "That's outside what I can help with: I'm a real-estate assistant. I can find homes, "
        "look up listings, analyse and compare city markets, show price trends, and estimate "
        "mortgages and what you can afford."
        + _next(f"*homes in {city} under 600k*", f"*how is the {city} market?*")
    )


_WRITERS: dict[str, Callable[[Plan, dict[str, Any]], str]] = {
    "search": compose_search,
    "market": compose_market,
    "trends": compose_trends,
    "compare": compose_compare,
    "mortgage": compose_mortgage,
    "metrics": compose_metrics,
    "performance": compose_performance,
    "report": compose_report,
}


def compose_answer(plan: Plan, results: Sequence[Result], include_notice: bool = False) -> str:
    """The whole answer in markdown: `results[i]` is the structured result of `plan.calls[i]`,
    or its error text. `include_notice` prefixes the once-per-conversation offline notice."""
    answer = _compose(plan, list(results))
    return f"{offline_notice()}\n\n{answer}" if include_notice else answer


def _compose(plan: Plan, results: list[Result]) -> str:
    if plan.intent in {"greeting", "thanks"}:
        return compose_greeting(plan)
    if plan.intent in {"off_topic", "unanswerable"}:
        return compose_edge(plan)
    if plan.intent == "affordability" and plan.calls and not plan.missing:
        return compose_affordability(plan, results)
    if plan.intent in {"help", "unknown"}:
        return compose_help(plan)
    if plan.intent == "listing_details" and plan.calls:
        return _compose_details(plan, results)
    if plan.intent == "mortgage" and plan.missing == "price" and plan.calls:
        result = results[0] if results else "no result"
        if isinstance(result, str):
            return explain_error(plan.calls[0], result)
        if len(results) > 1 and isinstance(results[1], dict):  # the estimate at its price
            lead = f"**{result.get('listing_id', '')}** is listed at {money(result.get('price'))}."
            return f"{lead} {compose_mortgage(plan, results[1])}"
        return _compose_mortgage_price(plan, result)
    if plan.missing or not plan.calls:
        return compose_missing(plan)
    result = results[0] if results else "the tool returned no result"
    if isinstance(result, str):
        return _with_notes(plan, explain_error(plan.calls[0], result))
    writer = _WRITERS.get(plan.intent)
    if writer is None:
        return compose_help(plan)
    return writer(plan, result)


def offline_notice() -> str:
    """The line said once per conversation: which assistant this is (the page's mode badge and
    the README say how to connect a model)."""
    return "_Offline assistant (no language model connected; set `OPENAI_API_KEY` to use one)._"


_PIECE_RE = re.compile(r"\S+\s*|\s+")


def chunk_text(text: str, words: int = CHUNK_WORDS) -> Iterator[str]:
    """The answer in small pieces of a few words each, whitespace kept exactly, for streaming.

    "".join(chunk_text(text)) == text for any text.
    """
    pieces = _PIECE_RE.findall(text)
    for start in range(0, len(pieces), max(1, words)):
        yield "".join(pieces[start : start + max(1, words)])
