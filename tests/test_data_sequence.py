"""The hypergraph-state measurement task against Qiskit's own statevector statistics."""

import math

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qmlrepro.data.sequence import (
    SequenceTaskSpec,
    hyperedges,
    hypergraph_states,
    load_sequence_task,
    prepare_sequences,
    rotate_to_bases,
    sample_split,
)
from qmlrepro.errors import DataError


def qiskit_state(theta: torch.Tensor, n: int, k: int, bases: list[int]) -> Statevector:
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for angle, edge in zip(theta.tolist(), hyperedges(n, k), strict=True):
        if k == 1:
            qc.p(angle, edge[0])
        else:
            qc.mcp(angle, list(edge[:-1]), edge[-1])
    for qubit, basis in enumerate(bases):
        if basis == 0:
            qc.h(qubit)
        elif basis == 1:
            qc.sdg(qubit)
            qc.h(qubit)
    return Statevector(qc)


@pytest.mark.parametrize(("n", "k"), [(3, 1), (4, 2), (5, 3)])
def test_states_match_qiskit_circuit(n, k):
    gen = torch.Generator().manual_seed(n * 10 + k)
    thetas = 2 * math.pi * torch.rand((3, math.comb(n, k)), generator=gen, dtype=torch.float64)
    bases = torch.randint(0, 3, (3, n), generator=gen)
    ours = rotate_to_bases(hypergraph_states(thetas, n, k), bases, n)
    for s in range(3):
        ref = qiskit_state(thetas[s], n, k, bases[s].tolist()).data
        assert np.allclose(ours[s].numpy(), ref, atol=1e-12)


def test_conditionals_match_qiskit_marginals():
    spec = SequenceTaskSpec(n=4, k=2, n_train_thetas=3, n_test_thetas=1, sequences_per_theta=2)
    gen = torch.Generator().manual_seed(11)
    thetas = 2 * math.pi * torch.rand((3, math.comb(4, 2)), generator=gen, dtype=torch.float64)
    split = sample_split(spec, thetas, gen)
    for s in range(len(split["outcomes"])):
        state = qiskit_state(split["thetas"][s], 4, 2, split["bases"][s].tolist())
        order, outcomes = split["order"][s].tolist(), split["outcomes"][s].tolist()
        for t in range(4):
            joint = state.probabilities(qargs=order[: t + 1])  # little-endian over qargs
            prefix = sum(o << i for i, o in enumerate(outcomes[:t]))
            p1 = joint[prefix + (1 << t)] / (joint[prefix] + joint[prefix + (1 << t)])
            assert split["p_one"][s, t].item() == pytest.approx(p1, abs=1e-10)


def test_conditional_probabilities_are_valid_and_outcomes_follow_them():
    spec = SequenceTaskSpec(n=5, k=2, n_train_thetas=400, n_test_thetas=1, sequences_per_theta=5)
    gen = torch.Generator().manual_seed(2)
    thetas = 2 * math.pi * torch.rand((400, math.comb(5, 2)), generator=gen, dtype=torch.float64)
    split = sample_split(spec, thetas, gen)
    p, o = split["p_one"], split["outcomes"].double()
    assert p.min() >= 0 and p.max() <= 1
    # Outcomes are draws from p: the mean residual is zero within 5 standard errors.
    residual = (o - p).flatten()
    assert abs(residual.mean().item()) < 5 * residual.std().item() / math.sqrt(residual.numel())
    # Every step's two outcome probabilities sum to one by construction; check the first step
    # against its exact marginal: for a hypergraph state, Z outcomes are uniform.
    first_is_z = split["bases"].gather(1, split["order"][:, :1]).squeeze(1) == 2
    assert torch.allclose(p[first_is_z, 0], torch.full_like(p[first_is_z, 0], 0.5), atol=1e-12)


def test_prepare_keeps_train_and_test_thetas_disjoint(tmp_path):
    # 4 levels on C(3,2) = 3 edges: 64 angle vectors, so 20 train draws repeat some of them.
    spec = SequenceTaskSpec(
        n=3, k=2, n_train_thetas=20, n_test_thetas=10, sequences_per_theta=1, theta_levels=4
    )
    prepare_sequences(tmp_path, [spec], seed=0)
    task = load_sequence_task(tmp_path, 3, 2, theta_levels=4)
    train = {tuple(r.tolist()) for r in task["train_thetas"]}
    test = {tuple(r.tolist()) for r in task["test_thetas"]}
    # a small alphabet is drawn without replacement: 20 distinct training vectors
    assert len(train) == 20 and len(test) == 10 and not train & test
    assert {v for row in train | test for v in row} <= {2 * math.pi * m / 4 for m in range(4)}


def test_impossible_disjoint_split_is_a_clear_error(tmp_path):
    # 2 levels on C(3,2) = 3 edges give 8 angle vectors: 8 + 1 cannot be disjoint.
    spec = SequenceTaskSpec(
        n=3, k=2, n_train_thetas=8, n_test_thetas=1, sequences_per_theta=1, theta_levels=2
    )
    with pytest.raises(DataError, match="exceed the 8 that theta_levels=2 allows"):
        prepare_sequences(tmp_path, [spec], seed=0)
    assert not list(tmp_path.iterdir())  # refused before anything was written
