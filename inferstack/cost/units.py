"""Time and energy units, in one place so every conversion in the cost model is the same and tested.

A month is 730 hours, as Infracost counts it (365 days x 24 hours / 12), so monthly figures here can be
compared line by line with an Infracost estimate of the same cluster.
"""

from __future__ import annotations

HOURS_PER_MONTH = 730.0
MONTHS_PER_YEAR = 12
HOURS_PER_YEAR = HOURS_PER_MONTH * MONTHS_PER_YEAR  # 8760
SECONDS_PER_HOUR = 3600.0
PER_MILLION = 1_000_000


def monthly(usd_per_hour: float) -> float:
    return usd_per_hour * HOURS_PER_MONTH


def hourly_from_monthly(usd_per_month: float) -> float:
    return usd_per_month / HOURS_PER_MONTH


def hourly_from_yearly(usd_per_year: float) -> float:
    return usd_per_year / HOURS_PER_YEAR


def hourly_amortization(purchase_usd: float, years: float) -> float:
    """Straight-line amortization of a purchase, per hour of its life (running or not)."""
    return purchase_usd / (years * HOURS_PER_YEAR)


def kwh(watts: float, hours: float) -> float:
    return watts * hours / 1000.0


def inferences_per_hour(rps: float) -> float:
    return rps * SECONDS_PER_HOUR


def gb(num_bytes: float) -> float:
    """Decimal gigabytes, as cloud providers bill transfer."""
    return num_bytes / 1e9
