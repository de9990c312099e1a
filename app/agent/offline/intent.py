"""Stage 3, intent: which request a message makes, from its own words or from the conversation.

Besides the tools' intents there are the honest edges: "off_topic" (not about homes: one short
friendly paragraph, no tool call) and "unanswerable" (about homes, but not in the data: schools,
crime, predictions). `own_intent` reads the cue words and entities of the message
alone ("compare", an email and "send", a listing id); `inherited_intent` decides what a
message without its own intent continues ("and Seattle?" after a market question is one too).
"""

from __future__ import annotations

import re

from app.agent.offline.extract import Understood
from app.agent.offline.state import ORDINAL_RE, PLURAL_REF_RE, SINGLE_REF_RE, Memory

PERFORMANCE_WORDS_RE = re.compile(r"\bperform\w*|\bmetrics\b|\bstats\b|\brecommendations?\b")
THANKS_RE = re.compile(r"^(?:thanks|thank you|thx|cheers)\b")
JOKE_RE = re.compile(r"\b(?:jokes?|funny|poems?)\b")  # off-topic even about houses
PRICES_RE = re.compile(r"\bprices?\b")
# Two cities set against each other: "is Seattle more expensive than Portland?"
VERSUS_RE = re.compile(
    r"\b(?:(?:more|less) (?:expensive|affordable|competitive) than|cheaper than|pricier than"
    r"|hotter than|better than|compare with|compared (?:to|with)|how does that compare)\b"
)
# Words that make a message about homes even when it also mentions the weather or the news.
HOMES_RE = re.compile(
    r"\b(?:homes?|houses?|condos?|townho\w+|listings?|propert(?:y|ies)|real estate|mortgages?"
    r"|housing|neighbou?rhoods?)\b"
)


def own_intent(seen: Understood) -> str | None:
    """The intent the message states by its own words and entities, before context."""
    intents = set(seen.intents)
    cities = [p for p in seen.places if p.city]
    if "greeting" in intents and len(seen.text) < 40:
        return "thanks" if THANKS_RE.match(seen.text) else "greeting"
    searching = bool(seen.filters or seen.property_types or seen.ids)
    if THANKS_RE.match(seen.text) and not searching and not seen.places:
        return "thanks"  # "thanks, that's all for now"
    if seen.unanswerable and not searching:
        return "unanswerable"
    about_homes = bool(HOMES_RE.search(seen.text)) or bool({"market", "trends"} & intents)
    only_a_type = set(seen.filters) <= {"property_type", "property_types"}
    joke = bool(JOKE_RE.search(seen.text)) and only_a_type and not seen.places
    if seen.off_topic and (joke or (not searching and not about_homes)):
        return "off_topic"
    if "affordability" in intents or {"annual_income", "monthly_budget"} & set(seen.finances):
        return "affordability"
    refers = bool(seen.ids or PLURAL_REF_RE.search(seen.text) or SINGLE_REF_RE.search(seen.text))
    if seen.email and ({"report", "performance"} & intents or refers):
        return "report"
    if "report" in intents and refers and not PERFORMANCE_WORDS_RE.search(seen.text):
        return "report"
    if ("performance" in intents or "metrics" in intents) and refers and not cities:
        return "performance" if "performance" in intents else "metrics"
    if "mortgage" in intents:
        return "mortgage"
    if len(cities) >= 2 and (
        ({"compare", "market", "trends"} & intents) or seen.focus or VERSUS_RE.search(seen.text)
    ):
        return "compare"
    if "compare" in intents:
        return "compare"
    if "trends" in intents or (seen.months and PRICES_RE.search(seen.text) and cities):
        return "trends"  # "Boston prices last quarter"
    if "market" in intents:
        return "market"
    if seen.ids:
        return "details"
    if "details" in intents and ORDINAL_RE.search(seen.text):
        return "details"
    if "search" in intents or (seen.property_types and seen.places):
        return "search"
    if "help" in intents:
        return "help"
    return None


def has_search_content(seen: Understood) -> bool:
    return bool(seen.filters or seen.property_types or seen.more or seen.anywhere)


def inherited_intent(seen: Understood, memory: Memory) -> str | None:
    """The intent of a message without its own ("and Seattle?", "what about 4 bedrooms?")."""
    if memory.intent == "mortgage" and (seen.mortgage or seen.months):
        return "mortgage"
    if memory.intent == "affordability" and (seen.finances or seen.places):
        return "affordability"
    if memory.intent == "compare" and seen.focus:
        return "compare"
    if memory.intent in {"trends", "market", "compare"} and (seen.places or seen.months):
        if seen.months and memory.intent == "market":
            return "trends"
        return memory.intent
    if ORDINAL_RE.search(seen.text) and memory.intent == "search":
        return "details"
    if has_search_content(seen) or (seen.places and memory.intent in {None, "search"}):
        return "search"
    if seen.places:
        return "search"
    if seen.unknown_place:
        return memory.intent if memory.intent in {"market", "trends"} else "search"
    return None
