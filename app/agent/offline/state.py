"""Stage 4, dialogue state: what the conversation so far established, rebuilt from its text.

No state is kept between requests (any worker gives the same answer): the earlier user
messages are re-planned in order (`plan.plan_reply`) and each plan is folded into a `Memory`
(the last intent, search filters, places, period, mortgage figures, compared markets). The
earlier assistant messages are read for listing ids and their prices, so that "the first one",
"those", "top 3" and "its price" point at what the user saw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app.agent.offline.extract import extract_listing_ids, parse_price
from app.agent.offline.normalise import NUMBER_WORD, normalise, parse_count
from app.agent.offline.places import Place

if TYPE_CHECKING:
    from app.agent.offline.plan import Plan


ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "last": -1,
}
ORDINAL_RE = re.compile(
    rf"\b(?:the\s+)?(?P<ord>{'|'.join(ORDINALS)})\s+(?:one|listing|home|house|property|result|"
    r"condo|townhouse|place)\b|(?:#|number\s+|no\.\s*)(?P<num>[1-9])\b"
)
PLURAL_REF_RE = re.compile(
    r"\b(?:these|those|them|they|all of them|the (?:listings|results|homes|houses|properties|"
    r"ones|condos)|my listings|both|each of them)\b"
)
SINGLE_REF_RE = re.compile(
    r"\b(?:(?:that|this|the) (?:one|house|home|listing|property|place|condo|townhouse)|it)\b"
)
_TOP_N_RE = re.compile(rf"\b(?:top|first|best)\s+(?P<n>\d+|{NUMBER_WORD})\b")
_PRICE_ON_LINE_RE = re.compile(r"\$\s?\d{1,3}(?:,\d{3})+|\$\s?\d+(?:\.\d+)?\s?[kKmM]\b")


def ids_in_history(history: Sequence[dict[str, str]]) -> list[str]:
    """The listing ids of the most recent earlier message that mentions any."""
    for turn in reversed(history):
        ids = extract_listing_ids(turn.get("content") or "")
        if ids:
            return ids
    return []


def price_in_history(listing_id: str, history: Sequence[dict[str, str]]) -> int | None:
    """The price given for `listing_id` on the same line as its id, newest message first."""
    for turn in reversed(history):
        for line in (turn.get("content") or "").splitlines():
            if listing_id in line.upper():
                match = _PRICE_ON_LINE_RE.search(line)
                if match:
                    return parse_price(match.group())
    return None


def referenced_ids(text: str, history: Sequence[dict[str, str]]) -> tuple[list[str], bool]:
    """Listing ids a message points at without naming ("these", "the second one", "top 3").

    Returns (ids, guessed): `guessed` is True when one listing was picked from several.
    """
    text = normalise(text)
    earlier = ids_in_history(history)
    if not earlier:
        return [], False
    ordinal = ORDINAL_RE.search(text)
    if ordinal:
        index = ORDINALS[ordinal["ord"]] if ordinal["ord"] else int(ordinal["num"]) - 1
        if -len(earlier) <= index < len(earlier):
            return [earlier[index]], False
        return [], False
    top = _TOP_N_RE.search(text)
    if top:
        count = parse_count(top["n"]) or len(earlier)
        return earlier[:count], False
    if PLURAL_REF_RE.search(text):
        return earlier, False
    if SINGLE_REF_RE.search(text):
        return earlier[:1], len(earlier) > 1
    return [], False


SEARCH_KEYS = (
    "city",
    "state",
    "cities",
    "min_price",
    "max_price",
    "min_bedrooms",
    "max_bedrooms",
    "min_bathrooms",
    "max_bathrooms",
    "property_type",
    "property_types",
    "exclude_types",
    "status",
    "min_sqft",
    "max_sqft",
    "zip_codes",
    "min_year_built",
    "max_year_built",
    "listed_within_days",
    "keywords",
    "sort",
    "limit",
    "offset",
)
PLACE_KEYS = ("city", "state", "cities", "zip_codes")
TYPE_KEYS = ("property_type", "property_types")


def place_filters(place: Place) -> dict[str, str]:
    return {"city": place.city, "state": place.state} if place.city else {"state": place.state}


def merge_filters(earlier: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A follow-up's filters over the earlier ones: new values win, the rest are kept.

    A new place replaces the old one whole (a state alone drops the city); a new single price
    bound keeps the other old bound only when the two still make a range.
    """
    merged = dict(earlier)
    if any(key in new for key in PLACE_KEYS):
        for key in PLACE_KEYS:
            merged.pop(key, None)
    if any(key in new for key in TYPE_KEYS):
        for key in (*TYPE_KEYS, "exclude_types"):
            merged.pop(key, None)
    if ("min_price" in new) != ("max_price" in new):
        low = new.get("min_price", merged.get("min_price"))
        high = new.get("max_price", merged.get("max_price"))
        if low is not None and high is not None and low > high:
            merged.pop("max_price" if "min_price" in new else "min_price", None)
    merged.pop("offset", None)
    merged.update(new)
    return {key: merged[key] for key in SEARCH_KEYS if key in merged}


@dataclass(slots=True)
class Memory:
    """What the earlier user messages established, rebuilt from the text on every request."""

    intent: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    place: Place | None = None
    places: list[Place] = field(default_factory=list)
    months: int | None = None
    mortgage: dict[str, float] = field(default_factory=dict)
    finances: dict[str, float] = field(default_factory=dict)


def remember(memory: Memory, plan: Plan, places: list[Place]) -> Memory:
    if plan.intent in {"greeting", "thanks", "help", "unknown", "off_topic", "unanswerable"}:
        return memory
    updated = replace(memory, intent=plan.intent)
    if plan.intent == "search" and plan.calls:
        updated.filters = dict(plan.filters)
        city = plan.filters.get("city")
        if city:
            updated.place = Place(city, plan.filters["state"])
    if plan.intent in {"market", "trends", "compare"} and places:
        updated.places = places
        updated.place = places[-1] if plan.intent != "compare" else places[0]
    if plan.intent == "trends":
        updated.months = plan.months
    if plan.intent == "mortgage":
        updated.mortgage = dict(plan.mortgage)
    if plan.intent == "affordability":
        updated.finances = dict(plan.finances)
        if places:
            updated.place = places[0]
    if plan.intent == "search" and plan.calls and "cities" in plan.filters:
        updated.places = places
    return updated
