"""docs/cost.md's numbers, recomputed from the model and the catalog, so the page cannot drift from the code."""

from pathlib import Path

import pytest

from inferstack.cost import compare, model
from inferstack.cost.catalog import load_catalog

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cost.md").read_text()
BRL_PER_USD = 5.2066  # commercial dollar close, 2026-01-28, as the page states
RPS = 287


def units():
    c = load_catalog().cloud
    price = c.instances["g5.xlarge"].usd_per_hour["on_demand"].value
    bare = model.cloud_unit(instance_usd_per_hour=price, rps_per_unit=RPS, node_volume_gb=0,
                            ebs_usd_per_gb_month=0, egress_usd_per_gb=0, response_bytes=0)  # fmt: skip
    full = model.cloud_unit(
        instance_usd_per_hour=price,
        rps_per_unit=RPS,
        node_volume_gb=c.node_volume_gb.value,
        ebs_usd_per_gb_month=c.ebs_gp3_usd_per_gb_month.value,
        egress_usd_per_gb=c.egress_usd_per_gb.value,
        response_bytes=c.response_bytes.value,
    )
    return bare, full


def per_inference(unit, u=1.0):
    return model.usd_per_million(unit, RPS, u) / 1e6


def test_the_exchange_rate_and_its_date_are_stated():
    assert "R$5.2066 per US$" in DOC and "2026-01-28" in DOC


def test_cost_per_inference_at_full_use_matches_the_page():
    bare, full = units()
    assert per_inference(bare) == pytest.approx(1e-6, rel=0.05)  # "about US$1e-6", as the issue expects
    assert f"US${per_inference(bare):.3e}" in DOC
    assert f"R${per_inference(bare) * BRL_PER_USD:.3e}" in DOC
    assert f"US${per_inference(full):.3e}" in DOC
    assert f"R${per_inference(full) * BRL_PER_USD:.3e}" in DOC
    assert f"R${per_inference(bare, 0.5) * BRL_PER_USD:.3e}" in DOC
    assert f"{0.006 / BRL_PER_USD / per_inference(bare):,.0f} times" in DOC
    assert f"{0.03 / BRL_PER_USD / per_inference(bare):,.0f} times" in DOC


def test_the_utilization_that_makes_the_claim_true_matches_the_page():
    bare, full = units()
    for claim_brl in (0.006, 0.03):
        u = model.utilization_for_price(bare, RPS, claim_brl / BRL_PER_USD)
        assert f"{u:.4%}" in DOC
    u_full = model.utilization_for_price(full, RPS, 0.006 / BRL_PER_USD)
    assert f"{u_full:.4%}" in DOC
    u = model.utilization_for_price(bare, RPS, 0.006 / BRL_PER_USD)
    assert f"{u * RPS:.2f} requests per second" in DOC


def test_the_cpu_demo_example_matches_the_page(results_file, tmp_path):
    comparison = compare(results_file(rps=40.0, machine={"cpu_count": 2}), tmp_path, write=False)
    by_name = {o.name: o for o in comparison.options}
    server = by_name["onprem-cpu-32vcpu"]
    assert f"${server.usd_per_million_at_utilization:.2f} per million" in DOC
    assert f"${by_name['m5.xlarge spot'].usd_per_million_at_utilization:.2f} per million" in DOC
    assert f"${by_name['m5.xlarge on-demand'].usd_per_million_at_utilization:.2f} per million" in DOC
    assert f"above {server.break_even['utilization']:.0%} utilization" in DOC
    assert server.break_even["months"] is None and "never pays back" in DOC
