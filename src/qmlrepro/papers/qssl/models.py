"""The SimCLR network of the paper: ResNet-18 -> Linear(512, W) -> sigmoid * pi -> representation
network (classical, quantum or a control, width W) -> projection head -> L2-normalised output of
``projection_dim`` (W in the authors' code, 128 in standard SimCLR)."""

import math

import torch
import torch.nn.functional as F
import torchvision
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from torch import nn

from qmlrepro.quantum.ansatz import z_observables
from qmlrepro.quantum.executor import Executor
from qmlrepro.quantum.spec import CircuitSpec, make_spec
from qmlrepro.training.seeding import seeded


class Cos(nn.Module):
    """Element-wise cosine: the non-linearity a qubit's <Z> applies to an RX-encoded angle
    (<Z> = cos x after RX(x) on |0>), as a classical activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cos(x)


ACTIVATIONS = {"leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "cos": Cos}


class ClassicalRepresentation(nn.Sequential):
    """``layers`` x [Linear(W, W) + activation]: W (W + 1) parameters per layer (144 at W = 8,
    2 layers). The paper's network is LeakyReLU (the authors' ``--classical``); ``tanh`` and
    ``cos`` are controls with a bounded / the quantum layer's trigonometric non-linearity, and
    ``layers=0`` is the identity (the authors' ``--identity``: no representation network, 0
    parameters, the probe reads the angles). Always runs in torch; ``executor`` is accepted so
    every representation network is built by the same call.

    Raises:
        ValueError: ``activation`` not one of :data:`ACTIVATIONS`, or ``layers < 0``.
    """

    def __init__(
        self,
        width: int,
        layers: int = 2,
        activation: str = "leaky_relu",
        executor: Executor | None = None,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r}: use one of {', '.join(ACTIVATIONS)}")
        if layers < 0:
            raise ValueError(f"layers={layers} must be >= 0")
        blocks: list[nn.Module] = []
        for _ in range(layers):
            blocks += [nn.Linear(width, width), ACTIVATIONS[activation]()]
        super().__init__(*blocks)


class QuantumRepresentation(nn.Module):
    """W qubits: RX(x_i) encoding, a variational ansatz, <Z_i> readout; run by ``executor``
    (torch statevector, torch with shots, or a Qiskit executor): its :meth:`Executor.layer`."""

    def __init__(
        self,
        width: int,
        circuit: tuple[QuantumCircuit, ParameterVector, ParameterVector],
        executor: Executor,
    ) -> None:
        super().__init__()
        qc, inputs, weights = circuit
        if qc.num_qubits != width or len(inputs) != width:
            raise ValueError(f"circuit has {qc.num_qubits} qubits, expected width {width}")
        self.spec: CircuitSpec = make_spec(qc, inputs, weights, observables=z_observables(width))
        # The authors' QNet: weights ~ N(0, 1/sqrt(W)).
        init = torch.randn(len(weights)) / math.sqrt(width)
        self.layer = executor.layer(self.spec, init)

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        return self.layer(angles)


def resnet18_trunk(in_channels: int) -> nn.Module:
    """torchvision ResNet-18, random init, ImageNet stem (7x7/2 conv + max-pool) kept as the
    authors did on 32x32 images; the first conv takes ``in_channels``; no classifier."""
    trunk = torchvision.models.resnet18(weights=None)
    if in_channels != 3:
        trunk.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(trunk.conv1.weight, mode="fan_out", nonlinearity="relu")
    trunk.fc = nn.Identity()
    return trunk


class SimCLRNetwork(nn.Module):
    """Trunk -> angles -> ``representation`` -> projection head.

    ``projection_dim``: the head's output size; None gives W (the authors' code builds
    ``SimCLR(resnet18, args.width)``, bjader/QSSL ``models.py``).

    Each component the network builds is initialised from its own random stream of run seed
    ``seed`` (``derive_seed(seed, "init", "trunk" | "to_angles" | "projection")``): two networks
    of one seed with different representation networks start from bit-identical trunks and heads,
    which is what makes a per-seed comparison of representation networks paired.
    """

    def __init__(
        self,
        representation: nn.Module,
        width: int,
        in_channels: int,
        projection_dim: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        with seeded(seed, "init", "trunk"):
            self.trunk = resnet18_trunk(in_channels)
        with seeded(seed, "init", "to_angles"):
            self.to_angles = nn.Linear(512, width)
        self.representation = representation
        with seeded(seed, "init", "projection"):
            self.projection = nn.Sequential(
                nn.Linear(width, width, bias=False),
                nn.BatchNorm1d(width),
                nn.ReLU(),
                nn.Linear(width, projection_dim or width),
            )

    def angles(self, images: torch.Tensor) -> torch.Tensor:
        """Features squashed into (0, pi): rotation angles for the quantum encoding."""
        return torch.sigmoid(self.to_angles(self.trunk(images))) * math.pi

    def represent(self, images: torch.Tensor) -> torch.Tensor:
        """The representation-network output: what the linear probe reads."""
        return self.representation(self.angles(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projection(self.represent(images)), dim=-1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
