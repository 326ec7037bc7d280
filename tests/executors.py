"""Every backend of conf/backend/ built directly with fixed seeds, and how close each one's answer
must come to the exact one: shared by the agreement tests of user circuits and paper circuits.

Tolerances: exact backends agree to 1e-10 (float32 torch to 1e-5). A sampled probability p_hat of
S shots is within 5 standard deviations, 5 sqrt(p (1 - p) / S), plus one count (1 / S) of the exact
p; a sampled expectation of Pauli terms with coefficients c within 5 sum|c| / sqrt(S).
aer_depolarizing adds a small bias of its own, bounded per test by ``noise``. A device's noise
(ibmq_paris) can move an output by 0.6 (the qssl ring at optimisation level 0, measured), so the
device backends are only checked for valid outputs; ``aer_noise_ideal`` runs the same transpiled
(ISA) circuits and parameter binding as aer_noise with the noise model switched off, and must
meet the shot tolerance. The seeds are fixed, so every check is deterministic.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit_aer import AerSimulator

from qmlrepro.quantum.ibm_runtime import IBMRuntime
from qmlrepro.quantum.qiskit_executors import (
    AerDepolarizing,
    AerNoise,
    AerShots,
    AerStatevector,
)
from qmlrepro.quantum.spec import CircuitSpec
from qmlrepro.quantum.torch_executor import TorchStatevector

SEED = 5
EXACT = ("torch", "torch_float32", "aer_statevector")
DEVICE_NOISE = ("aer_noise", "aer_noise_trajectories", "ibm_runtime_local")
Run = Callable[[CircuitSpec, np.ndarray, np.ndarray], np.ndarray]


def torch_run(dtype: torch.dtype = torch.float64, shots: int | None = None) -> Run:
    """The torch executor as ``run(spec, inputs (B, n), weights (n_w,)) -> (B, n_out)`` float64."""
    name = "float64" if dtype == torch.float64 else "float32"
    return TorchStatevector(device="cpu", dtype=name, shots=shots, seed=SEED).values


exact = torch_run()


@dataclass
class Backends:
    """One executor per backend setting, built on first use and reused for every circuit (as a
    run reuses its executor); ``level`` is the transpiler's optimisation level of the device
    backends."""

    shots: int
    job_dir: Path

    def __post_init__(self) -> None:
        self._built: dict[tuple[str, int], Run] = {}

    def run(self, backend: str, level: int = 1) -> Run:
        key = (backend, level)
        if key not in self._built:
            self._built[key] = self._build(backend, level)
        return self._built[key]

    def _build(self, backend: str, level: int) -> Run:
        shots = self.shots
        if backend == "torch":
            return exact
        if backend == "torch_float32":
            return torch_run(torch.float32)
        if backend == "torch_shots":
            return torch_run(shots=shots)
        if backend == "aer_statevector":
            return AerStatevector(seed=SEED).values
        if backend == "aer_shots":
            return AerShots(shots, seed=SEED).values
        if backend == "aer_depolarizing":
            return AerDepolarizing(0.001, 0.00375, scale=2.0, shots=shots, seed=SEED).values
        if backend.startswith("aer_noise"):
            dm = 0 if backend.endswith("trajectories") else 10
            executor = AerNoise("fake_paris", shots, level, SEED, density_matrix_qubits=dm)
            if backend.endswith("ideal"):
                executor.simulator = AerSimulator(runtime_parameter_bind_enable=True)
            return executor.values
        if backend == "ibm_runtime_local":
            return IBMRuntime(
                "fake_paris", shots, str(self.job_dir), level, SEED, local=True
            ).values
        raise ValueError(f"no backend {backend}")


def backends_fixture(shots: int):
    """A module-scoped ``backends`` fixture: one :class:`Backends` of ``shots`` per test module,
    its IBM job store in a temporary folder."""

    @pytest.fixture(scope="module")
    def backends(tmp_path_factory) -> Backends:
        return Backends(shots, tmp_path_factory.mktemp("ibm_jobs"))

    return backends


def tolerance(backend: str, spec: CircuitSpec, exact_values: np.ndarray, shots: int) -> np.ndarray:
    """Per-entry bound on |backend - exact| from exactness or shot statistics (not noise)."""
    if backend == "torch_float32":
        return np.full_like(exact_values, 1e-5)
    if backend in EXACT:
        return np.full_like(exact_values, 1e-10)
    if spec.observables is None:
        p = np.clip(exact_values, 0, 1)
        return 5 * np.sqrt(p * (1 - p) / shots) + 1 / shots
    weight = [np.abs(o.coeffs).sum() for o in spec.observables]
    return np.broadcast_to(5 * np.array(weight) / np.sqrt(shots), exact_values.shape).copy()


def assert_agrees(
    backend: str,
    spec: CircuitSpec,
    got: np.ndarray,
    expected: np.ndarray,
    shots: int,
    noise: float = 0.0,
    device_noise: float | None = None,
) -> None:
    """``got`` (B, n_out) is valid (normalised probabilities, expectations within +-sum|c|) and
    ``expected`` within :func:`tolerance`, plus ``noise`` for aer_depolarizing and
    ``device_noise`` for the device backends (None: those are checked for valid outputs only).
    ``backend`` may carry a suffix after '/' (a level)."""
    name = backend.split("/")[0]
    assert got.shape == expected.shape, (backend, got.shape, expected.shape)
    assert np.isfinite(got).all(), backend
    if spec.observables is None:
        atol = 1e-5 if name == "torch_float32" else 1e-9
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=atol, err_msg=backend)
        assert (got >= 0).all(), backend
    else:
        weight = np.array([np.abs(o.coeffs).sum() for o in spec.observables])
        assert (np.abs(got) <= weight + 1e-6).all(), backend
    bias = {"aer_depolarizing": noise, **dict.fromkeys(DEVICE_NOISE, device_noise)}.get(name, 0.0)
    if bias is None:
        return
    bound = tolerance(name, spec, expected, shots) + bias
    excess = np.abs(got - expected) - bound
    assert (excess <= 0).all(), (backend, float(excess.max()), got, expected)
