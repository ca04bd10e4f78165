"""Numbers as Voucherify sends them (JSON values, header texts), read without surprises."""

from __future__ import annotations


def finite_number(value: object) -> float | None:
    """`value` as a float; None for what is no finite number (a text, NaN, infinity, an integer
    past 1e308, None) and for a JSON true or false."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past 1e308
        return None
    return number if number == number and abs(number) != float("inf") else None
