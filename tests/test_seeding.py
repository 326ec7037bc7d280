"""Same config + same seed = the same numbers: derived per-component seeds, paired initialisation,
seeded sampling on every executor, and runs that repeat bit for bit in another process."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qmlrepro.config.compose import compose_config
from qmlrepro.papers.qssl.experiment import QsslExperiment
from qmlrepro.quantum.ansatz import z_observables
from qmlrepro.quantum.qiskit_executors import AerDepolarizing, AerNoise, AerShots
from qmlrepro.quantum.spec import make_spec
from qmlrepro.quantum.torch_executor import TorchCircuit
from qmlrepro.training.seeding import derive_seed, seeded, torch_generator

from .conftest import REPO, requires_mnist


def test_derived_seeds_are_stable_across_processes_and_distinct_across_keys():
    keys = [("init", "trunk"), ("init", "head"), ("data_order", 0), ("data_order", 1), ()]
    here = [derive_seed(7, *k) for k in keys]
    code = (
        "from qmlrepro.training.seeding import derive_seed;"
        f"print([derive_seed(7, *k) for k in {keys!r}])"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(there) == here
    assert len(set(here)) == len(here)
    assert derive_seed(8, "init", "trunk") != here[0]
    assert all(0 <= s < 2**63 for s in here)
    with pytest.raises(ValueError):
        derive_seed(-1, "x")


def test_seeded_block_neither_reads_nor_moves_the_global_stream():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with seeded(5, "init", "a"):
        inside = torch.rand(4)
    assert torch.equal(torch.rand(3), expected)
    torch.manual_seed(123)
    with seeded(5, "init", "a"):
        assert torch.equal(torch.rand(4), inside)


def _qssl_network(model: str, seed: int) -> torch.nn.Module:
    cfg = compose_config(["paper=qssl", f"model={model}", "profile=smoke", "job=x"])
    from qmlrepro.stages import build_executor

    return QsslExperiment(cfg)._network(torch.device("cpu"), 1, seed, build_executor(cfg))


def test_paired_qssl_models_share_trunk_and_head_weights_at_step_zero():
    """A classical and a quantum network of one seed start from bit-identical trunk, angle layer
    and projection head (the quantum layer draws its own weights first, from its own stream)."""
    nets = {m: _qssl_network(m, 3) for m in ("qssl/classical", "qssl/quantum_ring")}
    shared = [k for k in nets["qssl/classical"].state_dict() if not k.startswith("representation")]
    assert any(k.startswith("trunk.") for k in shared) and any("projection" in k for k in shared)
    a, b = (n.state_dict() for n in nets.values())
    for key in shared:
        assert torch.equal(a[key], b[key]), key
    other_seed = _qssl_network("qssl/classical", 4).state_dict()
    assert not torch.equal(other_seed["trunk.conv1.weight"], a["trunk.conv1.weight"])


def _ring_spec(width: int = 3):
    x, w = ParameterVector("x", width), ParameterVector("w", width)
    qc = QuantumCircuit(width)
    for q in range(width):
        qc.rx(x[q], q)
        qc.ry(w[q], q)
    for q in range(width):
        qc.cx(q, (q + 1) % width)
    return make_spec(qc, x, w, observables=z_observables(width))


INPUTS = np.linspace(0.1, 2.9, 12).reshape(4, 3)
WEIGHTS = np.array([0.3, -0.7, 1.1])


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: AerNoise("fake_paris", 100, seed=seed),  # density matrix
        lambda seed: AerNoise("fake_paris", 100, seed=seed, density_matrix_qubits=0),
        lambda seed: AerDepolarizing(0.01, 0.05, shots=100, seed=seed),
        lambda seed: AerShots(100, seed=seed),
    ],
    ids=["aer_noise_density_matrix", "aer_noise_trajectories", "aer_depolarizing", "aer_shots"],
)
def test_seeded_qiskit_sampling_repeats_exactly(make):
    """Five fresh executors of one seed draw the same shots, call after call; another seed
    draws others, and so does the next call of one executor (each call, e.g. each batch of an
    evaluation, samples its own stream: no two batches share random numbers)."""
    spec = _ring_spec()
    runs = []
    for _ in range(5):
        executor = make(1)
        runs.append(np.stack([executor.values(spec, INPUTS, WEIGHTS) for _ in range(2)]))
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])
    assert not np.array_equal(make(2).values(spec, INPUTS, WEIGHTS), runs[0][0])
    assert not np.array_equal(runs[0][0], runs[0][1])


def test_torch_shots_use_their_own_generator_and_resume_exactly():
    spec = _ring_spec()
    inputs = torch.tensor(INPUTS, dtype=torch.float64, requires_grad=True)

    def module(seed):
        return TorchCircuit.from_spec(spec, 50, torch.float64, torch.tensor(WEIGHTS), seed=seed)

    first, second = module(4), module(4)
    torch.manual_seed(0)
    a = first(inputs)
    a.sum().backward()
    grad_a = inputs.grad.clone()
    inputs.grad = None
    torch.manual_seed(99)  # the global stream plays no part
    b = second(inputs)
    b.sum().backward()
    assert torch.equal(a, b) and torch.equal(grad_a, inputs.grad)
    # The stream position travels with the weights: a module restored from a checkpoint draws
    # the shots an uninterrupted one draws next.
    restored = module(4)
    restored.load_state_dict(first.state_dict())
    assert torch.equal(restored(inputs.detach()), first(inputs.detach()))
    assert not torch.equal(module(5)(inputs.detach()), module(4)(inputs.detach()))


def test_torch_generator_matches_its_derived_seed():
    a = torch.randperm(10, generator=torch_generator(1, "data_order", 0))
    b = torch.randperm(10, generator=torch.Generator().manual_seed(derive_seed(1, "data_order", 0)))
    assert torch.equal(a, b)


def _weights_digest(checkpoint) -> str:
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["model"]
    digest = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        if isinstance(value, torch.Tensor):
            digest.update(key.encode() + value.numpy().tobytes())
    return digest.hexdigest()


@requires_mnist
@pytest.mark.slow
def test_qssl_training_repeats_bit_for_bit_in_separate_processes(tmp_path, monkeypatch):
    """Two processes, at different nice levels and with different OpenMP/MKL thread defaults in
    their environment, give identical metrics and bit-identical weights: the thread count comes
    from the run config (torch_threads), not from the machine. Before it was part of the config,
    torch followed OMP_NUM_THREADS, and the same seed gave other numbers (probe accuracy 32.60 vs
    45.30 on one default-profile qssl seed)."""
    from tests.conftest import prepare_offline_mnist

    prepare_offline_mnist(tmp_path, monkeypatch, 28, "none")
    outcomes = []
    for i, (nice, threads) in enumerate(((0, "1"), (10, "2"))):
        project = tmp_path / f"p{i}"
        project.mkdir()
        (project / "data").symlink_to(tmp_path / "data")
        env = {
            **os.environ,
            "QMLREPRO_ROOT": str(project),
            "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
            "OMP_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        args = [
            "job=q",
            "paper=qssl",
            "model=qssl/classical",
            "profile=smoke",
            "paper.steps=4",
            "profile.seeds=[1]",
        ]
        command = ["nice", "-n", str(nice), sys.executable, str(REPO / "pipelines" / "train.py")]
        done = subprocess.run(
            [*command, *args], cwd=project, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-2000:]
        record = json.loads((project / "results/metrics/q/train.json").read_text())
        metrics = {
            k: v for k, v in record["runs"][0]["metrics"].items() if not k.endswith("seconds")
        }
        outcomes.append((metrics, _weights_digest(project / "results/checkpoints/q/seed1.pt")))
    assert outcomes[0] == outcomes[1]


def test_thread_count_is_part_of_the_run_config_and_its_hash():
    from qmlrepro.stages import config_hash

    one, two = compose_config(["job=x"]), compose_config(["job=x", "torch_threads=2"])
    assert (one.torch_threads, two.torch_threads) == (1, 2)
    assert config_hash(one) != config_hash(two)


def test_seeded_local_hardware_sampling_repeats_exactly(tmp_path):
    """qiskit-ibm-runtime's local mode (Aer behind the fake device) samples with the run seed:
    two evaluations that share no saved job give the same counts."""
    from qmlrepro.quantum.ibm_runtime import IBMRuntime

    spec = _ring_spec()

    def evaluate(seed: int, folder: str) -> np.ndarray:
        executor = IBMRuntime(
            "fake_paris", 200, job_dir=str(tmp_path / folder), local=True, seed=seed
        )
        return executor.values(spec, INPUTS[:2], WEIGHTS)

    first, second = evaluate(1, "a"), evaluate(1, "b")
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(evaluate(2, "c"), first)


def test_paired_hqvit_models_share_everything_but_their_scorer_at_step_zero():
    """HQViT and its classical-attention baselines of one seed start from the same embedding,
    value, MLP and head (the referee found value/MLP/head differing: scorers drew first)."""
    from qmlrepro.papers.hqvit.experiment import HqvitExperiment

    def state(model: str) -> dict:
        cfg = compose_config(["paper=hqvit", f"model={model}", "profile=smoke", "job=x"])
        return HqvitExperiment(cfg)._model(torch.device("cpu"), 3).state_dict()

    quantum, softmax = state("hqvit/quantum"), state("hqvit/softmax")
    shared = [k for k in quantum if not k.startswith("scores") and k in softmax]
    assert {k.split(".")[0] for k in shared} >= {"embed", "value", "mlp", "head"}
    for key in shared:
        assert torch.equal(quantum[key], softmax[key]), key
