"""Shared fixtures: an isolated project root and MLflow store per test, offline MNIST."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO.parent / "shared" / "data").resolve()


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
