"""The hypergraph-state measurement task (HSMT) in the spirit of Anschuetz & Gao (2024).

A sequence has two parts. Part A: one token per hyperedge e of the complete k-uniform hypergraph
on n qubits (fixed lexicographic order) carrying an angle theta_e, which defines the weighted
hypergraph state |H_theta> = prod_e exp(i theta_e |1..1><1..1|_e) |+>^n. Part B: one token per
qubit, in a random order, naming a measurement basis (X, Y or Z); the model must predict the
outcome. Targets are the exact conditional Born probabilities p(o_t = 1 | o_<t, bases, theta),
computed from the statevector, along outcomes sampled from that same distribution. Train and test
use disjoint thetas.

Qubit j is bit j of a basis-state index (Qiskit's little-endian order), so a Qiskit circuit of H on
every qubit followed by MCPhase gates prepares exactly :func:`hypergraph_states`.
"""

import math
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import torch

from qmlrepro.data.artifacts import load_tensors, make_dir, save_tensors, write_manifest
from qmlrepro.errors import DataError
from qmlrepro.training.seeding import torch_generator

BASES = ("X", "Y", "Z")
_SQRT_HALF = 1 / math.sqrt(2)
# Rows map the basis's "+1" eigenvector to |0>: H for X, H S^dagger for Y, identity for Z.
BASIS_ROTATIONS = torch.tensor(
    [
        [[_SQRT_HALF, _SQRT_HALF], [_SQRT_HALF, -_SQRT_HALF]],
        [[_SQRT_HALF, -1j * _SQRT_HALF], [_SQRT_HALF, 1j * _SQRT_HALF]],
        [[1, 0], [0, 1]],
    ],
    dtype=torch.complex128,
)


@dataclass(frozen=True)
class SequenceTaskSpec:
    n: int
    k: int
    n_train_thetas: int
    n_test_thetas: int
    sequences_per_theta: int
    theta_levels: int | None = None  # None: continuous angles; L: angles 2 pi m / L

    @property
    def name(self) -> str:
        return f"n{self.n}_k{self.k}"

    def validate(self) -> None:
        if not 1 <= self.k <= self.n:
            raise DataError(f"sequence task needs 1 <= k <= n, got n={self.n}, k={self.k}")
        if self.n > 16:
            raise DataError(
                f"sequence task n={self.n} is too large for exact statevectors (n <= 16)"
            )


def hyperedges(n: int, k: int) -> list[tuple[int, ...]]:
    return list(combinations(range(n), k))


def basis_bits(n: int) -> torch.Tensor:
    """(2^n, n) bool: entry [x, j] is bit j of basis index x."""
    index = torch.arange(2**n)
    return ((index.unsqueeze(1) >> torch.arange(n)) & 1).bool()


def hypergraph_states(thetas: torch.Tensor, n: int, k: int) -> torch.Tensor:
    """Batched |H_theta>: thetas (S, C(n, k)) -> amplitudes (S, 2^n), complex128."""
    bits = basis_bits(n)
    edges = hyperedges(n, k)
    on_edge = torch.stack([bits[:, list(e)].all(dim=1) for e in edges], dim=1).double()
    phases = thetas.double() @ on_edge.T
    return torch.polar(torch.full_like(phases, 2 ** (-n / 2)), phases)


def rotate_to_bases(states: torch.Tensor, bases: torch.Tensor, n: int) -> torch.Tensor:
    """Apply each sequence's per-qubit basis change; bases (S, n) indexes BASES for qubit j."""
    s = states.shape[0]
    psi = states.reshape((s,) + (2,) * n)
    for qubit in range(n):
        axis = n - qubit  # little-endian: qubit 0 is the last tensor axis
        gate = BASIS_ROTATIONS[bases[:, qubit]]  # (S, 2, 2)
        psi = torch.movedim(psi, axis, -1)
        psi = torch.einsum("s...j,sij->s...i", psi, gate)
        psi = torch.movedim(psi, -1, axis)
    return psi.reshape(s, 2**n)


