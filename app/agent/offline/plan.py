"""Stage 5, plan: the tool calls that answer a message, with arguments as the tools take them.

`plan_reply(message, history)` runs the stages: extract (`extract.understand`), rebuild the
dialogue state from the earlier turns (`state`), choose the intent (`intent`), then one
planner per intent turns all of it into a `Plan`: the calls, and what the composer needs to
explain the answer (the filters, places, assumptions, what was not understood or is missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.agent.offline import vocabulary as vocab
from app.agent.offline.extract import Understood, understand
from app.agent.offline.intent import inherited_intent, own_intent
from app.agent.offline.places import Place
from app.agent.offline.state import (
    PLACE_KEYS,
    SEARCH_KEYS,
    Memory,
    ids_in_history,
    merge_filters,
    place_filters,
    price_in_history,
    referenced_ids,
    remember,
)

MAX_TREND_MONTHS = 36
MAX_COMPARE = 5
MAX_REPORT_IDS = 20
MAX_METRIC_IDS = 50
MAX_DETAIL_CALLS = 5
MAX_SEARCH_CITIES = 10
SHOWN_BY_DEFAULT = 5  # listings an answer shows; "show me more" pages on by as many
MORTGAGE_KEYS = ("price", "down_payment_pct", "annual_rate_pct", "years")
AFFORDABILITY_KEYS = (
    "annual_income",
    "monthly_budget",
    "monthly_debts",
    "down_payment",
    "down_payment_pct",
    "annual_rate_pct",
    "years",
)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One MCP tool call: the tool's name and its arguments as CONTRACT.md section 4 names them."""

    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class Plan:
    """What the offline assistant understood from a message, and what to call to answer it.

    `filters` are the search arguments (also the composer's restatement of the request);
    `places` the "City, ST" markets asked about; `mortgage` only the mortgage figures the user
    gave or the conversation supplied (the tool fills in the rest, the composer says so);
    `assumptions` are short phrases the answer must state (values taken from earlier in the
    conversation or defaulted); `not_understood` names parts of the request that were ignored;
    `missing` says what must be asked for when no call could be made ("price", "city",
    "listing_ids", "email", "income"). `then_search` are search filters to run once the first
    calls answered (an affordability estimate, then homes in that budget: the price comes from
    the estimate); `focus` what a comparison is asked for ("cheapest"); `edge` what an
    unanswerable question asked and what to offer instead.
    """

    intent: str
    calls: list[ToolCall] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    places: list[str] = field(default_factory=list)
    months: int | None = None
    mortgage: dict[str, float] = field(default_factory=dict)
    listing_ids: list[str] = field(default_factory=list)
    recipient: str | None = None
    assumptions: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    missing: str | None = None
    follow_up: bool = False
    finances: dict[str, float] = field(default_factory=dict)
    then_search: dict[str, Any] | None = None
    focus: str | None = None
    edge: tuple[str, str] | None = None
    text: str = ""


def plan_reply(message: str, history: list[dict[str, str]]) -> Plan:
    """Decide what to do with `message`, given the conversation before it (oldest first).

    `history` holds `{"role": "user"|"assistant", "content": str}` turns. Earlier user
    messages are re-planned in order to recover the filters, place and intent a follow-up
    builds on; earlier assistant messages are read for listing ids and their prices.
    """
    memory = Memory()
    for index, turn in enumerate(history):
        if turn.get("role") == "user" and turn.get("content"):
            seen = understand(turn["content"])
            plan = _plan(seen, memory, history[:index])
            memory = remember(memory, plan, _plan_places(plan))
    return _plan(understand(message), memory, history)


def _plan_places(plan: Plan) -> list[Place]:
    """The places a plan ended up about (for the next turn's "there")."""
    places = []
    for label in plan.places:
        city, _, state = label.partition(", ")
        if state:
            places.append(Place(city, state))
        else:
            code = next((c for c, n in vocab.STATES.items() if n == label), None)
            if code:
                places.append(Place(None, code))
    return places


