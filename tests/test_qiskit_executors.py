"""Qiskit executors agree with the torch executor; noise, shots and IBM Runtime behave as stated."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.noise import NoiseModel

from qmlrepro.config.compose import compose_config
from qmlrepro.errors import ConfigError
from qmlrepro.quantum.ansatz import layered_ring_ansatz, z_observables
from qmlrepro.quantum.ibm_runtime import CredentialsError, IBMRuntime, connect
from qmlrepro.quantum.measurement import probability_circuit
from qmlrepro.quantum.qiskit_executors import (
    AerNoise,
    AerShots,
    AerStatevector,
    CircuitTooLarge,
    QiskitLayer,
)
from qmlrepro.quantum.spec import make_spec
from qmlrepro.quantum.torch_executor import TorchCircuit

from .executors import exact as torch_reference
from .test_torch_executor import build, ring_circuit


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_aer_statevector_equals_torch_executor(data):
    n = data.draw(st.integers(3, 4))
    qc, x, w = build(data.draw, n, data.draw(st.integers(1, 10)))
    weights = np.random.default_rng(0).normal(size=len(w))
    inputs = np.random.default_rng(1).normal(size=(3, n))
    obs = [*z_observables(n), SparsePauliOp.from_list([("X" + "Y" + "Z" * (n - 2), 0.5)])]
    for spec in (
        make_spec(qc, x, w, observables=obs),
        make_spec(qc, x, w, measured=list(range(n))[::-1]),
    ):
        got = AerStatevector().values(spec, inputs, weights)
        assert np.allclose(got, torch_reference(spec, inputs, weights), atol=1e-10)


def test_aer_shots_converge_to_exact():
    qc, x, w = ring_circuit(3)
    spec = make_spec(
        qc, x, w, observables=[*z_observables(3), SparsePauliOp.from_list([("XZY", 1.0)])]
    )
    weights, inputs = np.linspace(-1, 1, len(w)), np.array([[0.3, 1.1, 2.0]])
    exact = torch_reference(spec, inputs, weights)[0]
    shots = 40_000
    est = AerShots(shots=shots, seed=7).values(spec, inputs, weights)[0]
    assert np.all(np.abs(est - exact) < 5 * np.sqrt((1 - exact**2) / shots) + 1e-3)


def test_aer_noise_matches_readout_error_of_the_device_qubit():
    qc = QuantumCircuit(1)
    spec = make_spec(qc, [], [], observables=z_observables(1))
    executor = AerNoise("fake_paris", shots=40_000, optimization_level=0, seed=11)
    isa = executor.layout.run(probability_circuit(make_spec(qc, [], [], measured=[0])))
    physical = isa.layout.final_index_layout()[0]
    readout = NoiseModel.from_backend(executor.device)._local_readout_errors[(physical,)]
    p1_given_0 = readout.probabilities[0][1]
    measured = executor.values(spec, np.zeros((1, 0)), np.zeros(0))[0, 0]
    expected = 1 - 2 * p1_given_0
    assert p1_given_0 > 0.001  # the device qubit does have a readout error
    assert abs(measured - expected) < 5 * 2 * np.sqrt(p1_given_0 * (1 - p1_given_0) / 40_000) + 1e-3


def test_aer_noise_layout_is_fixed_and_small_circuits_use_density_matrices():
    """Whatever the run seed (or none), the circuit lands on the same physical qubits, the
    narrowest of the seeded layout attempts: the 8-qubit ring then fits the density-matrix
    method, which gives the same statistics as trajectories."""
    qc, x, w = layered_ring_ansatz(8, 2, ("ry",), "crx", "rx")
    circuit = probability_circuit(make_spec(qc, x, w, measured=list(range(8))))
    layouts = {
        tuple(
            AerNoise("fake_paris", shots=10, seed=s).layout.run(circuit).layout.final_index_layout()
        )
        for s in (None, 0, 1, 3)
    }
    assert len(layouts) == 1
    chosen = AerNoise("fake_paris", shots=10, seed=1).layout
    chosen.run(circuit)
    assert chosen.record["active_qubits"] == 8 == min(chosen.record["widths_tried"])
    spec = make_spec(qc, x, w, observables=z_observables(8))
    inputs, weights = np.full((1, 8), 0.4), np.linspace(-1, 1, len(w))
    dm = AerNoise("fake_paris", shots=20_000, seed=3)
    trajectories = AerNoise("fake_paris", shots=20_000, seed=3, density_matrix_qubits=0)
    a, b = dm.values(spec, inputs, weights), trajectories.values(spec, inputs, weights)
    assert dm.simulator.options.method == "density_matrix"
    assert trajectories.simulator.options.method == "automatic"
    np.testing.assert_allclose(a, b, atol=5 * np.sqrt(2 / 20_000) + 1e-3)


def test_circuit_wider_than_the_device_is_refused():
    qc = QuantumCircuit(28)
    qc.h(range(28))
    spec = make_spec(qc, [], [], observables=[SparsePauliOp("Z" * 28)])
    with pytest.raises(CircuitTooLarge, match="needs 28 qubits but backend fake_paris has 27"):
        AerNoise("fake_paris", shots=10).values(spec, np.zeros((1, 0)), np.zeros(0))


def test_unknown_fake_backend_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown fake backend 'fake_nowhere'"):
        compose_config(["backend=aer_noise", "backend.executor.noise_backend=fake_nowhere"])


def test_ibm_runtime_local_mode_end_to_end_and_rerun_reuses_results(project):
    qc, x, w = ring_circuit(3)
    spec = make_spec(qc, x, w, observables=z_observables(3))
    weights, inputs = np.linspace(-1, 1, len(w)), np.random.default_rng(2).uniform(0, 3, (4, 3))
    first = IBMRuntime("fake_paris", shots=300, local=True, seed=5)
    out = first.values(spec, inputs, weights)
    assert first.submitted == 1 and out.shape == (4, 3)
    records = list((project / "results" / "ibm_jobs" / "fake_paris").glob("*.json"))
    assert len(records) == 1 and "job_id" in records[0].read_text()
    again = IBMRuntime("fake_paris", shots=300, local=True, seed=5)
    assert np.array_equal(again.values(spec, inputs, weights), out) and again.submitted == 0
    exact = torch_reference(spec, inputs, weights)
    assert np.abs(out - exact).max() < 0.35  # noisy, 300 shots, but the same circuit


def test_missing_credentials_fail_before_any_work(monkeypatch):
    from qiskit_ibm_runtime import QiskitRuntimeService

    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)
    monkeypatch.setattr(QiskitRuntimeService, "saved_accounts", staticmethod(lambda *a, **k: {}))
    with pytest.raises(
        CredentialsError, match="needs IBM Quantum credentials: set QISKIT_IBM_TOKEN"
    ):
        compose_config(["backend=ibm_runtime"])
    with pytest.raises(CredentialsError):
        connect("ibm_quantum_platform", None)


def test_rejected_credentials_are_one_clear_error(monkeypatch):
    from qiskit_ibm_runtime import QiskitRuntimeService

    monkeypatch.setenv("QISKIT_IBM_TOKEN", "not-a-real-token")

    def refuse(self, *args, **kwargs):
        raise RuntimeError("401 Client Error: Unauthorized\nmore detail")

    monkeypatch.setattr(QiskitRuntimeService, "__init__", refuse)
    with pytest.raises(CredentialsError) as err:
        connect("ibm_quantum_platform", None)
    assert "did not accept the credentials" in str(err.value) and "not-a-real-token" not in str(
        err.value
    )
    assert "\n" not in str(err.value)


def test_every_backend_config_builds_its_executor_and_layer():
    """Each conf/backend/*.yaml instantiates through its _target_ (torch included), and the
    layer an executor hands a model agrees with the exact torch one."""
    from hydra.utils import instantiate

    from qmlrepro.config.compose import group_options
    from qmlrepro.quantum.executor import Executor

    qc, x, w = ring_circuit(3)
    spec = make_spec(qc, x, w, observables=z_observables(3))
    init = torch.linspace(-1, 1, len(w), dtype=torch.float64)
    inputs = torch.rand(4, 3, dtype=torch.float64)
    built = {}
    for name in ("torch", "torch_shots", "aer_statevector", "aer_shots"):
        assert name in group_options("backend")
        cfg = compose_config([f"backend={name}", "backend.dtype=float64", "backend.seed=3"])
        built[name] = instantiate(cfg.backend.executor)
        assert isinstance(built[name], Executor)
    exact = built["torch"].layer(spec, init)
    aer = built["aer_statevector"].layer(spec, init)
    shots = built["torch_shots"].layer(spec, init)
    assert isinstance(exact, TorchCircuit) and isinstance(aer, QiskitLayer) and shots.shots == 100
    assert built["torch"].differentiable and not built["aer_shots"].differentiable
    with torch.no_grad():
        assert torch.allclose(exact(inputs), aer(inputs), atol=1e-10)
    result = built["aer_shots"].run([(spec, inputs, init)], shots=50)
    assert result[0].values.shape == (4, 3) and result[0].metadata["shots"] == 50
    assert result[0].metadata["two_qubit_gates"] >= 3


def test_aer_noise_runs_circuits_whose_transpiled_global_phase_is_parameterised():
    """P and U gates become rz on ibmq_paris with a parameterised global phase, which Aer cannot
    bind; the executor drops it (invisible to samples) and the noisy distribution stays close
    to the exact one of this shallow circuit."""
    from qiskit.circuit import ParameterVector

    x = ParameterVector("x", 2)
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.cp(x[0], 0, 1)
    qc.u(x[1], 0.3, x[0], 0)
    qc.h(1)
    spec = make_spec(qc, list(x), [], measured=[0, 1])
    inputs = np.array([[0.4, 1.2], [2.5, -0.7]])
    executor = AerNoise("fake_paris", shots=20_000, seed=3)
    assert executor.layout.run(probability_circuit(spec)).global_phase.parameters  # the hazard
    noisy = executor.values(spec, inputs, np.zeros(0))
    exact = torch_reference(spec, inputs, np.zeros(0))
    assert np.allclose(noisy.sum(axis=1), 1) and np.abs(noisy - exact).max() < 0.08
