"""Attention coefficients: from the quantum circuit (closed form for training, outcome
frequencies for evaluation) and from the classical baselines' rules. Every scorer returns raw
scores (B, T, T) and a key mask (B, T); :func:`normalise` turns them into attention weights."""

import math

import torch
from torch import nn

from qmlrepro.errors import ConfigError
from qmlrepro.papers.hqvit.circuit import AttentionLayout, attention_spec, token_spec
from qmlrepro.quantum.executor import Executor

NORMALISATIONS = ("none", "row", "softmax")
EMPTY = 1e-12  # a token whose squared norm is below this holds no amplitude (no shots land there)


def token_mask(tokens: torch.Tensor) -> torch.Tensor:
    """(B, T) True where the token has amplitude (all-zero patches are common in MNIST)."""
    return tokens.pow(2).sum(-1) > EMPTY


def normalise(scores: torch.Tensor, keys: torch.Tensor, how: str, scale: torch.Tensor | None):
    """Attention weights from raw scores: as they are, row-normalised, or softmax(scale * s);
    keys without amplitude get weight 0."""
    mask = keys.unsqueeze(1)
    if how == "none":
        return scores * mask
    if how == "row":
        kept = scores * mask
        return kept / kept.sum(-1, keepdim=True).clamp_min(1e-9)
    if how == "softmax":
        logits = scores * (scale if scale is not None else 1.0)
        return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
    raise ConfigError(f"attention normalisation '{how}' is not one of {', '.join(NORMALISATIONS)}")


def unitary_matrix(layer: nn.Module, dim: int) -> torch.Tensor:
    """U as a (d, d) matrix, column k = U e_k, differentiable in the layer's weights."""
    eye = torch.eye(dim, dtype=layer.weights.dtype, device=layer.weights.device)
    return layer.state(eye).transpose(0, 1)


