"""The cost catalog: prices and assumptions, each with its source, date and basis.

The default catalog ships inside the package (catalog.yaml). A user file with the same layout is laid over
it, so a team changes only the figures it knows better (its electricity tariff, its negotiated discount)
and every other figure keeps its published source. A figure a user gives is marked `user` and names the
file it came from, so a report can always say where each number came from.
"""

from __future__ import annotations

import contextvars
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from inferstack.config import Strict, read_yaml, validate
from inferstack.errors import ConfigError

DEFAULT_CATALOG = Path(__file__).with_name("catalog.yaml")
PRICINGS = ("on_demand", "spot", "commit_1y", "commit_3y")
Pricing = Literal["on_demand", "spot", "commit_1y", "commit_3y"]
Basis = Literal["published", "estimate", "user"]

# The file being laid over the default while it is validated: a bare number there becomes a `user` figure
# naming that file. A context variable because pydantic gives validators no other way to know it.
_user_file: contextvars.ContextVar[str | None] = contextvars.ContextVar("cost_user_file", default=None)

_DATE = re.compile(r"^\d{4}(-\d{2}){0,2}$")


class Figure(Strict):
    """One number and where it came from."""

    value: float = Field(ge=0, description="the figure, in the unit its field name states; never negative")
    basis: Basis = Field(description="published (printed by its owner), estimate (our assumption) or user")
    source: str = Field(min_length=1, description="where the figure comes from: a URL or the reasoning")
    date: str = Field(description="when the figure was seen: YYYY-MM or YYYY-MM-DD")

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, data: Any) -> Any:
        # Overrides may be written as bare numbers; only a user file may do so (the default must cite).
        user = _user_file.get()
        if isinstance(data, bool):
            return data
        if isinstance(data, int | float) and user is not None:
            return {"value": data, "basis": "user", "source": user, "date": "unknown"}
        if isinstance(data, dict) and user is not None and "basis" not in data and "value" in data:
            return {"basis": "user", "source": user, "date": "unknown", **data}
        return data

    @field_validator("date")
    @classmethod
    def _date_shape(cls, value: str) -> str:
        if value != "unknown" and not _DATE.match(value):
            raise ValueError("must be a date written YYYY-MM or YYYY-MM-DD")
        return value


def _positive(figure: Figure | None, what: str) -> Figure | None:
    if figure is not None and figure.value <= 0:
        raise ValueError(f"{what} must be greater than 0")
    return figure


def _fraction(figure: Figure, what: str, *, allow_zero: bool = True, allow_one: bool = True) -> Figure:
    low_ok = figure.value >= 0 if allow_zero else figure.value > 0
    high_ok = figure.value <= 1 if allow_one else figure.value < 1
    if not (low_ok and high_ok):
        raise ValueError(f"{what} is a fraction between 0 and 1")
    return figure


class Planning(Strict):
    headroom: Figure = Field(
        description="fraction of SLO-passing throughput a replica is planned to carry (0-1]"
    )
    utilization: Figure = Field(description="average fraction of bought capacity that is busy (0-1]")

    @field_validator("headroom", "utilization")
    @classmethod
    def _fractions(cls, figure: Figure) -> Figure:
        return _fraction(figure, "this", allow_zero=False)


class Discounts(Strict):
    spot: Figure = Field(description="fraction off the on-demand price, 0-1")
    commit_1y: Figure = Field(description="fraction off the on-demand price, 0-1")
    commit_3y: Figure = Field(description="fraction off the on-demand price, 0-1")

    @field_validator("spot", "commit_1y", "commit_3y")
    @classmethod
    def _fractions(cls, figure: Figure) -> Figure:
        return _fraction(figure, "a discount", allow_one=False)


class CloudInstance(Strict):
    device: str = Field(min_length=1, description="GPU model (A10G, L4, H100...) or 'cpu'")
    devices: int = Field(ge=1, description="GPUs in the instance (one replica each), or vCPUs for 'cpu'")
    vcpus: int = Field(ge=1, description="vCPUs of the instance")
    usd_per_hour: dict[Pricing, Figure] = Field(
        description="price per instance-hour by pricing model; on_demand is required, the others may be derived"
    )

    @field_validator("usd_per_hour")
    @classmethod
    def _on_demand(cls, prices: dict[str, Figure]) -> dict[str, Figure]:
        if "on_demand" not in prices:
            raise ValueError("needs an on_demand price (the others are derived from it when absent)")
        for name, figure in prices.items():
            _positive(figure, f"the {name} price")
        return prices


class Cloud(Strict):
    provider: str
    region: str
    discounts: Discounts
    eks_control_plane_usd_per_hour: Figure
    node_volume_gb: Figure
    ebs_gp3_usd_per_gb_month: Figure
    model_store_gb: Figure
    s3_usd_per_gb_month: Figure
    egress_usd_per_gb: Figure
    response_bytes: Figure
    instances: dict[str, CloudInstance]


