"""Sequence models for the hypergraph-state measurement task: the k-HRNN (quantum memory of n
qubits) and the classical baselines (GRU, LSTM, causal Transformer), all mapping a batch of task
sequences to p(o_t = 1 | o_<t, bases, theta) at every part-B step, teacher-forced."""

import math

import torch
from torch import nn

from qmlrepro.data.sequence import BASES, teacher_forced_p_one
from qmlrepro.papers.contextual.circuit import khrnn_spec
from qmlrepro.quantum.executor import Executor

P_MIN = 1e-6  # training: probabilities are clipped to [P_MIN, 1 - P_MIN] before logs
KL_EPS = 1e-12  # evaluation: the KL's clip (see bernoulli_kl)


class QuantumHRNN(nn.Module):
    """k-HRNN: cell weights (a, c) live in the circuit, run by ``executor`` (its
    :meth:`Executor.layer`: differentiable on the torch statevector, evaluation-only on Qiskit);
    the 3 x 3 basis angles (float64) are looked up per qubit from its basis symbol and fed to the
    circuit as inputs (so they stay differentiable)."""

    def __init__(
        self,
        n: int,
        k: int,
        executor: Executor,
        size: int | None = None,
        init: str = "random",
        cell_init: float = 0.1,
        basis_init: float = math.pi,
    ) -> None:
        """``init="random"``: a uniform in [0, 2) and c uniform in [-pi, pi) (with theta_e in
        {0, pi} the cell angle a theta_e + c only matters mod 2 pi, so this covers every cell);
        ``init="generator"``: (a, c) = (1, 0) + N(0, cell_init^2), next to the task's own
        generator (a warm start: from a random a training stalls on continuous angles, where
        theta_e is a frequency; KL ~0.09 nats on n = 4, measured). The basis angles start uniform
        in [-basis_init, basis_init] in both cases. Draws use the global torch RNG, which the
        stage seeds per sweep point (``seeded``). ``size`` is accepted for a uniform call and
        must be None or n: the memory is the n qubits.

        Raises:
            ValueError: ``size`` is neither None nor n, or ``init`` is unknown.
        """
        super().__init__()
        if size not in (None, n):
            raise ValueError(f"the k-HRNN's memory is its n = {n} qubits, not size={size}")
        if init == "random":
            weights = torch.rand(2) * torch.tensor([2.0, 2 * math.pi]) - torch.tensor([0, math.pi])
        elif init == "generator":
            weights = torch.tensor([1.0, 0.0]) + cell_init * torch.randn(2)
        else:
            raise ValueError(f"QuantumHRNN init={init!r}: use 'random' or 'generator'")
        self.n, self.k = n, k
        self.spec = khrnn_spec(n, k)
        self.circuit = executor.layer(self.spec, weights)
        angles = (torch.rand(len(BASES), 3, dtype=torch.float64) * 2 - 1) * basis_init
        self.basis_angles = nn.Parameter(angles)

    @property
    def memory(self) -> int:
        return self.n  # qubits

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.conditionals(batch)

    def conditionals(self, batch: dict[str, torch.Tensor], pseudo: float = 0.0) -> torch.Tensor:
        """p(o_t = 1 | o_<t) from the circuit's outcome distribution; ``pseudo`` smooths shot
        estimates (see :func:`teacher_forced_p_one`)."""
        angles = self.basis_angles[batch["bases"]].reshape(len(batch["bases"]), -1)
        dtype = self.basis_angles.dtype
        inputs = torch.cat([batch["thetas"].to(dtype), angles], dim=1)
        probs = self.circuit(inputs).to(dtype)
        return teacher_forced_p_one(probs, batch["order"], batch["outcomes"], pseudo)


def feature_width(n: int, k: int) -> int:
    """Width F of :func:`token_features` for task (n, k)."""
    return _width(math.comb(n, k), n)


def _width(edges: int, n: int) -> int:
    # part flags (2), cos/sin theta (2), edge one-hot, qubit one-hot, basis one-hot, o_{t-1} and
    # the 'first' flag (2)
    return 2 + 2 + edges + n + len(BASES) + 2


def token_features(batch: dict[str, torch.Tensor], n: int) -> torch.Tensor:
    """(S, C(n, k) + n, F) float inputs, F = :func:`feature_width`: part-A token e carries
    (cos theta_e, sin theta_e) and its hyperedge's identity (one-hot over the C(n, k) edges, so
    a model need not count positions); part-B token t names qubit order[t] (one-hot), its basis
    (one-hot) and the previous outcome o_{t-1} (teacher forcing; 0 with a 'first' flag at t=0).
    Features 0/1 flag the part (A, B)."""
    thetas, order, bases, outcomes = (batch[k] for k in ("thetas", "order", "bases", "outcomes"))
    s, edges = thetas.shape
    width = _width(edges, n)
    part_a = thetas.new_zeros(s, edges, width)
    part_a[..., 0] = 1
    part_a[..., 2], part_a[..., 3] = torch.cos(thetas), torch.sin(thetas)
    part_a[..., 4 : 4 + edges] = torch.eye(edges, dtype=thetas.dtype, device=thetas.device)
    part_b = thetas.new_zeros(s, n, width)
    part_b[..., 1] = 1
    q0 = 4 + edges
    part_b[..., q0 : q0 + n] = nn.functional.one_hot(order, n).to(thetas.dtype)
    basis_of_step = torch.gather(bases, 1, order)
    part_b[..., q0 + n : q0 + n + len(BASES)] = nn.functional.one_hot(basis_of_step, len(BASES)).to(
        thetas.dtype
    )
    part_b[:, 1:, -2] = outcomes[:, :-1].to(thetas.dtype)
    part_b[:, 0, -1] = 1
    return torch.cat([part_a, part_b], dim=1)


