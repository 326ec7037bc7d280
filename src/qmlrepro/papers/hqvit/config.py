"""Schema of ``conf/paper/hqvit.yaml``."""

from dataclasses import dataclass, field
from typing import Any

from qmlrepro.config.schema import (
    PaperConfig,
    require_above_zero,
    require_choice,
    require_non_negative,
    require_positive,
    require_positive_list,
)
from qmlrepro.errors import ConfigError

ATTENTION_NORMS = ("none", "row", "softmax")


@dataclass
class HqvitConfig(PaperConfig):
    _target_: str = "qmlrepro.papers.hqvit.experiment.HqvitExperiment"
    id: str = "hqvit"
    patch: int = 4  # patch side: T = (side / patch)^2 tokens of d = patch^2 pixels
    ansatz_layers: int = 2  # RY + CX-ring layers of U_Q and U_K
    attention_norm: str = "softmax"  # none | row | softmax (learnable temperature)
    model_dim: int = 32
    mlp_dim: int = 64
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    log_every: int = 20
    checkpoint_every: int = 200
    n_test: int | None = None  # test images for the exact accuracy (null: all)
    # Resource counts of the circuit for these image sides x patch sides (quantum models' describe)
    scaling_sides: list[int] = field(default_factory=lambda: [4, 8, 16, 32, 64])
    scaling_patches: list[int] = field(default_factory=lambda: [2, 4, 8])

    def __post_init__(self) -> None:
        for key in ("patch", "ansatz_layers", "model_dim", "mlp_dim", "steps", "batch_size"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        for key in ("log_every", "checkpoint_every"):
            require_positive(f"paper.{key}", getattr(self, key), allow_none=False)
        require_positive("paper.n_test", self.n_test)
        require_above_zero("paper.lr", self.lr)
        require_non_negative("paper.weight_decay", self.weight_decay)
        require_choice("paper.attention_norm", self.attention_norm, ATTENTION_NORMS)
        require_positive_list("paper.scaling_sides", self.scaling_sides, allow_none=False)
        require_positive_list("paper.scaling_patches", self.scaling_patches, allow_none=False)

    def check_model(self, model: Any) -> None:
        heads = getattr(model, "heads", None)
        if heads and self.model_dim % heads:
            raise ConfigError(
                f"model.heads={heads} does not divide paper.model_dim={self.model_dim}; "
                "choose heads among its divisors"
            )


@dataclass
class AttentionModel:
    """``conf/model/hqvit/{quantum,fidelity,softmax}.yaml``: one attention-score module."""

    _target_: str = "qmlrepro.papers.hqvit.models.AttentionClassifier"
    normalisation: str = "softmax"
    scores: Any = None

    def __post_init__(self) -> None:
        require_choice("model.normalisation", self.normalisation, ATTENTION_NORMS)
        if not self.scores or not self.scores.get("_target_"):
            raise ConfigError("model.scores needs a _target_ (an attention-score class)")
        require_positive("model.scores.layers", self.scores.get("layers"))


@dataclass
class VitModel:
    """``conf/model/hqvit/vit{,_pos}.yaml``."""

    _target_: str = "qmlrepro.papers.hqvit.models.TinyViT"
    positional: bool = False
    heads: int = 2
    depth: int = 1

    def __post_init__(self) -> None:
        for key in ("heads", "depth"):
            require_positive(f"model.{key}", getattr(self, key), allow_none=False)


SCHEMAS = {"hqvit_schema": HqvitConfig}
MODEL_SCHEMAS = {"attention_schema": AttentionModel, "vit_schema": VitModel}