def fidelity_scores(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """|<q_i|k_j>|^2 of unit-norm rows (complex or real), (B, T, T)."""
    overlap = queries.conj() @ keys.transpose(-1, -2)
    return overlap.real**2 + overlap.imag**2 if overlap.is_complex() else overlap**2


def attention_from_outcomes(
    probs: torch.Tensor, n_tokens: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A_ij = [Pr(0,i,j) - Pr(1,i,j)] / [Pr(0,i,j) + Pr(1,i,j)] from outcome frequencies
    (B, 2^(1 + 2t)) in the layout's bit order, clipped to [0, 1] (a fidelity). Cells with no
    probability (below EMPTY: a simulator's rounding, never one shot in 10^12) are 0. Also
    returns the cell mass Pr(i, j), the shots' share of each cell."""
    cells = probs.reshape(probs.shape[0], n_tokens, n_tokens, 2).transpose(1, 2)  # [i, j, a]
    mass = cells.sum(-1)
    diff = cells[..., 0] - cells[..., 1]
    estimate = torch.where(mass > EMPTY, diff / mass.clamp_min(EMPTY), torch.zeros_like(diff))
    return estimate.clamp(0.0, 1.0), mass


class QuantumScores(nn.Module):
    """|<U_Q x_i | U_K x_j>|^2 of normalised tokens: the circuit's exact statistics in closed
    form from U_Q and U_K, token layers (d amplitudes -> d amplitudes) built by ``executor``
    (training: the run's torch executor; evaluation: the exact float64 reference), or the full
    circuit's outcome frequencies on any executor (:meth:`circuit_scores`).

    ``executor.layer`` must give modules with ``state`` (a statevector executor, e.g.
    :class:`qmlrepro.quantum.torch_executor.TorchStatevector`): the closed form reads U from it.

    Raises:
        ConfigError: ``executor`` has no statevector (e.g. a Qiskit sampler).
    """

    def __init__(
        self, layers: int, n_tokens: int, token_dim: int, model_dim: int, executor: Executor
    ) -> None:
        super().__init__()
        self.layout = AttentionLayout(n_tokens, token_dim)
        self.layers = layers
        n_angles = layers * self.layout.feature_qubits
        init = (torch.rand(2, n_angles) * 2 - 1) * math.pi
        self.query = executor.layer(token_spec(token_dim, layers, "theta_q"), init[0])
        self.key = executor.layer(token_spec(token_dim, layers, "theta_k"), init[1])
        if not hasattr(self.query, "state"):
            raise ConfigError(
                f"QuantumScores computes its closed form from statevectors, which "
                f"{type(executor).__name__} layers do not give; build the model with a torch "
                "statevector executor (circuit_scores runs the circuit on any executor)"
            )

    def forward(self, tokens: torch.Tensor, embedded: torch.Tensor):
        keep = token_mask(tokens)
        unit = tokens / tokens.norm(dim=-1, keepdim=True).clamp_min(math.sqrt(EMPTY))
        u_q = unitary_matrix(self.query, self.layout.token_dim)
        u_k = unitary_matrix(self.key, self.layout.token_dim)
        unit = unit.to(u_q.dtype)
        scores = fidelity_scores(unit @ u_q.T, unit @ u_k.T)
        return scores * (keep.unsqueeze(2) & keep.unsqueeze(1)), keep

    def circuit_weights(self) -> torch.Tensor:
        """(2 x layers x log2 d,) float64: U_Q's angles then U_K's, the full circuit's weights."""
        return torch.cat([self.query.weights.detach(), self.key.weights.detach()]).double()

    def circuit_scores(
        self, tokens: torch.Tensor, executor: Executor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The full attention circuit (:func:`attention_spec`) run on ``executor`` (no gradient)
        for tokens (B, T, d): the scores estimated from its outcome frequencies (B, T, T) and
        each cell's share of the outcomes (B, T, T), float64 on ``tokens``' device."""
        spec = attention_spec(self.layout, self.layers)
        inputs = tokens.detach().reshape(tokens.shape[0], -1).double().cpu()
        probs = torch.as_tensor(executor.values(spec, inputs, self.circuit_weights().cpu()))
        scores, mass = attention_from_outcomes(probs.double(), self.layout.n_tokens)
        return scores.to(tokens.device), mass.to(tokens.device)


class DotProductScores(nn.Module):
    """Classical dot-product attention on the embedded tokens, (E W_Q)(E W_K)^T / sqrt(D)."""

    def __init__(
        self, n_tokens: int, token_dim: int, model_dim: int, executor: Executor | None = None
    ) -> None:
        super().__init__()
        self.q, self.k = nn.Linear(model_dim, model_dim), nn.Linear(model_dim, model_dim)
        self.scale = 1 / math.sqrt(model_dim)

    def forward(self, tokens: torch.Tensor, embedded: torch.Tensor):
        scores = self.q(embedded) @ self.k(embedded).transpose(-1, -2) * self.scale
        return scores, token_mask(tokens)


class FidelityScores(nn.Module):
    """|<W_Q x_i, W_K x_j>|^2 / (||W_Q x_i||^2 ||W_K x_j||^2) on the raw tokens, W unconstrained:
    HQViT's rule without the unitarity (and without the O(log d) parameter budget)."""

    def __init__(
        self, n_tokens: int, token_dim: int, model_dim: int, executor: Executor | None = None
    ) -> None:
        super().__init__()
        self.q = nn.Linear(token_dim, token_dim, bias=False)
        self.k = nn.Linear(token_dim, token_dim, bias=False)

    def forward(self, tokens: torch.Tensor, embedded: torch.Tensor):
        keep = token_mask(tokens)

        def unit(v: torch.Tensor) -> torch.Tensor:
            return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-6)

        scores = fidelity_scores(unit(self.q(tokens)), unit(self.k(tokens)))
        return scores * (keep.unsqueeze(2) & keep.unsqueeze(1)), keep
