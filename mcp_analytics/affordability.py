"""How much home an income supports: the lenders' debt-to-income rule, solved for the price.

A lender lets the monthly housing cost (principal and interest, plus property tax and
insurance) take at most a share of the gross monthly income (the front-end ratio) and, with the
buyer's other monthly debts, at most a larger share (the back-end ratio). The comfortable
budget follows the classic 28/36 rule; the stretch budget the 33/43 limits most loan programmes
still accept. The price whose housing cost equals a budget is solved from the same amortisation
formula as `estimate_mortgage`, with tax and insurance a yearly share of the price.
"""

from __future__ import annotations

from typing import Any

from mcp_analytics.mortgage import monthly_payment

COMFORTABLE = (0.28, 0.36)
STRETCH = (0.33, 0.43)
RULE = "28/36 debt-to-income (comfortable), 33/43 (stretch)"
BUDGET_RULE = "the monthly housing budget you gave (no income, so no debt-to-income rule)"


def housing_budget(
    annual_income: float, monthly_debts: float, ratios: tuple[float, float]
) -> float:
    """The monthly housing cost the ratios allow: the smaller of the two limits, never negative."""
    monthly_income = annual_income / 12
    front, back = ratios
    return max(0.0, min(front * monthly_income, back * monthly_income - monthly_debts))


def price_for_budget(
    budget: float,
    down_payment: float | None,
    down_payment_pct: float,
    annual_rate_pct: float,
    years: int,
    tax_insurance_pct: float,
) -> float:
    """The price whose monthly cost (loan payment plus tax and insurance) is `budget`.

    With a down payment in dollars the loan is price - down payment; else price times
    (1 - pct). The payment is linear in the loan, so the price is solved exactly.
    """
    per_dollar = monthly_payment(1.0, annual_rate_pct, years)  # payment per dollar borrowed
    upkeep = tax_insurance_pct / 100 / 12  # tax and insurance per dollar of price, per month
    if down_payment is not None:
        return max(down_payment, (budget + down_payment * per_dollar) / (per_dollar + upkeep))
    return budget / ((1 - down_payment_pct / 100) * per_dollar + upkeep)


def estimate(
    annual_income: float | None,
    monthly_debts: float,
    down_payment: float | None,
    down_payment_pct: float,
    annual_rate_pct: float,
    years: int,
    tax_insurance_pct: float,
    monthly_budget: float | None = None,
) -> dict[str, Any]:
    """The figures of `estimate_affordability`, money rounded to whole dollars.

    From an income, the two budgets follow the rule (and a `monthly_budget` given as well caps
    them); from a monthly budget alone, that budget is both the comfortable and the stretch one.
    """
    prices = []
    budgets = []
    for ratios in (COMFORTABLE, STRETCH):
        if annual_income is None:
            budget = monthly_budget or 0.0
        else:
            budget = housing_budget(annual_income, monthly_debts, ratios)
            budget = min(budget, monthly_budget) if monthly_budget is not None else budget
        budgets.append(budget)
        prices.append(
            price_for_budget(
                budget, down_payment, down_payment_pct, annual_rate_pct, years, tax_insurance_pct
            )
        )
    comfortable, stretch = prices
    down = down_payment if down_payment is not None else comfortable * down_payment_pct / 100
    return {
        "annual_income": round(annual_income) if annual_income is not None else None,
        "monthly_debts": round(monthly_debts),
        "min_price": round(comfortable),
        "max_price": round(stretch),
        "monthly_budget": round(budgets[0]),
        "max_monthly_budget": round(budgets[1]),
        "down_payment": round(down),
        "down_payment_pct": round(down / comfortable * 100, 1) if comfortable else None,
        "annual_rate_pct": annual_rate_pct,
        "years": years,
        "tax_insurance_pct": tax_insurance_pct,
        "rule": RULE if annual_income is not None else BUDGET_RULE,
    }
