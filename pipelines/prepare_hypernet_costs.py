"""DVC stage prepare_hypernet_costs: every hypernet task's 2^N networks -> data/hypernet/.

python pipelines/prepare_hypernet_costs.py profile=default
"""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import compose_config
from qmlrepro.data.artifacts import make_dir, write_manifest
from qmlrepro.papers.hypernet.costs import write_cost_table
from qmlrepro.papers.hypernet.experiment import build_task
from qmlrepro.paths import resolve


def main(overrides: Sequence[str]) -> None:
    cfg = compose_config(["paper=hypernet", *overrides])
    paper = cfg.paper
    out_dir = resolve(paper.cost_dir)
    make_dir(out_dir)
    entries, seconds = {}, 0.0
    for name in paper.tasks:
        task = build_task(cfg, name)
        data = task.load(resolve(task.data), paper.data_limit)
        entries[name] = entry = write_cost_table(out_dir, task, data, paper.optimal_tolerance)
        print(
            f"{name}: 2^{entry['n_bits']} networks in {entry['seconds']} s, "
            f"C_min {entry['cost_min']:.8f} ({entry['n_optimal']} within "
            f"{paper.optimal_tolerance:g}), optimum test accuracy {entry['best_test_accuracy']:.4f}"
        )
        seconds += entry["seconds"]
    print(f"{len(entries)} landscapes enumerated in {seconds:.1f} s")
    provenance = {
        "bit_order": "index = sum_k b_k 2^(N-1-k): the first parameter is the most significant bit",
        "data_limit": paper.data_limit,
        "profile": cfg.profile.name,
    }
    write_manifest(out_dir, entries, provenance)


if __name__ == "__main__":
    run_cli(main)
