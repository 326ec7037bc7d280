"""DVC stage report: results/REPORT.md and its plots from the jobs listed in params.yaml."""

from collections.abc import Sequence

import yaml

from qmlrepro.cli import run_cli
from qmlrepro.paths import project_root, resolve
from qmlrepro.report.writer import stage_list, update_readme_verdicts, write_report
from qmlrepro.tracking.git import git_state


def main(args: Sequence[str]) -> None:
    params = yaml.safe_load((project_root() / "params.yaml").read_text())
    jobs = stage_list(params.get("train") or {}, params.get("evaluate") or {})
    written = write_report(
        resolve("results"),
        jobs,
        params["profile"],
        git_state(project_root()),
        resolve("results/REPORT.md"),
    )
    for path in written:
        print(f"wrote {path.relative_to(project_root())}")
    # README shows the default profile's verdicts (what `make reproduce-paper` gives), never a
    # smoke or paper-scale run's
    readme = project_root() / "README.md"
    if params["profile"] == "default" and update_readme_verdicts(written[0], readme):
        print("updated the verdict table of README.md")


if __name__ == "__main__":
    run_cli(main)