class BitBottleneck(nn.Module):
    """An explicit m-bit memory: an unrestricted encoder (MLP) reads all of part A and writes m
    bits (sign of m logits; straight-through gradient of tanh, Bengio et al. 2013, arXiv
    1308.3432), an unrestricted decoder (a GRU of hidden size ``decoder`` started from the bits)
    reads part B. Nothing else crosses from part A to part B, so its memory is exactly m bits:
    the model the exact memory probe (:mod:`~qmlrepro.papers.contextual.probe`) bounds, trained
    by gradient. ``executor`` is accepted and ignored, as by :class:`RecurrentBaseline`."""

    def __init__(
        self,
        size: int,
        n: int,
        k: int,
        encoder: int = 128,
        decoder: int = 64,
        executor: Executor | None = None,
    ) -> None:
        super().__init__()
        edges = math.comb(n, k)
        self.n, self.bits = n, size
        self.encode = nn.Sequential(
            nn.Linear(2 * edges, encoder),
            nn.ReLU(),
            nn.Linear(encoder, encoder),
            nn.ReLU(),
            nn.Linear(encoder, size),
        )
        self.start = nn.Linear(size, decoder)  # size 0: a learned constant start state
        self.rnn = nn.GRU(feature_width(n, k), decoder, batch_first=True)
        self.head = nn.Linear(decoder, 1)

    @property
    def memory(self) -> int:
        return self.bits

    def code(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(S, m) in {-1, +1}: the memory after part A."""
        thetas = batch["thetas"].to(self.head.weight.dtype)
        logits = self.encode(torch.cat([torch.cos(thetas), torch.sin(thetas)], dim=1))
        soft = torch.tanh(logits)
        return soft + (torch.where(logits >= 0, 1.0, -1.0).to(soft.dtype) - soft).detach()

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = token_features(batch, self.n).to(self.head.weight.dtype)[:, -self.n :]
        h0 = torch.tanh(self.start(self.code(batch))).unsqueeze(0).contiguous()
        h, _ = self.rnn(x, h0)
        return torch.sigmoid(self.head(h).squeeze(-1))


class RecurrentBaseline(nn.Module):
    """GRU or LSTM of hidden size d; memory counted as its recurrent state (d for a GRU, 2d for an
    LSTM's h and c). Classical: ``executor`` is accepted, and ignored, so every model of the
    sweep is built by the same call."""

    def __init__(
        self, cell: str, size: int, n: int, k: int, executor: Executor | None = None
    ) -> None:
        super().__init__()
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        hidden = size
        self.n, self.cell, self.hidden = n, cell, hidden
        self.rnn = rnn(feature_width(n, k), hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    @property
    def memory(self) -> int:
        return self.hidden * (2 if self.cell == "lstm" else 1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = token_features(batch, self.n).to(self.head.weight.dtype)
        h, _ = self.rnn(x)
        return torch.sigmoid(self.head(h[:, -self.n :]).squeeze(-1))


class CausalTransformer(nn.Module):
    """Pre-LN causal Transformer of width d_model with learned positions; 'memory' = d_model, but
    it attends to every past token directly (no bottleneck state: see the report's caveat).
    Classical: ``executor`` is accepted, and ignored, as by :class:`RecurrentBaseline`."""

    def __init__(
        self, size: int, n: int, k: int, layers: int = 2, executor: Executor | None = None
    ) -> None:
        super().__init__()
        d_model = size
        self.n, self.d_model = n, d_model
        length = math.comb(n, k) + n
        self.embed = nn.Linear(feature_width(n, k), d_model)
        self.position = nn.Parameter(torch.randn(1, length, d_model) * 0.02)
        heads = 2 if d_model % 2 == 0 and d_model >= 8 else 1
        layer = nn.TransformerEncoderLayer(
            d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length))

    @property
    def memory(self) -> int:
        return self.d_model

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.embed(token_features(batch, self.n).to(self.head.weight.dtype)) + self.position
        h = self.encoder(x, mask=self.mask, is_causal=True)
        return torch.sigmoid(self.head(h[:, -self.n :]).squeeze(-1))


def bernoulli_kl(p_true: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """KL(Bern(p_true) || Bern(p_model)) elementwise, in nats, float64.

    p_model is clipped to [KL_EPS, 1 - KL_EPS] only so that a model certain of the wrong outcome
    gives a large finite KL (about 27.6 nats) instead of inf; an exact model of a deterministic
    conditional (frequent on binary hypergraph states) keeps KL 0, not the ~1e-6 that the
    training clip P_MIN would add."""
    p = p_true.double().clamp(0.0, 1.0)
    q = p_model.double().clamp(KL_EPS, 1 - KL_EPS)
    return torch.xlogy(p, p / q) + torch.xlogy(1 - p, (1 - p) / (1 - q))


def outcome_nll(p_model: torch.Tensor, outcomes: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy (nats) of p_model against ``outcomes``: sampled 0/1 outcomes (the
    outcomes' NLL) or the exact conditionals p(o_t = 1 | o_<t) as soft targets (then it is the
    mean KL plus the targets' entropy, a constant)."""
    q = p_model.clamp(P_MIN, 1 - P_MIN)
    return -(outcomes * q.log() + (1 - outcomes) * (1 - q).log()).mean()
