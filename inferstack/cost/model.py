"""The cost model: plain arithmetic on plain numbers, so each formula can be checked by hand.

Method (stated in every report):
- Asset cost = amount x duration x rate (as the OpenCost specification prices assets). A unit (a cloud
  instance or an on-prem server) costs its hourly rate for every hour it exists, busy or idle: idle cost is
  counted, as OpenCost counts it, not hidden.
- A month is 730 hours (as Infracost counts it).
- A unit's hourly cost at utilization u is fixed + variable x u: the fixed part is paid whether or not it
  serves (instance price, disk, amortized purchase, idle power, colocation, maintenance, operations); the
  variable part grows with the work done (egress, power above idle).
- Cost per inference = hourly cost / inferences served in that hour = hourly cost / (throughput x u x 3600).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from inferstack.cost import units


@dataclass(frozen=True)
class UnitCost:
    """What one unit (instance or server) costs per hour: fixed + variable_at_full x utilization."""

    fixed_usd_per_hour: float
    variable_usd_per_hour_at_full: float
    capex_usd_per_hour: float = 0.0  # the amortization share of `fixed` (on-prem)
    purchase_usd: float = 0.0  # paid up front (on-prem)
    components_at_full: dict[str, float] = field(default_factory=dict)  # USD/hour at full use, for the report

    def usd_per_hour(self, utilization: float) -> float:
        return self.fixed_usd_per_hour + self.variable_usd_per_hour_at_full * utilization


def _check_rate(rps: float, utilization: float) -> None:
    if not rps > 0:
        raise ValueError(f"throughput must be greater than 0 (got {rps})")
    if not 0 < utilization <= 1:
        raise ValueError(f"utilization is a fraction in (0, 1] (got {utilization})")


def usd_per_million(unit: UnitCost, rps_per_unit: float, utilization: float) -> float:
    """USD per million inferences for a unit that can serve `rps_per_unit` and is busy `utilization` of the time."""
    _check_rate(rps_per_unit, utilization)
    served_per_hour = units.inferences_per_hour(rps_per_unit) * utilization
    return unit.usd_per_hour(utilization) / served_per_hour * units.PER_MILLION


def cloud_unit(
    *,
    instance_usd_per_hour: float,
    rps_per_unit: float,
    node_volume_gb: float,
    ebs_usd_per_gb_month: float,
    egress_usd_per_gb: float,
    response_bytes: float,
) -> UnitCost:
    instance = instance_usd_per_hour
    disk = units.hourly_from_monthly(node_volume_gb * ebs_usd_per_gb_month)
    egress = units.gb(units.inferences_per_hour(rps_per_unit) * response_bytes) * egress_usd_per_gb
    return UnitCost(
        fixed_usd_per_hour=instance + disk,
        variable_usd_per_hour_at_full=egress,
        components_at_full={"instance": instance, "disk": disk, "egress": egress},
    )


def onprem_unit(
    *,
    purchase_usd: float,
    amortization_years: float,
    power_load_w: float,
    power_idle_w: float,
    pue: float,
    electricity_usd_per_kwh: float,
    colocation_usd_per_kw_month: float,
    maintenance_fraction_per_year: float,
    engineer_usd_per_year: float,
    ops_engineer_fraction: float,
) -> UnitCost:
    capex = units.hourly_amortization(purchase_usd, amortization_years)
    idle_energy = units.kwh(power_idle_w, 1) * pue * electricity_usd_per_kwh
    extra_energy_at_full = units.kwh(power_load_w - power_idle_w, 1) * pue * electricity_usd_per_kwh
    # Colocation is charged on the power provisioned for the server (its load power), busy or not.
    colocation = units.hourly_from_monthly(power_load_w / 1000.0 * colocation_usd_per_kw_month)
    maintenance = units.hourly_from_yearly(purchase_usd * maintenance_fraction_per_year)
    operations = units.hourly_from_yearly(engineer_usd_per_year * ops_engineer_fraction)
    return UnitCost(
        fixed_usd_per_hour=capex + idle_energy + colocation + maintenance + operations,
        variable_usd_per_hour_at_full=extra_energy_at_full,
        capex_usd_per_hour=capex,
        purchase_usd=purchase_usd,
        components_at_full={
            "amortization": capex,
            "energy": idle_energy + extra_energy_at_full,
            "colocation": colocation,
            "maintenance": maintenance,
            "operations": operations,
        },
    )


def units_needed(target_rps: float, rps_per_unit: float, headroom: float) -> int:
    """Units so that none carries more than `headroom` of the throughput it sustained within the SLO."""
    _check_rate(rps_per_unit, headroom)
    if not target_rps > 0:
        raise ValueError(f"target rate must be greater than 0 (got {target_rps})")
    return max(1, math.ceil(target_rps / (rps_per_unit * headroom) - 1e-9))


@dataclass(frozen=True)
class Fleet:
    """The units needed to serve a target rate, and what they cost a month."""

    units: int
    effective_utilization: float  # target / (units x throughput per unit)
    monthly_usd: float  # units and overhead, 730 hours
    usd_per_million: float  # monthly cost / inferences served in the month at the target rate
    capex_usd: float  # paid up front (on-prem)
    opex_monthly_usd: float  # monthly cost without amortization: what keeps running after purchase


def fleet(
    unit: UnitCost,
    rps_per_unit: float,
    target_rps: float,
    headroom: float,
    overhead_usd_per_hour: float = 0.0,
) -> Fleet:
    count = units_needed(target_rps, rps_per_unit, headroom)
    utilization = target_rps / (count * rps_per_unit)
    hourly = count * unit.usd_per_hour(utilization) + overhead_usd_per_hour
    monthly = units.monthly(hourly)
    served = units.inferences_per_hour(target_rps) * units.HOURS_PER_MONTH
    return Fleet(
        units=count,
        effective_utilization=utilization,
        monthly_usd=monthly,
        usd_per_million=monthly / served * units.PER_MILLION,
        capex_usd=count * unit.purchase_usd,
        opex_monthly_usd=monthly - units.monthly(count * unit.capex_usd_per_hour),
    )


def break_even_utilization(
    unit: UnitCost, rps_per_unit: float, reference_usd_per_million: float
) -> float | None:
    """The utilization above which this unit serves an inference for less than the reference price.

    Solves (fixed + variable x u) / (throughput x u x 3600) x 1e6 = reference for u. None when no
    utilization up to 100% gets there.
    """
    _check_rate(rps_per_unit, 1.0)
    per_hour_at_reference = (
        reference_usd_per_million / units.PER_MILLION * units.inferences_per_hour(rps_per_unit)
    )
    margin = per_hour_at_reference - unit.variable_usd_per_hour_at_full
    if margin <= 0:
        return None
    utilization = unit.fixed_usd_per_hour / margin
    return utilization if utilization <= 1 else None


def months_to_break_even(
    capex_usd: float, opex_monthly_usd: float, alternative_monthly_usd: float
) -> float | None:
    """Months until a purchase is paid back by what it saves against the alternative; None if it never is."""
    saving = alternative_monthly_usd - opex_monthly_usd
    if saving <= 0:
        return None
    return capex_usd / saving


def utilization_for_price(unit: UnitCost, rps_per_unit: float, usd_per_inference: float) -> float | None:
    """The utilization at which this unit's cost per inference equals a given price (checks a claim)."""
    return break_even_utilization(unit, rps_per_unit, usd_per_inference * units.PER_MILLION)