def _probability_of_one(weights: torch.Tensor, is_one: torch.Tensor) -> torch.Tensor:
    """p(o_t = 1 | outcomes so far): the surviving Born weight on o_t = 1 over all of it."""
    mass = weights.sum(dim=1)
    return ((weights * is_one).sum(dim=1) / mass.clamp_min(1e-300)).clamp(0.0, 1.0)


def conditional_outcomes(
    probs: torch.Tensor, order: torch.Tensor, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample outcomes qubit by qubit in ``order``; return (outcomes, p(o_t = 1 | o_<t)), both
    (S, n)."""
    bits = basis_bits(n)
    weights = probs.clone()
    outcomes = torch.zeros(order.shape, dtype=torch.long)
    p_one = torch.zeros(order.shape, dtype=torch.float64)
    for t in range(n):
        is_one = bits[:, order[:, t]].T  # (S, 2^n)
        p1 = _probability_of_one(weights, is_one)
        o = torch.bernoulli(p1, generator=generator).long()
        outcomes[:, t], p_one[:, t] = o, p1
        weights = weights * (is_one == o.unsqueeze(1).bool())
    return outcomes, p_one


def teacher_forced_p_one(
    probs: torch.Tensor, order: torch.Tensor, outcomes: torch.Tensor, pseudo: float = 0.0
) -> torch.Tensor:
    """p(o_t = 1 | o_<t) along given outcomes (S, n) of a model's joint outcome distribution
    probs (S, 2^n): exact projection on the outcomes seen so far, differentiable in probs.

    ``pseudo`` > 0 adds that much probability mass to each of o_t = 0 and o_t = 1 (for shot
    estimates, 0.5 / shots is the Krichevsky-Trofimov estimator): a conditioning event that no
    shot reached then gives 1/2 instead of a certain outcome."""
    n = order.shape[1]
    bits = basis_bits(n).to(probs.device)
    weights, p_one = probs, []
    for t in range(n):
        is_one = bits[:, order[:, t]].T
        if pseudo > 0:
            mass = weights.sum(dim=1)
            p_one.append(((weights * is_one).sum(dim=1) + pseudo) / (mass + 2 * pseudo))
        else:
            p_one.append(_probability_of_one(weights, is_one))
        weights = weights * (is_one == outcomes[:, t : t + 1].bool())
    return torch.stack(p_one, dim=1)


def theta_blind_probabilities(bases: torch.Tensor, n: int, k: int, chunk: int = 64) -> torch.Tensor:
    """Outcome distribution (S, 2^n) of the theta-averaged state in each sequence's bases.

    Averaging |H_theta><H_theta| over independent uniform angles (or any L >= 2 equally spaced
    levels) keeps the entry (x, y) = 2^-n only where x and y switch on the same hyperedges, so
    the mean state is 2^-n sum_c |v_c><v_c| over those classes c (v_c = sum of the class's basis
    states). Conditioned on earlier outcomes it is the Bayes-optimal predictor that ignores part
    A: a model whose KL is at this floor has used nothing of the angles."""
    bits = basis_bits(n)
    on_edge = torch.stack([bits[:, list(e)].all(dim=1) for e in hyperedges(n, k)], dim=1)
    _, cls = torch.unique(on_edge, dim=0, return_inverse=True)
    classes = torch.nn.functional.one_hot(cls).T.to(torch.complex128)  # (C, 2^n)
    out = []
    for start in range(0, len(bases), chunk):
        part = bases[start : start + chunk]
        s, c = len(part), len(classes)
        states = classes.repeat(s, 1)
        rotated = rotate_to_bases(states, part.repeat_interleave(c, dim=0), n)
        out.append((rotated.abs() ** 2).reshape(s, c, -1).sum(dim=1) / 2**n)
    return torch.cat(out)


def _draw_thetas(
    count: int, n_edges: int, levels: int | None, gen: torch.Generator
) -> torch.Tensor:
    if levels is None:
        return 2 * math.pi * torch.rand((count, n_edges), generator=gen, dtype=torch.float64)
    return 2 * math.pi * torch.randint(0, levels, (count, n_edges), generator=gen).double() / levels


def _disjoint_test_thetas(
    train: torch.Tensor, count: int, levels: int | None, gen: torch.Generator
) -> torch.Tensor:
    """Test angle vectors that never occur in the training set (matters for discretised angles)."""
    seen = {tuple(row.tolist()) for row in train}
    kept: list[torch.Tensor] = []
    for _ in range(1000):
        for row in _draw_thetas(count, train.shape[1], levels, gen):
            key = tuple(row.tolist())
            if key not in seen:
                seen.add(key)
                kept.append(row)
        if len(kept) >= count:
            return torch.stack(kept[:count])
    raise DataError(
        f"cannot draw {count} test angle vectors disjoint from training with "
        f"theta_levels={levels}; raise theta_levels or lower the sizes"
    )


def sample_split(
    spec: SequenceTaskSpec, thetas: torch.Tensor, gen: torch.Generator, chunk: int = 512
) -> dict[str, torch.Tensor]:
    n, per = spec.n, spec.sequences_per_theta
    seq_thetas = thetas.repeat_interleave(per, dim=0)
    s = seq_thetas.shape[0]
    bases = torch.randint(0, len(BASES), (s, n), generator=gen)
    order = torch.argsort(torch.rand((s, n), generator=gen), dim=1)
    outcomes, p_one = [], []
    for start in range(0, s, chunk):
        sl = slice(start, start + chunk)
        states = rotate_to_bases(hypergraph_states(seq_thetas[sl], n, spec.k), bases[sl], n)
        o, p = conditional_outcomes(states.abs() ** 2, order[sl], n, gen)
        outcomes.append(o)
        p_one.append(p)
    outcomes_t = torch.cat(outcomes)
    blind = theta_blind_probabilities(bases, n, spec.k)
    return {
        "thetas": seq_thetas,
        "bases": bases,  # per qubit j, index into BASES
        "order": order,  # order[:, t] = qubit measured at step t
        "outcomes": outcomes_t,  # outcome at step t
        "p_one": torch.cat(p_one),  # exact p(o_t = 1 | o_<t, bases, theta)
        # the same conditionals of the theta-averaged state: the best prediction without part A
        "p_blind": teacher_forced_p_one(blind, order, outcomes_t),
    }


def prepare_sequences(out_dir: Path, specs: list[SequenceTaskSpec], seed: int) -> dict:
    make_dir(out_dir)
    entries = {}
    for spec in specs:
        spec.validate()
        gen = torch_generator(seed, "sequence", spec.name)  # one stream per task
        n_edges = math.comb(spec.n, spec.k)
        train_thetas = _draw_thetas(spec.n_train_thetas, n_edges, spec.theta_levels, gen)
        test_thetas = _disjoint_test_thetas(
            train_thetas, spec.n_test_thetas, spec.theta_levels, gen
        )
        tensors = {}
        for split, thetas in (("train", train_thetas), ("test", test_thetas)):
            for key, value in sample_split(spec, thetas, gen).items():
                tensors[f"{split}_{key}"] = value
        info = {
            "n": spec.n,
            "k": spec.k,
            "n_hyperedges": n_edges,
            "theta_levels": spec.theta_levels,
            "n_train_sequences": len(tensors["train_outcomes"]),
            "n_test_sequences": len(tensors["test_outcomes"]),
        }
        entries[spec.name] = save_tensors(out_dir, spec.name, tensors, info)
    write_manifest(
        out_dir,
        entries,
        {
            "generator": "qmlrepro.data.sequence",
            "seed": seed,
            "bases": BASES,
            "qubit_order": "little",
        },
    )
    return entries


def load_sequence_task(root: str | Path, n: int, k: int) -> dict[str, torch.Tensor]:
    return load_tensors(Path(root), f"n{n}_k{k}")
