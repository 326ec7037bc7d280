"""Build a model's quantum layer from the ``backend`` config: the one place that knows executors.

Models describe their circuit as a :class:`CircuitSpec` and call :func:`quantum_layer`; they never
branch on the backend. Torch backends give a differentiable :class:`TorchCircuit` (exact or with
shots); Qiskit backends give a :class:`QiskitLayer` with the same weights and call signature,
for evaluation.
"""

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from qmlrepro.quantum.qiskit_executors import QiskitExecutor
from qmlrepro.quantum.spec import CircuitSpec
from qmlrepro.quantum.torch_executor import TorchCircuit
from qmlrepro.training.device import resolve_dtype
from qmlrepro.training.seeding import derive_seed


class QiskitLayer(torch.nn.Module):
    """Runs the spec through a Qiskit executor (no gradient). Same ``weights`` as TorchCircuit, so
    a trained checkpoint loads into either."""

    def __init__(
        self, spec: CircuitSpec, executor: QiskitExecutor, init_weights: torch.Tensor
    ) -> None:
        super().__init__()
        self.spec, self.executor = spec, executor
        self.weights = torch.nn.Parameter(init_weights.clone(), requires_grad=False)
        self._extra = torch.tensor(0, dtype=torch.int64)

    def get_extra_state(self) -> torch.Tensor:
        """What a :class:`TorchCircuit` saves beside its weights (the shot-stream position), kept
        as loaded, so checkpoints load into either executor."""
        return self._extra

    def set_extra_state(self, state: torch.Tensor) -> None:
        self._extra = state.clone()

    def forward(self, inputs: torch.Tensor | None = None) -> torch.Tensor:
        if inputs is None:
            inputs = torch.zeros(1, len(self.spec.inputs))
        values = self.executor.run(
            self.spec,
            inputs.detach().cpu().double().numpy(),
            self.weights.detach().cpu().double().numpy(),
        )
        return torch.as_tensor(np.asarray(values), dtype=inputs.dtype, device=inputs.device)


def quantum_layer(
    spec: CircuitSpec, backend: DictConfig, init_weights: torch.Tensor
) -> torch.nn.Module:
    if backend.get("executor") is None:
        seed = None if backend.get("seed") is None else derive_seed(backend.seed, "torch_shots")
        return TorchCircuit.from_spec(
            spec, backend.shots, resolve_dtype(backend.dtype), init_weights, seed=seed
        )
    return QiskitLayer(spec, instantiate(backend.executor), init_weights)


def with_shots(backend: DictConfig, shots: int) -> DictConfig:
    """``backend`` at another shot count. Its executor reads ``${backend.shots}``, which a merge
    would resolve against the original config (hqvit's first default run sampled every count at
    1,000 shots that way): resolve first, then set both."""
    node = OmegaConf.to_container(backend, resolve=True)
    node["shots"] = shots
    if isinstance(node.get("executor"), dict) and "shots" in node["executor"]:
        node["executor"]["shots"] = shots
    return OmegaConf.create(node)


def exact_backend(backend: DictConfig) -> DictConfig:
    """The torch statevector executor with ``backend``'s device and dtype: the noiseless,
    shot-free reference that a Qiskit backend's numbers are compared with."""
    node = OmegaConf.to_container(backend, resolve=True)
    return OmegaConf.create({**node, "name": "torch", "shots": None, "executor": None})
