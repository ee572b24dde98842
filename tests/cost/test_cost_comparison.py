"""compare(): from a results file to priced options and report files; refusals name the file and field."""

import json

import pytest

from inferstack.cost import compare
from inferstack.cost.report import CHART_NAME, JSON_NAME, MARKDOWN_NAME
from inferstack.errors import ConfigError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_cpu_demo_is_labelled_and_prices_only_cpu_options(results_file, tmp_path):
    comparison = compare(results_file(rps=40.0), tmp_path / "out", write=False)
    assert comparison.label.startswith("CPU DEMO")
    assert {o.device for o in comparison.options} == {"cpu"}
    assert {row["device"] for row in comparison.not_priced} >= {"A10G", "H100"}
    # 40 req/s on the test machine's 2 logical CPUs: 20 per vCPU; m5.xlarge has 4.
    m5 = next(o for o in comparison.options if o.name == "m5.xlarge on-demand")
    assert m5.rps_per_unit == pytest.approx(80.0)
    assert m5.throughput.basis == "measured"
    assert "CPU DEMO" in str(comparison)


def test_gpu_options_in_the_cpu_demo_need_an_explicit_estimate(results_file, tmp_path):
    comparison = compare(results_file(), tmp_path, throughput=["A10G=287"], write=False)
    g5 = next(o for o in comparison.options if o.name == "g5.xlarge on-demand")
    assert g5.throughput.basis == "estimate"
    assert "--throughput" in g5.throughput.source
    assert "A10G" in comparison.label


def test_a_gpu_run_on_g5_prices_the_measured_rate_per_gpu(results_file, tmp_path):
    path = results_file(
        rps=574.0, accelerator="A10G", environment="cloud", replicas=2, instance_type="g5.xlarge"
    )
    comparison = compare(path, tmp_path, target_rps=1000, utilization=1.0, write=False)
    assert comparison.label is None
    g5 = next(o for o in comparison.options if o.name == "g5.xlarge on-demand")
    assert g5.rps_per_unit == pytest.approx(287.0)
    assert g5.fleet.units == 5  # 1000 / (287 x 0.8) = 4.36
    expected_full = g5.unit.usd_per_hour(1.0) / (287 * 3600) * 1e6
    assert g5.usd_per_million_full == pytest.approx(expected_full)
    assert g5.usd_per_million_at_utilization == pytest.approx(expected_full)
    assert comparison.reference.name == "g5.xlarge on-demand"


def test_onprem_options_get_break_even_against_the_cheapest_cloud_on_demand(results_file, tmp_path):
    path = results_file(rps=287.0, accelerator="A10G", environment="cloud", instance_type="g5.xlarge")
    comparison = compare(path, tmp_path, throughput=["A10=287"], write=False)
    a10 = next(o for o in comparison.options if o.name == "onprem-1xA10")
    assert a10.break_even["against"] == "g5.xlarge on-demand"
    u = a10.break_even["utilization"]
    if u is not None:
        from inferstack.cost import model

        assert model.usd_per_million(a10.unit, a10.rps_per_unit, u) == pytest.approx(
            a10.break_even["against_usd_per_million"]
        )


def test_report_files_are_written_and_the_chart_is_a_real_png(results_file, tmp_path):
    out = tmp_path / "report"
    comparison = compare(results_file(), out, throughput=["A10G=287", "A10=287"])
    chart = out / CHART_NAME
    assert chart.stat().st_size > 10_000
    assert chart.read_bytes()[:8] == PNG_MAGIC
    markdown = (out / MARKDOWN_NAME).read_text()
    assert "730 hours" in markdown and "OpenCost" in markdown and "CPU DEMO" in markdown
    data = json.loads((out / JSON_NAME).read_text())
    assert data["schema"] == "inferstack.cost/v1"
    assert len(data["options"]) == len(comparison.options)
    for option in data["options"]:
        assert {"name", "kind", "pricing", "instance", "usd_per_million_inferences"} <= option.keys()
        assert option["kind"] in ("cloud", "onprem")
        assert option["usd_per_million_inferences"]["full_use"] > 0
        assert (
            option["usd_per_million_inferences"]["at_utilization"]
            >= option["usd_per_million_inferences"]["full_use"]
        )


