"""What one inference costs on-prem vs in the cloud, from throughput measured within the SLO.

`compare(results_path, out_dir)` is the entry point for code (make demo); `inferstack cost` for people.
Modules: catalog (prices with sources), throughput (from results.json or estimates), model (the arithmetic),
comparison (joins them), report (table, cost.json, Markdown, chart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inferstack.cost.comparison import Comparison

__all__ = ["compare"]


def compare(results_path, out_dir=None, catalog=None, target_rps=None, **options) -> Comparison:
    """Price the results file against the catalog and write cost.json, cost.md and the chart to out_dir.

    Returns a Comparison; print it for a short summary. See inferstack.cost.comparison.compare for options.
    """
    from inferstack.cost.comparison import compare as _compare

    return _compare(results_path, out_dir=out_dir, catalog=catalog, target_rps=target_rps, **options)