def _plan(seen: Understood, memory: Memory, history: Sequence[dict[str, str]]) -> Plan:
    intent = own_intent(seen)
    follow_up = seen.follow_up
    if intent is None:
        intent = inherited_intent(seen, memory)
        follow_up = intent is not None
    elif memory.intent == intent and intent in {"mortgage", "trends", "market"}:
        follow_up = follow_up or not seen.places
    builders = {
        "greeting": _plan_greeting,
        "thanks": _plan_greeting,
        "help": _plan_help,
        "report": _plan_report,
        "performance": _plan_listing_analytics,
        "metrics": _plan_listing_analytics,
        "mortgage": _plan_mortgage,
        "compare": _plan_compare,
        "trends": _plan_market,
        "market": _plan_market,
        "details": _plan_details,
        "search": _plan_search,
        "affordability": _plan_affordability,
        "off_topic": _plan_edge,
        "unanswerable": _plan_edge,
    }
    if intent is None:
        return Plan(intent="unknown", not_understood=[seen.text] if seen.text else [])
    plan = builders[intent](intent, seen, memory, history, follow_up)
    plan.follow_up = follow_up
    plan.text = seen.text
    return plan


def _plan_greeting(intent: str, seen: Understood, *_: Any) -> Plan:
    return Plan(intent=intent)


def _plan_help(intent: str, seen: Understood, *_: Any) -> Plan:
    return Plan(intent="help")


