"""Fixed-rate mortgage arithmetic: the standard amortisation formula, nothing from the dataset.

The monthly payment (principal and interest) for a loan L at monthly rate r over n months is
L * r / (1 - (1 + r) ** -n), or L / n when the rate is zero. `total_paid` is that (unrounded)
payment over the whole term, the down payment not included; `total_interest` what it adds to
the loan.
"""

from __future__ import annotations

from typing import Any


def monthly_payment(loan: float, annual_rate_pct: float, years: int) -> float:
    """The exact (unrounded) monthly principal and interest."""
    months = years * 12
    rate = annual_rate_pct / 100 / 12
    if rate == 0:
        return loan / months
    return loan * rate / (1 - (1 + rate) ** -months)


def estimate(
    price: float, down_payment_pct: float, annual_rate_pct: float, years: int
) -> dict[str, Any]:
    """The figures of `estimate_mortgage`, money rounded to cents."""
    down_payment = round(price * down_payment_pct / 100, 2)
    loan = round(price - down_payment, 2)
    payment = monthly_payment(loan, annual_rate_pct, years)
    total_paid = round(payment * years * 12, 2)
    return {
        "price": round(price, 2),
        "down_payment_pct": down_payment_pct,
        "down_payment": down_payment,
        "loan_amount": loan,
        "annual_rate_pct": annual_rate_pct,
        "years": years,
        "monthly_payment": round(payment, 2),
        "total_paid": total_paid,
        "total_interest": round(max(0.0, total_paid - loan), 2),
    }
