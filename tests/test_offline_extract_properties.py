"""Property-based tests of the offline assistant's extractors: whatever the amount or count and
however a buyer writes it, money, price ranges, room counts and their bounds read back exactly.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.agent.offline.extract import (
    extract_finances,
    extract_price_range,
    parse_price,
    room_bounds,
    search_filters,
)
from app.agent.offline.normalise import normalise
from app.agent.offline.vocabulary import NUMBER_WORDS

THIS_YEAR = 2026
WORDS = {n: w for w, n in NUMBER_WORDS.items() if w not in {"a", "an", "no", "single", "zero"}}

# Whole thousands from $10k to $50M: the range people shop in, written every common way.
thousands = st.integers(10, 50_000).map(lambda k: k * 1_000)


def spellings(amount: int) -> list[str]:
    """The ways a buyer writes `amount`."""
    out = [f"${amount:,}", f"{amount:,}", f"{amount}", f"${amount // 1000}k", f"{amount // 1000}K"]
    if amount % 100_000 == 0:
        out += [f"{amount / 1_000_000:g} million", f"${amount / 1_000_000:g}M"]
    return out


@given(amount=thousands, data=st.data())
def test_any_amount_in_any_spelling_reads_back_as_whole_dollars(amount: int, data) -> None:
    written = data.draw(st.sampled_from(spellings(amount)))
    assert parse_price(f"homes for {written}") == amount


@given(low=thousands, gap=thousands, data=st.data())
def test_a_price_range_reads_back_as_its_two_bounds(low: int, gap: int, data) -> None:
    high = low + gap
    a = data.draw(st.sampled_from(spellings(low)))
    b = data.draw(st.sampled_from(spellings(high)))
    phrase = data.draw(
        st.sampled_from([f"between {a} and {b}", f"from {a} to {b}", f"{a} to {b}", f"{a} - {b}"])
    )
    assert extract_price_range(normalise(f"condos {phrase}")) == (low, high)


@given(amount=thousands, data=st.data())
def test_a_single_bound_is_an_upper_or_a_lower_bound_as_its_words_say(amount: int, data) -> None:
    written = data.draw(st.sampled_from(spellings(amount)))
    upper = data.draw(st.sampled_from(["under", "below", "up to", "at most", "max", "less than"]))
    lower = data.draw(st.sampled_from(["over", "above", "at least", "more than", "starting at"]))
    assert extract_price_range(normalise(f"homes {upper} {written}")) == (None, amount)
    assert extract_price_range(normalise(f"homes {lower} {written}")) == (amount, None)
    assert extract_price_range(normalise(f"homes {written} or less")) == (None, amount)


def count_spellings(n: int) -> list[str]:
    out = [str(n)]
    if n in WORDS:
        out.append(WORDS[n])
    return out


@given(n=st.integers(1, 10), data=st.data())
def test_a_bedroom_count_is_a_minimum_unless_its_words_make_it_a_maximum(n: int, data) -> None:
    written = data.draw(st.sampled_from(count_spellings(n)))
    word = data.draw(st.sampled_from(["bedrooms", "bedroom", "beds", "bed", "br", "bd"]))
    text = normalise(f"{written} {word} homes")
    assert room_bounds(text, "beds")[:2] == (n, None)
    assert room_bounds(normalise(f"at least {written} {word}"), "beds")[:2] == (n, None)
    assert room_bounds(normalise(f"more than {written} {word}"), "beds")[:2] == (n + 1, None)
    assert room_bounds(normalise(f"at most {written} {word}"), "beds")[:2] == (None, n)
    assert room_bounds(normalise(f"{written} {word} or fewer"), "beds")[:2] == (None, n)
    assert room_bounds(normalise(f"fewer than {written} {word}"), "beds")[:2] == (None, n - 1)


@given(low=st.integers(0, 8), extra=st.integers(1, 3), sep=st.sampled_from(["-", " to ", " or "]))
def test_a_bedroom_range_reads_back_as_both_bounds(low: int, extra: int, sep: str) -> None:
    text = normalise(f"{low}{sep}{low + extra} bedroom condos")
    assert room_bounds(text, "beds")[:2] == (low, low + extra)


@given(
    beds=st.integers(1, 6),
    baths=st.sampled_from([1, 1.5, 2, 2.5, 3]),
    price=thousands,
    sqft=st.integers(5, 40).map(lambda h: h * 100),
)
def test_filters_written_together_do_not_read_each_other(
    beds: int, baths: float, price: int, sqft: int
) -> None:
    text = normalise(f"{beds} bed {baths:g} bath house over {sqft:,} sq ft under ${price:,}")
    filters, types = search_filters(text, THIS_YEAR)
    assert filters["min_bedrooms"] == beds and filters["min_bathrooms"] == baths
    assert filters["min_sqft"] == sqft and filters["max_price"] == price
    assert types == ["house"]


@given(
    income=st.integers(20, 900).map(lambda k: k * 1_000),
    monthly=st.booleans(),
    debts=st.integers(1, 30).map(lambda h: h * 100),
)
def test_income_and_debts_are_told_apart_from_prices(
    income: int, monthly: bool, debts: int
) -> None:
    said = f"${income // 12:,} a month" if monthly else f"${income // 1000}k"
    found = extract_finances(normalise(f"I make {said} and have a ${debts} car payment"))
    expected = (income // 12) * 12 if monthly else income
    assert found["annual_income"] == expected and found["monthly_debts"] == debts
