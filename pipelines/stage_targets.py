"""Print the DVC stages (train@..., evaluate@...) of one paper, for `make reproduce-<paper>`."""

import sys

import yaml

from qmlrepro.cli import run_cli
from qmlrepro.errors import ConfigError
from qmlrepro.paths import project_root


def main(args: list[str]) -> None:
    params = yaml.safe_load((project_root() / "params.yaml").read_text())
    if len(args) != 1:
        raise ConfigError("usage: stage_targets.py <paper id>")
    stages = [
        f"{stage}@{name}"
        for stage in ("train", "evaluate")
        for name, spec in (params.get(stage) or {}).items()
        if spec["paper"] == args[0]
    ]
    if not stages:
        papers = sorted({s["paper"] for s in (params.get("train") or {}).values()})
        raise ConfigError(
            f"no job of paper '{args[0]}' in params.yaml; papers with jobs: {', '.join(papers)}"
        )
    sys.stdout.write(" ".join(stages) + "\n")


if __name__ == "__main__":
    run_cli(main)
