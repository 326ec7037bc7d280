"""Run one paper's jobs from params.yaml with extra overrides, outside the DVC graph, into their
own results folder and report: e.g. the qssl jobs on CIFAR-10, which DVC cannot depend on here
because it downloads.

python pipelines/run_variant.py paper=qssl variant=cifar10 profile=paper dataset=cifar10
-> results/variants/cifar10/{metrics,checkpoints,REPORT.md,plots}
"""

from collections.abc import Sequence

import yaml

from qmlrepro.cli import run_cli, split_named
from qmlrepro.errors import ConfigError
from qmlrepro.paths import project_root, resolve
from qmlrepro.report.writer import stage_list, write_report
from qmlrepro.stages import evaluate, train
from qmlrepro.tracking.git import git_state


def main(args: Sequence[str]) -> None:
    own = ("paper", "variant", "profile")
    named, extra = split_named(args, own)
    if set(named) != set(own):
        raise ConfigError("usage: run_variant.py paper=<id> variant=<name> profile=<p> [overrides]")
    params = yaml.safe_load((project_root() / "params.yaml").read_text())
    train_jobs = {k: v for k, v in params["train"].items() if v["paper"] == named["paper"]}
    eval_jobs = {k: v for k, v in params["evaluate"].items() if v["paper"] == named["paper"]}
    if not train_jobs:
        raise ConfigError(f"no job of paper '{named['paper']}' in params.yaml")
    results_dir = f"results/variants/{named['variant']}"
    for job, spec in train_jobs.items():
        overrides = [f"job={job}", f"profile={named['profile']}", f"paper={spec['paper']}"]
        print(
            f"train {job}: wrote",
            train([*overrides, *spec["overrides"].split(), *extra, f"results_dir={results_dir}"]),
        )
    for spec in eval_jobs.values():
        print(
            f"evaluate {spec['job']} on {spec['backend']}: wrote",
            evaluate(spec["job"], spec["backend"], (), results_dir),
        )
    report = resolve(results_dir) / "REPORT.md"
    write_report(
        resolve(results_dir),
        stage_list(train_jobs, eval_jobs),
        named["profile"],
        git_state(project_root()),
        report,
    )
    print(f"wrote {report}")


if __name__ == "__main__":
    run_cli(main)
