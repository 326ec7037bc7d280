"""The README's executor table is rendered from results/bench/executor.json (make bench)."""

import importlib.util
import json

from qmlrepro.paths import project_root

ROOT = project_root()


def _renderer():
    spec = importlib.util.spec_from_file_location(
        "readme_table", ROOT / "benchmarks" / "readme_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_is_the_committed_bench_rendered():
    table = _renderer()
    payload = json.loads((ROOT / "results" / "bench" / "executor.json").read_text())
    rendered = table.render(payload)
    assert "per-row weights" in rendered and "large states" in rendered
    readme = (ROOT / "README.md").read_text()
    assert f"{table.BEGIN}\n{rendered}\n{table.END}" in readme  # rerun make bench if this fails


def test_every_committed_bench_row_measured_something():
    payload = json.loads((ROOT / "results" / "bench" / "executor.json").read_text())
    failed = [k for k, v in payload["results"].items() if isinstance(v, dict) and "error" in v]
    assert not failed, failed