def test_default_output_goes_beside_the_results(results_file):
    path = results_file()
    comparison = compare(path)
    assert comparison.files["cost.json"] == path.parent / "cost" / JSON_NAME


def test_a_failed_slo_is_refused_naming_the_file_and_the_verdict(results_file, tmp_path):
    path = results_file(passed=False)
    with pytest.raises(ConfigError) as err:
        compare(path, tmp_path)
    assert err.value.file == str(path)
    assert err.value.field == "verdict.passed"
    assert "--allow-failed-slo" in str(err.value)


def test_a_failed_slo_priced_on_request_is_labelled_everywhere(results_file, tmp_path):
    comparison = compare(results_file(passed=False), tmp_path, allow_failed_slo=True)
    assert comparison.label.startswith("SLO FAILED")
    assert "SLO FAILED" in str(comparison)
    data = json.loads((tmp_path / JSON_NAME).read_text())
    assert data["slo"]["passed"] is False and data["slo"]["priced_despite_failure"] is True
    assert "SLO FAILED" in (tmp_path / MARKDOWN_NAME).read_text()


def test_zero_measured_throughput_is_refused(results_file, tmp_path):
    with pytest.raises(ConfigError) as err:
        compare(results_file(rps=0.0), tmp_path, write=False)
    assert err.value.field == "measured.successful_rps"


@pytest.mark.parametrize("bad", ["A10G=0", "A10G=-3", "A10G", "A10G=fast", "TPU=100"])
def test_bad_throughput_estimates_are_refused(results_file, tmp_path, bad):
    with pytest.raises(ConfigError) as err:
        compare(results_file(), tmp_path, throughput=[bad], write=False)
    assert err.value.field == "--throughput"


def test_an_unknown_instance_type_names_the_results_field(results_file, tmp_path):
    path = results_file(accelerator="A10G", environment="cloud", instance_type="g9.mega")
    with pytest.raises(ConfigError, match="g9.mega") as err:
        compare(path, tmp_path, write=False)
    assert (err.value.file, err.value.field) == (str(path), "target.instance_type")


def test_a_gpu_the_catalog_does_not_have_is_refused_unless_estimates_price_something(results_file, tmp_path):
    path = results_file(accelerator="T4", environment="onprem")
    with pytest.raises(ConfigError) as err:
        compare(path, tmp_path, write=False)
    assert err.value.field == "target.accelerator"
    assert compare(path, tmp_path, throughput=["L4=500"], write=False).options


def test_a_cpu_run_whose_cpu_count_is_unknown_asks_for_it(results_file, tmp_path):
    with pytest.raises(ConfigError) as err:
        compare(results_file(machine={}), tmp_path, write=False)
    assert err.value.field == "target.instance_type"


@pytest.mark.parametrize("u", [0, 1.2])
def test_utilization_outside_zero_to_one_is_refused(results_file, tmp_path, u):
    with pytest.raises(ConfigError) as err:
        compare(results_file(), tmp_path, utilization=u, write=False)
    assert err.value.field == "--utilization"


def test_a_user_catalog_changes_the_price(results_file, tmp_path):
    prices = tmp_path / "prices.yaml"
    prices.write_text("cloud:\n  instances:\n    m5.xlarge:\n      usd_per_hour:\n        on_demand: 0.384\n")
    base = compare(results_file(), tmp_path / "a", write=False)
    dear = compare(results_file(), tmp_path / "b", catalog=prices, write=False)

    def m5(c):
        return next(o for o in c.options if o.name == "m5.xlarge on-demand")

    assert m5(dear).unit.components_at_full["instance"] == pytest.approx(0.384)
    assert m5(dear).usd_per_million_full > m5(base).usd_per_million_full
    assert m5(dear).basis.startswith("price user")
