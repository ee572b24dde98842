"""The arithmetic, checked against sums done by hand, and properties that must hold for any input."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstack.cost import model

# --- hand-computed cases ---------------------------------------------------------------------------------


def bare_cloud(price: float, rps: float) -> model.UnitCost:
    return model.cloud_unit(
        instance_usd_per_hour=price,
        rps_per_unit=rps,
        node_volume_gb=0,
        ebs_usd_per_gb_month=0,
        egress_usd_per_gb=0,
        response_bytes=0,
    )


def test_g5_xlarge_at_287_rps_costs_about_a_millionth_of_a_dollar_per_inference():
    # 1.006 USD/h / (287 req/s x 3600 s/h) = 1.006 / 1,033,200 = 9.7367e-7 USD per inference.
    unit = bare_cloud(1.006, 287)
    assert model.usd_per_million(unit, 287, 1.0) == pytest.approx(0.973674, rel=1e-5)
    # Half the time idle: the same hourly price is spread over half the inferences.
    assert model.usd_per_million(unit, 287, 0.5) == pytest.approx(1.947348, rel=1e-5)


def test_cloud_disk_is_gb_times_monthly_rate_spread_over_730_hours():
    unit = model.cloud_unit(
        instance_usd_per_hour=1.0,
        rps_per_unit=10,
        node_volume_gb=100,
        ebs_usd_per_gb_month=0.08,
        egress_usd_per_gb=0,
        response_bytes=0,
    )
    assert unit.components_at_full["disk"] == pytest.approx(8 / 730)
    assert unit.fixed_usd_per_hour == pytest.approx(1 + 8 / 730)


def test_cloud_egress_grows_with_the_inferences_served():
    # 100 req/s x 3600 = 360,000 responses/h x 1 MB = 360 GB/h x 0.09 USD/GB = 32.4 USD/h at full use.
    unit = model.cloud_unit(
        instance_usd_per_hour=0,
        rps_per_unit=100,
        node_volume_gb=0,
        ebs_usd_per_gb_month=0,
        egress_usd_per_gb=0.09,
        response_bytes=1_000_000,
    )
    assert unit.variable_usd_per_hour_at_full == pytest.approx(32.4)
    assert unit.usd_per_hour(0.5) == pytest.approx(16.2)


def onprem_example() -> model.UnitCost:
    return model.onprem_unit(
        purchase_usd=8760,  # 1 year -> 1.00 USD/h
        amortization_years=1,
        power_load_w=1000,  # 1 kWh/h x PUE 1.5 x 0.10 = 0.15 USD/h above idle
        power_idle_w=0,
        pue=1.5,
        electricity_usd_per_kwh=0.10,
        colocation_usd_per_kw_month=73,  # 1 kW x 73 / 730 = 0.10 USD/h
        maintenance_fraction_per_year=0.1,  # 876 USD/year = 0.10 USD/h
        engineer_usd_per_year=87600,  # x 0.1 = 8760 USD/year = 1.00 USD/h
        ops_engineer_fraction=0.1,
    )


def test_onprem_hourly_cost_by_hand():
    unit = onprem_example()
    assert unit.capex_usd_per_hour == pytest.approx(1.0)
    assert unit.fixed_usd_per_hour == pytest.approx(1.0 + 0.1 + 0.1 + 1.0)
    assert unit.variable_usd_per_hour_at_full == pytest.approx(0.15)
    assert unit.usd_per_hour(0.5) == pytest.approx(2.275)
    # 2.275 USD/h / (100 req/s x 0.5 x 3600) x 1e6 = 12.6389 USD per million.
    assert model.usd_per_million(unit, 100, 0.5) == pytest.approx(2.275 / 180_000 * 1e6)


def test_onprem_idle_power_is_paid_even_when_nothing_is_served():
    unit = model.onprem_unit(
        purchase_usd=1,
        amortization_years=1000,
        power_load_w=500,
        power_idle_w=200,  # 0.2 kWh/h x 1.58 x 0.13
        pue=1.58,
        electricity_usd_per_kwh=0.13,
        colocation_usd_per_kw_month=0,
        maintenance_fraction_per_year=0,
        engineer_usd_per_year=0,
        ops_engineer_fraction=0,
    )
    assert unit.usd_per_hour(0.0) == pytest.approx(0.2 * 1.58 * 0.13 + 1 / (1000 * 8760))
    assert unit.usd_per_hour(1.0) == pytest.approx(0.5 * 1.58 * 0.13 + 1 / (1000 * 8760))


def test_units_needed_keeps_each_unit_under_its_headroom():
    assert model.units_needed(100, 50, 0.8) == 3  # 100 / 40 = 2.5 -> 3
    assert model.units_needed(80, 50, 0.8) == 2  # exactly 2: no spare unit for rounding noise
    assert model.units_needed(0.1, 50, 0.8) == 1


def test_fleet_monthly_cost_and_cost_per_million_at_the_target_rate():
    unit = bare_cloud(1.0, 50)
    fleet = model.fleet(unit, 50, 100, headroom=1.0, overhead_usd_per_hour=0.1)
    assert fleet.units == 2
    assert fleet.effective_utilization == pytest.approx(1.0)
    assert fleet.monthly_usd == pytest.approx((2 * 1.0 + 0.1) * 730)
    # 1533 USD / (100 req/s x 3600 x 730 = 262.8 M inferences) = 5.8333 USD per million.
    assert fleet.usd_per_million == pytest.approx(1533 / 262.8)


def test_break_even_utilization_by_hand():
    # Reference 10 USD/M on a 100 req/s unit = 3.6 USD/h of work; (3.6 - 0.15) x u = 2.2 -> u = 0.6377.
    unit = onprem_example()
    u = model.break_even_utilization(unit, 100, 10.0)
    assert u == pytest.approx(2.2 / 3.45)
    assert model.usd_per_million(unit, 100, u) == pytest.approx(10.0)


def test_break_even_is_none_when_even_full_use_is_dearer():
    assert model.break_even_utilization(onprem_example(), 100, 1.0) is None


def test_months_to_break_even_by_hand_and_never():
    assert model.months_to_break_even(12_000, 200, 1_200) == pytest.approx(12.0)
    assert model.months_to_break_even(12_000, 1_300, 1_200) is None


@pytest.mark.parametrize("rps", [0, -5])
def test_zero_or_negative_throughput_is_refused(rps):
    with pytest.raises(ValueError, match="throughput"):
        model.usd_per_million(bare_cloud(1.0, 1), rps, 0.5)


@pytest.mark.parametrize("u", [0, -0.1, 1.5])
def test_utilization_outside_zero_to_one_is_refused(u):
    with pytest.raises(ValueError, match="utilization"):
        model.usd_per_million(bare_cloud(1.0, 1), 10, u)


# --- properties ------------------------------------------------------------------------------------------

money = st.floats(min_value=0.001, max_value=100_000, allow_nan=False)
rate = st.floats(min_value=0.01, max_value=100_000, allow_nan=False)
fraction = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)


def any_unit(fixed: float, variable: float) -> model.UnitCost:
    return model.UnitCost(fixed_usd_per_hour=fixed, variable_usd_per_hour_at_full=variable)


@given(fixed=money, variable=st.floats(min_value=0, max_value=1000), rps=rate, u1=fraction, u2=fraction)
def test_cost_per_inference_falls_as_utilization_rises(fixed, variable, rps, u1, u2):
    low, high = sorted((u1, u2))
    unit = any_unit(fixed, variable)
    at_low, at_high = model.usd_per_million(unit, rps, low), model.usd_per_million(unit, rps, high)
    if high > low * (1 + 1e-9):  # distinct beyond float rounding
        assert at_high < at_low
    assert at_high <= at_low * (1 + 1e-12)


@given(price=money, bytes_=st.floats(min_value=0, max_value=1e6), r1=rate, r2=rate, u=fraction)
def test_more_throughput_never_costs_more_per_inference(price, bytes_, r1, r2, u):
    slow, fast = sorted((r1, r2))

    def cost(rps):
        unit = model.cloud_unit(
            instance_usd_per_hour=price,
            rps_per_unit=rps,
            node_volume_gb=100,
            ebs_usd_per_gb_month=0.08,
            egress_usd_per_gb=0.09,
            response_bytes=bytes_,
        )
        return model.usd_per_million(unit, rps, u)

    assert cost(fast) <= cost(slow) * (1 + 1e-9)


@given(target=rate, rps=rate, headroom=fraction)
def test_units_needed_is_the_fewest_that_stay_under_headroom(target, rps, headroom):
    n = model.units_needed(target, rps, headroom)
    capacity = rps * headroom
    assert n * capacity >= target * (1 - 1e-9)
    assert n == 1 or (n - 1) * capacity < target


@given(fixed=money, variable=st.floats(min_value=0, max_value=100), rps=rate, reference=money)
def test_at_the_break_even_utilization_both_prices_agree(fixed, variable, rps, reference):
    unit = any_unit(fixed, variable)
    u = model.break_even_utilization(unit, rps, reference)
    if u is None:
        assert model.usd_per_million(unit, rps, 1.0) >= reference * (1 - 1e-9)
    else:
        assert 0 < u <= 1
        assert math.isclose(model.usd_per_million(unit, rps, u), reference, rel_tol=1e-6)
