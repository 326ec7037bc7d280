"""The classifier HQViT and the attention baselines share, and the tiny ViT baseline.

``AttentionClassifier``: tokens -> linear embedding E (no positional encoding) -> E + W (E W_V)
with W the normalised attention of a scorer -> + MLP(LN) -> mean over tokens -> LN -> head. Only
the scorer differs between HQViT and the attention baselines.
"""

from collections.abc import Callable

import torch
from torch import nn

from qmlrepro.errors import ConfigError
from qmlrepro.papers.hqvit.attention import NORMALISATIONS, normalise
from qmlrepro.quantum.executor import Executor
from qmlrepro.training.seeding import seeded


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _mlp(model_dim: int, mlp_dim: int) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(model_dim),
        nn.Linear(model_dim, mlp_dim),
        nn.GELU(),
        nn.Linear(mlp_dim, model_dim),
    )


class AttentionClassifier(nn.Module):
    def __init__(
        self,
        scores: Callable[..., nn.Module],
        normalisation: str,
        n_tokens: int,
        token_dim: int,
        model_dim: int,
        mlp_dim: int,
        n_classes: int,
        executor: Executor,
        seed: int = 0,
    ) -> None:
        """``scores(n_tokens=, token_dim=, model_dim=, executor=)`` builds the scorer, quantum
        layers from ``executor`` (the classical scorers ignore it).

        Each part is initialised from its own stream of run seed ``seed``
        (``derive_seed(seed, "init", part)``): HQViT and its classical-attention baselines of one
        seed share bit-identical embedding, value, MLP and head weights, whatever their scorers
        draw, so per-seed differences are paired.

        Raises:
            ConfigError: an unknown ``normalisation``.
        """
        super().__init__()
        if normalisation not in NORMALISATIONS:
            raise ConfigError(
                f"normalisation={normalisation} is not one of {', '.join(NORMALISATIONS)}"
            )
        self.normalisation = normalisation
        with seeded(seed, "init", "embed"):
            self.embed = nn.Linear(token_dim, model_dim)
        with seeded(seed, "init", "scores"):
            self.scores = scores(
                n_tokens=n_tokens, token_dim=token_dim, model_dim=model_dim, executor=executor
            )
        self.log_scale = nn.Parameter(torch.zeros(())) if normalisation == "softmax" else None
        with seeded(seed, "init", "value"):
            self.value = nn.Linear(model_dim, model_dim)
        with seeded(seed, "init", "mlp"):
            self.mlp = _mlp(model_dim, mlp_dim)
        self.norm = nn.LayerNorm(model_dim)
        with seeded(seed, "init", "head"):
            self.head = nn.Linear(model_dim, n_classes)

    def forward(
        self, tokens: torch.Tensor, attention: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Logits; ``attention`` = (scores, key mask) computed elsewhere (e.g. sampled from the
        circuit on an executor) replaces the scorer's own."""
        embedded = self.embed(tokens)
        raw, keys = attention if attention is not None else self.scores(tokens, embedded)
        scale = self.log_scale.exp() if self.log_scale is not None else None
        weights = normalise(raw.to(embedded.dtype), keys, self.normalisation, scale)
        h = embedded + weights @ self.value(embedded)
        h = h + self.mlp(h)
        return self.head(self.norm(h.mean(dim=1)))


class TinyViT(nn.Module):
    """A standard pre-LN transformer encoder (multi-head softmax attention) on the same tokens,
    with or without a learned positional embedding; mean-pooled like the others."""

    def __init__(
        self,
        positional: bool,
        heads: int,
        depth: int,
        n_tokens: int,
        token_dim: int,
        model_dim: int,
        mlp_dim: int,
        n_classes: int,
        executor: Executor | None = None,
        seed: int = 0,
    ) -> None:
        """``executor`` is accepted for a uniform model signature and unused (no circuit)."""
        super().__init__()
        with seeded(seed, "init", "embed"):  # as AttentionClassifier's
            self.embed = nn.Linear(token_dim, model_dim)
        with seeded(seed, "init", "vit"):
            self.position = (
                nn.Parameter(torch.zeros(1, n_tokens, model_dim)) if positional else None
            )
            if self.position is not None:
                nn.init.normal_(self.position, std=0.02)
            layer = nn.TransformerEncoderLayer(
                model_dim, heads, mlp_dim, dropout=0.0, activation="gelu", batch_first=True,
                norm_first=True,
            )  # fmt: skip
            self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(model_dim)
        with seeded(seed, "init", "head"):  # as AttentionClassifier's
            self.head = nn.Linear(model_dim, n_classes)

    def forward(self, tokens: torch.Tensor, attention=None) -> torch.Tensor:
        if attention is not None:
            raise ConfigError("TinyViT computes its own attention; it cannot take circuit scores")
        h = self.embed(tokens)
        if self.position is not None:
            h = h + self.position
        return self.head(self.norm(self.encoder(h).mean(dim=1)))