class Site(Strict):
    pue: Figure = Field(description="power usage effectiveness: facility power / IT power, at least 1")
    electricity_usd_per_kwh: Figure
    colocation_usd_per_kw_month: Figure
    maintenance_fraction_per_year: Figure
    engineer_usd_per_year: Figure
    ops_engineer_fraction_per_server: Figure
    amortization_years: Figure

    @field_validator("pue")
    @classmethod
    def _pue(cls, figure: Figure) -> Figure:
        if figure.value < 1:
            raise ValueError("PUE is facility power over IT power, so it is at least 1")
        return figure

    @field_validator("amortization_years")
    @classmethod
    def _years(cls, figure: Figure) -> Figure:
        return _positive(figure, "amortization_years")


class Server(Strict):
    device: str = Field(min_length=1, description="GPU model (A10, L4, H100...) or 'cpu'")
    devices: int = Field(ge=1, description="GPUs in the server (one replica each), or vCPUs for 'cpu'")
    vcpus: int = Field(ge=1, description="vCPUs of the server")
    purchase_usd: Figure = Field(description="purchase price of one server, in USD")
    power_load_w: Figure = Field(description="wall power at full load, watts")
    power_idle_w: Figure = Field(description="wall power when idle, watts")
    amortization_years: Figure | None = Field(None, description="overrides onprem.site.amortization_years")

    @field_validator("purchase_usd", "power_load_w")
    @classmethod
    def _must_be_positive(cls, figure: Figure) -> Figure:
        return _positive(figure, "this figure")

    @field_validator("amortization_years")
    @classmethod
    def _years(cls, figure: Figure | None) -> Figure | None:
        return _positive(figure, "amortization_years")

    @model_validator(mode="after")
    def _idle_below_load(self) -> Server:
        if self.power_idle_w.value > self.power_load_w.value:
            raise ValueError("power_idle_w is above power_load_w")
        return self


class Onprem(Strict):
    site: Site
    servers: dict[str, Server]


class Catalog(Strict):
    schema_: Literal["inferstack.cost-catalog/v1"] = Field(alias="schema")
    currency: Literal["USD"]
    planning: Planning
    cloud: Cloud
    onprem: Onprem

    model_config = {"extra": "forbid", "frozen": True, "populate_by_name": True}


def _merge(base: Any, over: Any) -> Any:
    """Lay `over` on `base`: mappings merge key by key; anything else (a figure, a number) replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        if "value" in over or "value" in base:  # a figure is replaced whole, not merged field by field
            return over
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    return over


def _has_field(data: Any, field: str | None) -> bool:
    """Whether the dotted field path (as config.validate names it) exists in `data`."""
    if not field:
        return False
    node = data
    for part in re.findall(r"[^.\[\]]+", field):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def load_catalog(override: str | Path | None = None) -> Catalog:
    """The default catalog, with the user's file laid over it when one is given.

    An error names the file the offending field came from: the user's file, or the default catalog.
    """
    base = read_yaml(DEFAULT_CATALOG)
    if override is None:
        return validate(Catalog, base, DEFAULT_CATALOG)
    override = Path(override)
    user = read_yaml(override)
    if user is None:
        user = {}
    if not isinstance(user, dict):
        raise ConfigError(
            override, None, "a catalog override must be a mapping", "write the catalog layout (docs/cost.md)"
        )
    token = _user_file.set(str(override))
    try:
        return validate(Catalog, _merge(base, user), override)
    except ConfigError as exc:
        if exc.field and not _has_field(user, exc.field) and _has_field(base, exc.field):
            raise ConfigError(DEFAULT_CATALOG, exc.field, exc.problem, exc.fix) from None
        raise
    finally:
        _user_file.reset(token)


def price(instance: CloudInstance, pricing: str, discounts: Discounts) -> Figure:
    """The instance's price for a pricing model: its own listed figure, or on-demand less the catalog discount."""
    listed = instance.usd_per_hour.get(pricing)
    if listed is not None:
        return listed
    discount: Figure = getattr(discounts, pricing)
    on_demand = instance.usd_per_hour["on_demand"]
    basis = "estimate" if "estimate" in (discount.basis, on_demand.basis) else discount.basis
    return Figure(
        value=on_demand.value * (1 - discount.value),
        basis=basis,
        source=f"derived: on-demand price x (1 - cloud.discounts.{pricing} {discount.value:g})",
        date=on_demand.date,
    )


def cited(catalog: Catalog) -> list[dict]:
    """Every figure in the catalog, flattened, for the report's list of sources."""
    rows: list[dict] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Figure):
            rows.append({"field": path, **node.model_dump()})
        elif isinstance(node, Strict):
            for name in type(node).model_fields:
                walk(getattr(node, name), f"{path}.{name}" if path else name)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))

    walk(catalog, "")
    return rows
