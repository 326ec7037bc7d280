"""DVC stage report: results/REPORT.md and its plots from the jobs listed in params.yaml."""

import sys
from collections.abc import Sequence

import yaml

from qmlrepro.cli import run_cli
from qmlrepro.errors import TrackingError
from qmlrepro.paths import project_root, resolve
from qmlrepro.report.section import SECTIONS
from qmlrepro.report.writer import stage_list, update_readme_verdicts, write_report
from qmlrepro.tracking.git import git_state
from qmlrepro.tracking.mlflow_run import tracked_run


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
    try:
        log_to_mlflow(written, params["profile"])
    except TrackingError as exc:  # the report is written; its copy in MLflow is a convenience
        print(f"warning: figures not logged to MLflow: {exc}", file=sys.stderr)
    # README shows the default profile's verdicts (what `make reproduce-paper` gives), never a
    # smoke or paper-scale run's
    readme = project_root() / "README.md"
    if params["profile"] == "default" and update_readme_verdicts(written[0], readme):
        print("updated the verdict table of README.md")


def log_to_mlflow(written: list, profile: str) -> None:
    """One MLflow run per paper and report, ``report/<profile>`` in ``qmlrepro/<paper>``, holding
    its figures (``plots/``), their data (``series/``) and REPORT.md, tagged with the commit: the
    figures sit beside the training runs they summarise. The store is the stages' default
    (``MLFLOW_TRACKING_URI``, else ``mlflow.db``)."""
    git = git_state(project_root())
    for paper in sorted(SECTIONS):
        files = [p for p in written[1:] if p.name.startswith(f"{paper}_")]
        if not files:
            continue
        tags = {**git, "paper": paper, "profile": profile, "stage": "report"}
        with tracked_run(None, f"qmlrepro/{paper}", f"report/{profile}", tags) as run:
            run.log_artifact(written[0])
            for path in files:
                run.log_artifact(path, path.parent.name)
        print(f"logged {len(files)} figures and series of {paper} to MLflow run {run.run_id}")


if __name__ == "__main__":
    run_cli(main)