def _plan_search(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    new = dict(seen.filters)
    assumptions: list[str] = []
    not_understood = [f"filtering by {label}" for label in seen.unsupported]
    if seen.unanswerable:
        not_understood.append(f"{seen.unanswerable[0]} (not in the data)")
    places = seen.places
    cities = [p for p in places if p.city]
    if len(cities) > 1:
        new["cities"] = [p.label for p in cities[:MAX_SEARCH_CITIES]]
    elif places:
        new.update(place_filters(cities[0] if cities else places[0]))
    elif seen.unknown_place:
        return Plan(
            intent="search",
            missing="city",
            not_understood=[seen.unknown_place],
            filters=new,
        )
    builds_on = memory.intent == "search" and memory.filters and (follow_up or not places)
    if builds_on:
        filters = merge_filters(memory.filters, new)
        if seen.anywhere:
            for key in PLACE_KEYS:
                filters.pop(key, None)
        if seen.more and not new.get("limit"):
            step = memory.filters.get("limit", SHOWN_BY_DEFAULT)
            filters["offset"] = memory.filters.get("offset", 0) + step
            filters["limit"] = step
        kept = [k for k in memory.filters if k in filters and k not in new and k != "offset"]
        if kept:
            assumptions.append("kept your earlier filters")
        follow_up = True
    else:
        filters = {key: new[key] for key in SEARCH_KEYS if key in new}
        if (seen.there or follow_up) and memory.place and not places and not seen.anywhere:
            filters = merge_filters(filters, place_filters(memory.place))
            assumptions.append(f"{memory.place.label} from earlier in the conversation")
    return Plan(
        intent="search",
        calls=[ToolCall("search_listings", filters)],
        filters=filters,
        places=list(filters.get("cities", [])),
        assumptions=assumptions,
        not_understood=not_understood,
        follow_up=follow_up,
    )


def _resolve_places(
    seen: Understood, memory: Memory, assumptions: list[str]
) -> tuple[list[Place], bool]:
    """The places a market question is about, falling back on the conversation's last one."""
    cities = [p for p in seen.places if p.city]
    if cities:
        return cities, False
    if memory.place and memory.place.city:
        assumptions.append(f"{memory.place.label} from earlier in the conversation")
        return [memory.place], True
    return [], False


def _plan_market(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    assumptions: list[str] = []
    places, from_memory = _resolve_places(seen, memory, assumptions)
    if len(places) > 1:
        return _plan_compare("compare", seen, memory, history, follow_up)
    not_understood = [seen.unknown_place] if seen.unknown_place and not places else []
    states_only = [p for p in seen.places if not p.city]
    if states_only and not places:
        not_understood.append(f"state-wide figures for {states_only[0].label} (ask about a city)")
    if not places:
        return Plan(intent=intent, missing="city", not_understood=not_understood)
    place = places[0]
    arguments: dict[str, Any] = {"city": place.city, "state": place.state}
    months = seen.months
    if intent == "trends" and months is None and follow_up and memory.months:
        months = memory.months
    if intent == "trends" and months is not None:
        if months > MAX_TREND_MONTHS:
            assumptions.append(f"{MAX_TREND_MONTHS} months, the most the data goes back")
            months = MAX_TREND_MONTHS
        months = max(1, months)
        arguments["months"] = months
    name = "get_price_trends" if intent == "trends" else "get_market_analysis"
    return Plan(
        intent=intent,
        calls=[ToolCall(name, arguments)],
        places=[place.label],
        months=months if intent == "trends" else None,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_compare(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    assumptions: list[str] = []
    cities = [p for p in seen.places if p.city]
    if seen.focus and not cities and len(memory.places) >= 2:
        cities = list(memory.places)  # "which of those is the cheapest?"
        assumptions.append("the markets you were comparing")
    elif memory.intent == "compare" and memory.places and (follow_up or len(cities) < 2):
        cities = memory.places + [p for p in cities if p not in memory.places]
        if seen.places:
            assumptions.append("added to the markets you were comparing")
    elif len(cities) == 1 and memory.place and memory.place.city and memory.place not in cities:
        cities = [memory.place, *cities]
        assumptions.append(f"{memory.place.label} from earlier in the conversation")
    not_understood = [seen.unknown_place] if seen.unknown_place else []
    if len(cities) > MAX_COMPARE:
        not_understood.append(
            f"more than {MAX_COMPARE} markets at once (compared the first {MAX_COMPARE})"
        )
        cities = cities[:MAX_COMPARE]
    if len(cities) < 2:
        if len(cities) == 1:
            plan = _plan_market("market", seen, memory, history, follow_up)
            plan.not_understood.append("a comparison needs at least two cities")
            return plan
        return Plan(intent="compare", missing="cities", not_understood=not_understood)
    labels = [p.label for p in cities]
    return Plan(
        intent="compare",
        calls=[ToolCall("compare_markets", {"cities": labels})],
        places=labels,
        focus=seen.focus,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_mortgage(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    terms = dict(seen.mortgage)
    assumptions: list[str] = []
    ids, guessed = _ids_for(seen, history)
    if "price" not in terms and ids:
        price = price_in_history(ids[0], history)
        if price:
            terms["price"] = price
            assumptions.append(f"the price of {ids[0]} from earlier in the conversation")
            if guessed:
                assumptions.append(f"{ids[0]}, the first listing from earlier")
    if memory.intent == "mortgage" and memory.mortgage and (follow_up or "price" not in terms):
        terms = {**memory.mortgage, **terms}
        assumptions.append("kept the other figures from your last estimate")
    terms = {k: terms[k] for k in MORTGAGE_KEYS if k in terms}
    if "years" in terms:
        terms["years"] = int(max(1, min(40, terms["years"])))
    if "price" not in terms:
        if ids:
            return Plan(
                intent="mortgage",
                calls=[ToolCall("get_listing", {"listing_id": ids[0]})],
                mortgage=terms,
                listing_ids=ids[:1],
                missing="price",
            )
        return Plan(intent="mortgage", mortgage=terms, missing="price")
    return Plan(
        intent="mortgage",
        calls=[ToolCall("estimate_mortgage", dict(terms))],
        mortgage=terms,
        listing_ids=ids[:1],
        assumptions=assumptions,
    )


def _ids_for(seen: Understood, history: Sequence[dict[str, str]]) -> tuple[list[str], bool]:
    if seen.ids:
        return seen.ids, False
    return referenced_ids(seen.text, history)


def _at_most(limit: int, ids: list[str], refusal: str) -> tuple[list[str], list[str]]:
    """The first `limit` ids, and what to tell the user about the rest (nothing if none)."""
    return ids[:limit], ([refusal] if len(ids) > limit else [])


def _plan_listing_analytics(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    ids, guessed = _ids_for(seen, history)
    if not ids:
        return Plan(intent=intent, missing="listing_ids")
    ids, not_understood = _at_most(
        MAX_METRIC_IDS, ids, f"more than {MAX_METRIC_IDS} listings at once"
    )
    name = "generate_performance_report" if intent == "performance" else "get_listing_metrics"
    assumptions = [] if seen.ids else ["the listings from earlier in the conversation"]
    if guessed:
        assumptions = [f"{ids[0]}, the first listing from earlier"]
    return Plan(
        intent=intent,
        calls=[ToolCall(name, {"listing_ids": ids})],
        listing_ids=ids,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_report(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    ids, guessed = _ids_for(seen, history)
    if not ids:
        ids, guessed = ids_in_history(history), False
    assumptions = [] if seen.ids or not ids else ["the listings from earlier in the conversation"]
    if guessed:
        assumptions = [f"{ids[0]}, the first listing from earlier"]
    if not seen.email:
        return Plan(intent="report", listing_ids=ids, missing="email")
    if not ids:
        return Plan(intent="report", recipient=seen.email, missing="listing_ids")
    ids, not_understood = _at_most(
        MAX_REPORT_IDS, ids, f"more than {MAX_REPORT_IDS} listings in one report"
    )
    return Plan(
        intent="report",
        calls=[
            ToolCall("send_listing_report", {"listing_ids": ids, "recipient_email": seen.email})
        ],
        listing_ids=ids,
        recipient=seen.email,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_details(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    ids, guessed = _ids_for(seen, history)
    if not ids:
        return Plan(intent="listing_details", missing="listing_ids")
    ids, not_understood = _at_most(
        MAX_DETAIL_CALLS, ids, f"details of more than {MAX_DETAIL_CALLS} listings at once"
    )
    assumptions = [f"{ids[0]}, the first listing from earlier"] if guessed else []
    return Plan(
        intent="listing_details",
        calls=[ToolCall("get_listing", {"listing_id": i}) for i in ids],
        listing_ids=ids,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_affordability(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    """An affordability estimate from the buyer's income (and debts, savings, rate, term), then
    homes within it when a place is named or was the subject before."""
    finances = dict(seen.finances)
    assumptions: list[str] = []
    if memory.intent == "affordability" and memory.finances:
        if any(key not in finances for key in memory.finances):
            assumptions.append("kept the other figures from your last estimate")
        finances = {**memory.finances, **finances}
    if "down_payment_pct" in seen.mortgage and "down_payment" not in seen.finances:
        finances.pop("down_payment", None)
        finances["down_payment_pct"] = seen.mortgage["down_payment_pct"]
    finances = {key: finances[key] for key in AFFORDABILITY_KEYS if key in finances}
    if "annual_income" not in finances and "monthly_budget" not in finances:
        return Plan(intent=intent, finances=finances, missing="income")
    cities = [p for p in seen.places if p.city] or [p for p in seen.places]
    place = cities[0] if cities else None
    if place is None and memory.place and (follow_up or seen.there):
        place = memory.place
        assumptions.append(f"{place.label} from earlier in the conversation")
    then_search = None
    if place is not None:
        extra = {k: v for k, v in seen.filters.items() if k not in {"min_price", "max_price"}}
        then_search = {**place_filters(place), **extra, "sort": "price_desc"}
    not_understood = [seen.unknown_place] if seen.unknown_place and place is None else []
    return Plan(
        intent=intent,
        calls=[ToolCall("estimate_affordability", dict(finances))],
        finances=finances,
        places=[place.label] if place else [],
        then_search=then_search,
        assumptions=assumptions,
        not_understood=not_understood,
    )


def _plan_edge(
    intent: str,
    seen: Understood,
    memory: Memory,
    history: Sequence[dict[str, str]],
    follow_up: bool,
) -> Plan:
    """Off-topic and unanswerable questions: no tool call; the answer says what it can do."""
    places = [p.label for p in seen.places if p.city]
    return Plan(intent=intent, places=places, edge=seen.unanswerable)


def follow_on_calls(plan: Plan, results: Sequence[Any]) -> list[ToolCall]:
    """The calls of a plan's second round, from its first round's results: homes priced up to
    the stretch budget of an affordability estimate; the mortgage of a listing whose price the
    conversation did not give (its price from `get_listing`)."""
    if not results or not isinstance(results[0], dict):
        return []
    if plan.intent == "mortgage" and plan.missing == "price" and results[0].get("price"):
        return [ToolCall("estimate_mortgage", {**plan.mortgage, "price": results[0]["price"]})]
    if plan.then_search is None:
        return []
    ceiling = results[0].get("max_price")
    if not ceiling:
        return []
    return [ToolCall("search_listings", {**plan.then_search, "max_price": ceiling})]
