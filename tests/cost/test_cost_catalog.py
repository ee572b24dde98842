"""The catalog: every figure cites its source, date and basis; user files override; bad figures are refused."""

from pathlib import Path

import pytest
import yaml

from inferstack.cost.catalog import DEFAULT_CATALOG, cited, load_catalog, price
from inferstack.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    return path


def test_every_default_figure_has_a_source_a_date_and_a_basis():
    rows = cited(load_catalog())
    assert len(rows) == DEFAULT_CATALOG.read_text().count("value:")  # none missed by the walk
    for row in rows:
        assert row["basis"] in ("published", "estimate"), row
        assert row["source"].strip(), row
        assert row["date"][:2] == "20", row


def test_the_prices_named_in_the_issue_are_published_as_seen():
    cloud = load_catalog().cloud
    seen = {
        "g5.xlarge": 1.006,
        "g6.xlarge": 0.8048,
        "g6e.xlarge": 1.861,
        "p4d.24xlarge": 21.958,
        "p5.48xlarge": 55.04,
    }
    for name, usd in seen.items():
        figure = cloud.instances[name].usd_per_hour["on_demand"]
        assert (figure.value, figure.basis, figure.date) == (usd, "published", "2026-01")
    assert cloud.eks_control_plane_usd_per_hour.value == 0.10


def test_pue_is_the_uptime_2023_average():
    pue = load_catalog().onprem.site.pue
    assert (pue.value, pue.basis) == (1.58, "published")
    assert "Uptime Institute" in pue.source


def test_spot_and_commitment_prices_are_derived_and_marked_estimates():
    cat = load_catalog()
    spot = price(cat.cloud.instances["g5.xlarge"], "spot", cat.cloud.discounts)
    assert spot.value == pytest.approx(1.006 * (1 - cat.cloud.discounts.spot.value))
    assert spot.basis == "estimate"
    assert "derived" in spot.source


def test_a_bare_number_in_a_user_file_overrides_and_is_marked_user(tmp_path):
    path = write(tmp_path, "onprem:\n  site:\n    electricity_usd_per_kwh: 0.25\n")
    cat = load_catalog(path)
    tariff = cat.onprem.site.electricity_usd_per_kwh
    assert (tariff.value, tariff.basis, tariff.source) == (0.25, "user", str(path))
    # Everything the user did not touch keeps its published source.
    assert cat.onprem.site.pue.basis == "published"


def test_a_user_file_can_add_an_instance(tmp_path):
    extra = {"cloud": {"instances": {"g4dn.xlarge": {"device": "T4", "devices": 1, "vcpus": 4,
                                                     "usd_per_hour": {"on_demand": 0.526}}}}}  # fmt: skip
    cat = load_catalog(write(tmp_path, yaml.safe_dump(extra)))
    assert cat.cloud.instances["g4dn.xlarge"].usd_per_hour["on_demand"].basis == "user"
    assert "g5.xlarge" in cat.cloud.instances


def test_a_negative_price_names_the_user_file_and_the_field(tmp_path):
    path = write(
        tmp_path, "cloud:\n  instances:\n    g5.xlarge:\n      usd_per_hour:\n        on_demand: -1\n"
    )
    with pytest.raises(ConfigError) as err:
        load_catalog(path)
    assert err.value.file == str(path)
    assert err.value.field.startswith("cloud.instances.g5.xlarge.usd_per_hour.on_demand")
    assert "fix:" in str(err.value)


def test_a_missing_on_demand_price_is_refused(tmp_path):
    extra = {"cloud": {"instances": {"x.large": {"device": "T4", "devices": 1, "vcpus": 4,
                                                 "usd_per_hour": {"spot": 0.2}}}}}  # fmt: skip
    with pytest.raises(ConfigError, match="on_demand") as err:
        load_catalog(write(tmp_path, yaml.safe_dump(extra)))
    assert err.value.field == "cloud.instances.x.large.usd_per_hour"


def test_a_price_without_a_value_is_refused(tmp_path):
    extra = {"onprem": {"servers": {"onprem-1xA10": {"purchase_usd": {"basis": "estimate", "source": "x",
                                                                      "date": "2026-01"}}}}}  # fmt: skip
    with pytest.raises(ConfigError, match="missing") as err:
        load_catalog(write(tmp_path, yaml.safe_dump(extra)))
    assert err.value.field == "onprem.servers.onprem-1xA10.purchase_usd.value"


def test_zero_purchase_price_and_pue_below_one_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="greater than 0"):
        load_catalog(write(tmp_path, "onprem:\n  servers:\n    onprem-1xA10:\n      purchase_usd: 0\n"))
    with pytest.raises(ConfigError, match="PUE"):
        load_catalog(write(tmp_path, "onprem:\n  site:\n    pue: 0.9\n"))


def test_a_misspelt_field_is_an_error_not_silently_ignored(tmp_path):
    with pytest.raises(ConfigError, match="unknown field") as err:
        load_catalog(write(tmp_path, "onprem:\n  site:\n    electricty_usd_per_kwh: 0.2\n"))
    assert err.value.field == "onprem.site.electricty_usd_per_kwh"


def test_the_default_catalog_refuses_a_bare_number(tmp_path, monkeypatch):
    # Only a user file may skip the source: a committed figure must cite one.
    data = yaml.safe_load(DEFAULT_CATALOG.read_text())
    data["onprem"]["site"]["pue"] = 1.4
    bad = tmp_path / "catalog.yaml"
    bad.write_text(yaml.safe_dump(data))
    monkeypatch.setattr("inferstack.cost.catalog.DEFAULT_CATALOG", bad)
    with pytest.raises(ConfigError) as err:
        load_catalog()
    assert err.value.field.startswith("onprem.site.pue")
