"""Shared fixtures: an isolated project root and MLflow store per test, offline MNIST."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()
BIN = Path(sys.executable).parent


def shared_mnist_root() -> Path | None:
    """The offline MNIST copy CI provides (../shared/data), or $QMLREPRO_DATA_ROOT."""
    env = os.environ.get("QMLREPRO_DATA_ROOT")
    for root in (Path(env) if env else None, SHARED_DATA):
        if root is not None and (root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file():
            return root
    return None


requires_mnist = pytest.mark.skipif(
    shared_mnist_root() is None,
    reason="no offline MNIST (set QMLREPRO_DATA_ROOT or ../shared/data)",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch project root: stages write data/, results/ and mlflow.db there, read conf/ from
    the repository."""
    monkeypatch.setenv("QMLREPRO_ROOT", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.delenv("QMLREPRO_DEBUG", raising=False)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    return tmp_path


def run_script(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None):
    """Run ``pipelines/<script>`` as a user would, in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "pipelines" / script), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def prepare_offline_mnist(project: Path, monkeypatch: pytest.MonkeyPatch, size: int, resize: str):
    """One MNIST variant prepared into a scratch project from the offline copy in shared/."""
    from qmlrepro.data.mnist import VariantSpec, prepare_mnist

    monkeypatch.setenv("QMLREPRO_DATA_ROOT", str(shared_mnist_root()))
    name = f"x{size}" if resize == "none" else f"x{size}_{resize}"
    variants = {name: VariantSpec(size, resize)}
    prepare_mnist(project / "data" / "mnist", variants, None, False, False, project / "raw")


def fresh_copy(dest: Path) -> Path:
    """What a clone holds: tracked and untracked-not-ignored files, committed in a new repo."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for rel in listed:
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        subprocess.run(
            cmd,
            cwd=dest,
            check=True,
            capture_output=True,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t",
            },
        )
    return dest


def env_for(copy: Path) -> dict[str, str]:
    """The environment of a user working in ``copy`` (its own mlflow.db, the offline MNIST)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QMLREPRO_ROOT", "MLFLOW_TRACKING_URI", "QMLREPRO_DEBUG", "HYDRA_FULL_ERROR")
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    if shared_mnist_root() is not None:
        env["QMLREPRO_DATA_ROOT"] = str(shared_mnist_root())
    return env


def interrupt_at_checkpoint(
    cmd: Sequence[str], cwd: Path, env: dict[str, str], checkpoint: Path, min_step: int, sig: int
) -> tuple[dict, int, str]:
    """Start ``cmd`` in its own process group and send ``sig`` to the whole group once
    ``checkpoint`` holds an unfinished run at step ``min_step`` or later (a ``dvc repro`` and the
    stage it runs die together, as when a node goes down). Returns that checkpoint, the exit
    status and stderr."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        state = None
        deadline = time.monotonic() + 600
        try:
            while state is None and time.monotonic() < deadline and proc.poll() is None:
                if checkpoint.is_file():
                    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
                    if saved["step"] >= min_step and not saved["complete"]:
                        state = saved
                        os.killpg(proc.pid, sig)
                        proc.wait(timeout=120)
                time.sleep(0.02)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        err.seek(0)
        stderr = err.read()
    if state is None:
        pytest.fail(f"{cmd} ended (rc={proc.returncode}) before step {min_step}: {stderr[-2000:]}")
    return state, proc.returncode, stderr


# The cheapest trained quantum job: a 4-qubit contextual k-HRNN at smoke size, one seed.
CONTEXTUAL_SMOKE = [
    "paper=contextual",
    "model=contextual/quantum",
    "profile=smoke",
    "profile.seeds=[0]",
    "dataset.tasks=[{n:4,k:2}]",
]


def prepare_contextual_smoke(root: Path) -> None:
    """The sequence data :data:`CONTEXTUAL_SMOKE` trains on, under ``root``/data."""
    from qmlrepro.data.sequence import SequenceTaskSpec, prepare_sequences

    prepare_sequences(root / "data" / "sequence", [SequenceTaskSpec(4, 2, 8, 4, 4)], seed=7)


def without_timings(metrics: dict[str, float]) -> dict[str, float]:
    """``metrics`` minus wall-clock timings (a name ``*seconds``, with or without dimensions:
    ``seconds/n:4/k:2``), the one thing a rerun may change."""

    def timing(key: str) -> bool:  # a name segment (not a dim:value one) ending in "seconds"
        return any(s.endswith("seconds") for s in key.split("/") if ":" not in s)

    return {k: v for k, v in metrics.items() if not timing(k)}
