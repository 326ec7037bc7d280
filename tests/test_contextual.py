"""contextual: the task's conditionals against direct statevector measurement statistics, and
the k-HRNN with ideal parameters reproducing the task exactly."""

import json
import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qmlrepro.data.sequence import (
    SequenceTaskSpec,
    hyperedges,
    sample_split,
    teacher_forced_p_one,
)
from qmlrepro.papers.contextual.circuit import IDEAL_BASIS_ANGLES, IDEAL_CELL_WEIGHTS, khrnn_spec
from qmlrepro.papers.contextual.models import QuantumHRNN, bernoulli_kl
from qmlrepro.quantum.qiskit_executors import AerStatevector

TORCH64 = OmegaConf.create({"name": "torch", "device": "cpu", "dtype": "float64", "shots": None})
BASIS_GATES = {0: ("h",), 1: ("sdg", "h"), 2: ()}  # X, Y, Z: rotate the eigenbasis to Z


def _split(n: int, k: int, thetas: int = 3, per: int = 4, seed: int = 0):
    spec = SequenceTaskSpec(n, k, thetas, 1, per)
    g = torch.Generator().manual_seed(seed)
    draws = 2 * math.pi * torch.rand(thetas, math.comb(n, k), generator=g, dtype=torch.float64)
    return sample_split(spec, draws, g)


def _qiskit_born(n: int, k: int, thetas: torch.Tensor, bases: torch.Tensor) -> np.ndarray:
    """Outcome probabilities of the hypergraph state measured in the named bases, built with
    Qiskit gates (H, MCPhase, Sdg) and its own Statevector: independent of the task code."""
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for theta, edge in zip(thetas.tolist(), hyperedges(n, k), strict=True):
        qc.mcp(theta, list(edge[:-1]), edge[-1]) if k > 1 else qc.p(theta, edge[0])
    for j in range(n):
        for gate in BASIS_GATES[int(bases[j])]:
            getattr(qc, gate)(j)
    return Statevector(qc).probabilities()


@pytest.mark.parametrize(("n", "k"), [(4, 2), (5, 3)])
def test_task_conditionals_match_direct_statevector_measurement(n, k):
    data = _split(n, k)
    for s in range(len(data["outcomes"])):
        born = _qiskit_born(n, k, data["thetas"][s], data["bases"][s])
        order, outcomes, p_one = data["order"][s], data["outcomes"][s], data["p_one"][s]
        # p(o_t = 1 | o_<t) from the Qiskit distribution, by marginalising and conditioning
        index = np.arange(2**n)
        alive = np.ones(2**n, dtype=bool)
        for t in range(n):
            bit = (index >> int(order[t])) & 1
            mass = born[alive].sum()
            expected = born[alive & (bit == 1)].sum() / mass
            assert p_one[t].item() == pytest.approx(expected, abs=1e-12)
            assert 0 <= p_one[t] <= 1  # and p(o_t = 0 | o_<t) = 1 - p_one: the two sum to 1
            alive &= bit == int(outcomes[t])
        # the sequence's probability is the product of its conditionals
        chain = torch.where(outcomes == 1, p_one, 1 - p_one).prod().item()
        assert chain == pytest.approx(born[alive].sum(), abs=1e-12)


def test_sampled_outcomes_follow_the_conditionals():
    data = _split(4, 2, thetas=1, per=4000, seed=3)
    # one theta, many sequences: first-step outcome frequency vs its exact probability per qubit
    first_qubit, first = data["order"][:, 0], data["outcomes"][:, 0].double()
    for q in range(4):
        picked = first_qubit == q
        assert first[picked].mean().item() == pytest.approx(
            data["p_one"][picked, 0].mean().item(), abs=4 / math.sqrt(picked.sum().item())
        )


@pytest.mark.parametrize(("n", "k"), [(4, 2), (6, 3)])
def test_khrnn_with_ideal_parameters_is_exact(n, k):
    data = _split(n, k)
    model = QuantumHRNN(n, k, TORCH64).double()
    with torch.no_grad():
        model.circuit.weights.copy_(IDEAL_CELL_WEIGHTS)
        model.basis_angles.copy_(IDEAL_BASIS_ANGLES)
        p_model = model(data)
    kl = bernoulli_kl(data["p_one"], p_model)
    assert kl.max().item() < 1e-9
    torch.testing.assert_close(p_model, data["p_one"], atol=1e-9, rtol=0)


def test_khrnn_circuit_runs_on_aer_like_on_torch():
    n, k = 4, 2
    data = _split(n, k, thetas=1, per=3)
    spec = khrnn_spec(n, k)
    angles = IDEAL_BASIS_ANGLES[data["bases"]].reshape(3, -1)
    inputs = torch.cat([data["thetas"], angles], dim=1)
    aer = AerStatevector().run(spec, inputs.numpy(), IDEAL_CELL_WEIGHTS.numpy())
    p = teacher_forced_p_one(torch.as_tensor(aer), data["order"], data["outcomes"])
    torch.testing.assert_close(p, data["p_one"], atol=1e-9, rtol=0)


def test_contextual_sweep_trains_resumes_and_refuses_evaluation(project):
    from qmlrepro.data.sequence import prepare_sequences
    from qmlrepro.errors import ConfigError
    from qmlrepro.stages import evaluate, train

    specs = [SequenceTaskSpec(4, 2, 8, 4, 4), SequenceTaskSpec(5, 3, 8, 4, 4)]
    prepare_sequences(project / "data" / "sequence", specs, seed=7)
    common = ["profile=smoke", "paper=contextual", "profile.seeds=[0]"]
    quantum = json.loads(train(["job=q", "model=contextual/quantum", *common]).read_text())
    metrics = quantum["runs"][0]["metrics"]
    assert set(metrics) >= {"n4_k2/d4/lr0/test_kl", "n5_k3/d5/lr0/memory"}
    assert metrics["n5_k3/d5/lr0/memory"] == 5 and metrics["n4_k2/d4/lr0/test_kl"] >= 0
    assert quantum["describe"]["n4_k2/d4/parameters"] == 2 + 9

    gru = json.loads(train(["job=g", "model=contextual/gru", *common]).read_text())
    keys = gru["runs"][0]["metrics"]
    assert {"n4_k2/d2/lr1/test_kl", "n5_k3/d4/lr0/train_kl"} <= set(keys)
    # a rerun finds every sweep point in the checkpoint: identical numbers, nothing retrained
    again = json.loads(train(["job=g", "model=contextual/gru", *common]).read_text())
    assert again["runs"][0]["metrics"] == keys
    with pytest.raises(ConfigError, match="no separate evaluate"):
        evaluate("g", "torch")
