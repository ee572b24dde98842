"""Units: a month is 730 hours, a year 8,760; watts and hours make kWh; purchases amortize per hour."""

import pytest

from inferstack.cost import units


def test_a_month_is_730_hours_as_infracost_counts_it():
    assert units.HOURS_PER_MONTH == 730
    assert units.monthly(1.0) == 730
    assert units.hourly_from_monthly(73.0) == pytest.approx(0.1)


def test_a_year_is_twelve_730_hour_months():
    assert units.HOURS_PER_YEAR == 8760
    assert units.hourly_from_yearly(8760.0) == pytest.approx(1.0)


def test_kwh_is_watts_times_hours_over_a_thousand():
    assert units.kwh(1000, 1) == 1.0
    assert units.kwh(450, 730) == pytest.approx(328.5)


def test_a_purchase_amortizes_over_every_hour_of_its_life():
    # $35,040 over 4 years of 8,760 hours is $1 an hour, busy or idle.
    assert units.hourly_amortization(35_040, 4) == pytest.approx(1.0)


def test_inferences_per_hour_and_decimal_gigabytes():
    assert units.inferences_per_hour(287) == 1_033_200
    assert units.gb(2_500_000_000) == 2.5
