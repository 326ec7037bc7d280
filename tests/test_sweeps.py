"""Parallel sweeps: Hydra multirun with the joblib launcher here, the Slurm launcher's submission
dry-run with stand-in sbatch/srun."""

import json
import os
import pickle
import stat
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from mlflow.tracking import MlflowClient

from qmlrepro.config.store import register_schemas
from qmlrepro.data.gaussian import prepare_gaussian
from qmlrepro.sweep import job_name

from .conftest import REPO, run_script


def test_joblib_multirun_trains_grid_points_side_by_side_and_reports_failures(project):
    prepare_gaussian(project / "data" / "gaussian", 600, 400, seed=3)
    grid = ["paper.lr=0.05,-1", "model=example/mlp,example/logistic", "seed=0"]
    common = ["paper=example", "profile=smoke", "paper.steps=3000", "hydra.launcher.n_jobs=2"]
    proc = run_script("sweep.py", "-m", *common, *grid, cwd=project)
    assert proc.returncode == 1, proc.stderr[-3000:]  # two grid points have a bad lr
    assert "sweep: 2 of 4 jobs trained" in proc.stderr
    assert (
        proc.stderr.count("error: sweep_") == 2
        and "paper.lr=-1.0 must be a finite number > 0" in proc.stderr
    )
    assert "Traceback" not in proc.stderr

    (summary_file,) = (project / "results" / "sweeps").glob("*/*/summary.json")
    summary = json.loads(summary_file.read_text())
    trained = [j for j in summary["jobs"] if "metrics" in j]
    assert summary["failed"] == 2 and len(trained) == 2
    runs = {j["job"]: json.loads(Path(j["metrics"]).read_text())["runs"] for j in trained}
    assert all([r["seed"] for r in job_runs] == [0] for job_runs in runs.values())

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("qmlrepro/example")
    mlflow_runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags["job"] for r in mlflow_runs) == sorted(runs)
    assert all(r.info.status == "FINISHED" for r in mlflow_runs)
    (a, b) = sorted((r.info.start_time, r.info.end_time) for r in mlflow_runs)
    assert b[0] < a[1], "the two jobs did not run at the same time"

    # a sweep job is the train stage on the same config: identical numbers when run directly
    mlp = job_name(["model=example/mlp", "paper.lr=0.05", "seed=0", *common[:3]], threads=1)
    direct = run_script(
        "train.py", "job=direct", *common[:3], "model=example/mlp", "paper.lr=0.05", "seed=0",
        "torch_threads=1", cwd=project,
    )  # fmt: skip
    assert direct.returncode == 0, direct.stderr[-2000:]
    direct_runs = json.loads((project / "results/metrics/direct/train.json").read_text())["runs"]
    assert direct_runs[0]["metrics"] == runs[mlp][0]["metrics"]


def _stand_in(path: Path, body: str) -> None:
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_slurm_launcher_config_composes_and_submits_an_array_job(tmp_path, monkeypatch):
    """Everything short of a cluster: the composed launcher, the sbatch script it writes and the
    pickled jobs it would run (sbatch and srun are stand-ins that submit nothing)."""
    import submitit

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stand_in(
        bin_dir / "sbatch",
        'echo "$1" >> "$(dirname "$0")/submitted"; echo "Submitted batch job 4242"',
    )
    _stand_in(bin_dir / "srun", "exit 0")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    register_schemas()
    overrides = [
        "launcher=slurm",
        "hydra.launcher.partition=cpu",
        "hydra.launcher.account=qml",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        "paper=example",
    ]
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("sweep", overrides=overrides, return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert cfg.hydra.launcher.max_num_timeout > 0  # preempted jobs come back and resume

    launcher = instantiate(cfg.hydra.launcher)
    launcher.config = cfg
    monkeypatch.setattr(submitit.core.core.Job, "results", lambda job: [f"dry-run {job.job_id}"])
    returned = launcher.launch([["seed=0"], ["seed=1"], ["seed=2"]], initial_job_idx=0)
    assert returned == ["dry-run 4242_0", "dry-run 4242_1", "dry-run 4242_2"]

    assert len((bin_dir / "submitted").read_text().split()) == 1  # one array job
    script = next((tmp_path / "sweep" / ".submitit").glob("4242/*_submission.sh")).read_text()
    for line in (
        "#SBATCH --array=0-2%",
        "#SBATCH --partition=cpu",
        "#SBATCH --account=qml",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --time=240",
        "#SBATCH --mem=16GB",
        "srun ",
    ):
        assert line in script, line
    with open(tmp_path / "sweep" / ".submitit" / "4242_1" / "4242_1_submitted.pkl", "rb") as f:
        submission = pickle.load(f)
    assert submission.args[0] == ["seed=1"]  # the job's overrides reach the task


def test_grid_points_whose_readable_names_agree_get_distinct_stable_names():
    """The readable part of a name cuts long overrides and drops signs; the hash tells apart."""
    positive, negative = job_name(["paper.lr=0.1"]), job_name(["paper.lr=-0.1"])
    assert positive != negative and positive.rsplit("_", 1)[0] == negative.rsplit("_", 1)[0]
    long = ["model=example/mlp", f"paper.title={'t' * 300}"]
    names = {job_name([*long[:1], long[1] + end]) for end in "ab"}
    assert len(names) == 2 and all(len(n) <= 150 for n in names)
    assert job_name(["seed=0", *long], 1) == job_name([*long, "seed=0", "torch_threads=1"], 1)
    assert job_name(long, threads=1) != job_name(long, threads=2)  # another experiment


def test_two_long_named_sweep_points_write_two_train_files(project):
    prepare_gaussian(project / "data" / "gaussian", 200, 100, seed=3)
    title = "t" * 250  # the grid points differ only past the old 200-character cut
    proc = run_script(
        "sweep.py", "-m", "paper=example", "profile=smoke", "paper.steps=20", "seed=0",
        f"paper.title={title}a,{title}b", "hydra.launcher.n_jobs=1", cwd=project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = sorted((project / "results" / "metrics").glob("sweep_*/train.json"))
    assert len(written) == 2
    saved = [project / "results/checkpoints" / f.parent.name / "overrides.json" for f in written]
    trained = [
        o for f in saved for o in json.loads(f.read_text())["overrides"] if o.startswith("paper.t")
    ]
    assert sorted(trained) == [f"paper.title={title}a", f"paper.title={title}b"]
