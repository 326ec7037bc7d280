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
    """One task of the dataset: n qubits, k-uniform hyperedges, its angle alphabet and sizes.

    ``theta_levels``: None draws continuous angles uniform in [0, 2 pi); L >= 2 draws each angle
    from the L levels 2 pi m / L. L = 2 is the standard (binary) hypergraph state, theta_e in
    {0, pi}: part A is then C(n, k) bits and the task set is the finite 2^C(n, k) hypergraphs."""

    n: int
    k: int
    n_train_thetas: int
    n_test_thetas: int
    sequences_per_theta: int
    theta_levels: int | None = None

    @property
    def name(self) -> str:
        """File stem in the prepared folder: ``n4_k2`` (continuous), ``n4_k2_L2`` (binary)."""
        return task_name(self.n, self.k, self.theta_levels)

    def validate(self) -> None:
        """Raises:
        DataError: k outside [1, n], n > 16, or more test angle vectors than the alphabet has
            beyond the training ones."""
        if not 1 <= self.k <= self.n:
            raise DataError(f"sequence task needs 1 <= k <= n, got n={self.n}, k={self.k}")
        if self.n > 16:
            raise DataError(
                f"sequence task n={self.n} is too large for exact statevectors (n <= 16)"
            )
        if self.theta_levels is not None:
            alphabet = self.theta_levels ** math.comb(self.n, self.k)
            if self.n_train_thetas + self.n_test_thetas > alphabet:
                raise DataError(
                    f"task {self.name}: {self.n_train_thetas} train + {self.n_test_thetas} test "
                    f"angle vectors exceed the {alphabet} that theta_levels={self.theta_levels} "
                    "allows; lower n_train_thetas / n_test_thetas for this task"
                )


def task_name(n: int, k: int, theta_levels: int | None = None) -> str:
    """``n<n>_k<k>``, with ``_L<levels>`` for discretised angles."""
    return f"n{n}_k{k}" + ("" if theta_levels is None else f"_L{theta_levels}")


def angle_alphabet(theta_levels: int | None) -> str:
    """The record dimension ``angles`` of a task: "continuous", "binary" (L = 2) or "L<L>"."""
    if theta_levels is None:
        return "continuous"
    return "binary" if theta_levels == 2 else f"L{theta_levels}"


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


def theta_blind_probabilities(bases: torch.Tensor, n: int, k: int) -> torch.Tensor:
    """Outcome distribution (S, 2^n), float64, of the theta-averaged state in each sequence's
    bases (S, n) (entries index BASES, qubit j = column j).

    Averaging |H_theta><H_theta| over independent uniform angles (or any L >= 2 equally spaced
    levels) keeps the entry (x, y) = 2^-n only where x and y switch on the same hyperedges. A
    basis state x with Hamming weight >= k switches on the k-subsets of its support, a set no
    other x shares; every x of weight < k switches on none. So the mean state is
    2^-n (I - P_low + |v><v|), P_low the projector on the weight < k states and v their sum, and
    in a product basis |<o|U_b|x>|^2 = prod_j (1/2 for X or Y; [o_j = x_j] for Z). Conditioned on
    earlier outcomes it is the Bayes-optimal predictor that ignores part A: a model whose KL is at
    this floor has used nothing of the angles.

    Memory is O(2^n n) per sequence of a chunk (2^22 amplitudes), never classes x amplitudes
    (n = 12, k = 3 needed 16.9 GB per chunk in the class-by-class form)."""
    bits = basis_bits(n)
    v_low = (bits.sum(dim=1) < k).to(torch.complex128)  # sum of the weight < k basis states
    # sum over low x of prod_j |<o_j|U_b_j|x_j>|^2 = 2^-(n - z) * #{x : |x| < k, x = o on the z
    # Z-measured qubits}; with w ones of o among them that count is sum_{j < k - w} C(n - z, j)
    count = torch.tensor(
        [
            [sum(math.comb(n - z, j) for j in range(k - w)) for w in range(n + 1)]
            for z in range(n + 1)
        ],
        dtype=torch.float64,
    )
    chunk = max(1, 2**22 // 2**n)
    out = []
    for start in range(0, len(bases), chunk):
        part = bases[start : start + chunk]
        is_z = part == BASES.index("Z")  # (s, n)
        z = is_z.sum(dim=1)  # (s,)
        w = (bits.unsqueeze(0) & is_z.unsqueeze(1)).sum(dim=-1)  # (s, 2^n) ones of o on Z qubits
        low_mass = count[z.unsqueeze(1), w] * 0.5 ** (n - z).unsqueeze(1).double()
        rotated = rotate_to_bases(v_low.expand(len(part), -1), part, n)
        out.append((1.0 - low_mass + rotated.abs() ** 2) / 2**n)
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


ENUMERABLE = 2**24  # alphabets up to this size are drawn without replacement


def _distinct_thetas(
    spec: SequenceTaskSpec, n_edges: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test angle vectors as distinct members of a small finite alphabet (every
    hypergraph at most once: with 64 binary hypergraphs, 48 draws with replacement would repeat
    a third of them), disjoint by construction."""
    levels = spec.theta_levels
    picked = torch.randperm(levels**n_edges, generator=gen)[
        : spec.n_train_thetas + spec.n_test_thetas
    ]
    digits = (picked.unsqueeze(1) // levels ** torch.arange(n_edges)) % levels  # edge e: digit e
    thetas = 2 * math.pi * digits.double() / levels
    return thetas[: spec.n_train_thetas], thetas[spec.n_train_thetas :]


def sample_split(
    spec: SequenceTaskSpec,
    thetas: torch.Tensor,
    gen: torch.Generator,
    chunk: int = 512,
    blind: bool = True,
) -> dict[str, torch.Tensor]:
    """``spec.sequences_per_theta`` sequences per angle vector of ``thetas`` (S, C(n, k)): a
    uniform basis per qubit, a uniform measurement order and outcomes drawn from the exact
    conditionals, ``chunk`` sequences of statevectors at a time. ``blind=False`` leaves out
    ``p_blind`` (the theta-blind conditionals, only needed to score the floor)."""
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
    split = {
        "thetas": seq_thetas,
        "bases": bases,  # per qubit j, index into BASES
        "order": order,  # order[:, t] = qubit measured at step t
        "outcomes": outcomes_t,  # outcome at step t
        "p_one": torch.cat(p_one),  # exact p(o_t = 1 | o_<t, bases, theta)
    }
    if blind:
        # the same conditionals of the theta-averaged state: the best prediction without part A
        averaged = theta_blind_probabilities(bases, n, spec.k)
        split["p_blind"] = teacher_forced_p_one(averaged, order, outcomes_t)
    return split


def prepare_sequences(out_dir: Path, specs: list[SequenceTaskSpec], seed: int) -> dict:
    for spec in specs:  # every task checked before anything is written
        spec.validate()
    make_dir(out_dir)
    entries = {}
    for spec in specs:
        gen = torch_generator(seed, "sequence", spec.name)  # one stream per task
        n_edges = math.comb(spec.n, spec.k)
        if spec.theta_levels is not None and spec.theta_levels**n_edges <= ENUMERABLE:
            train_thetas, test_thetas = _distinct_thetas(spec, n_edges, gen)
        else:
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
            "angles": angle_alphabet(spec.theta_levels),
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


def load_sequence_task(
    root: str | Path, n: int, k: int, theta_levels: int | None = None
) -> dict[str, torch.Tensor]:
    """The prepared tensors of task (n, k, theta_levels) under ``root`` (see :func:`sample_split`
    for the keys, prefixed ``train_`` / ``test_``)."""
    return load_tensors(Path(root), task_name(n, k, theta_levels))
