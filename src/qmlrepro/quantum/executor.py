"""What every executor is: an injected object with Qiskit's primitive call shape.

A run is ``executor.run(pubs, *, shots=None, seed=None) -> ExecutorResult``, as Qiskit's
``SamplerV2.run(pubs, *, shots=None)``: each PUB is one model circuit (a :class:`CircuitSpec`)
with its input values (B, n_amp + n_in) and weights (n_w,) or (B, n_w), and the result keeps, per
PUB, the values (B, n_outputs) and what produced them (shots, seed, ISA depth and two-qubit gates,
physical qubits, job ids). ``executor.layer(spec, init_weights)`` gives the ``nn.Module`` a model
holds (differentiable on the torch executor, evaluation-only on Qiskit ones), so a model never
needs to know which executor it was handed.

Executors are built from ``backend.executor`` (``_target_`` plus options) once per run by the
stage (:mod:`qmlrepro.stages`) and handed to the experiment in its :class:`RunContext`.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from qmlrepro.errors import QmlreproError
from qmlrepro.quantum.spec import CircuitSpec


@dataclass(frozen=True)
class CircuitPub:
    """A PUB of a model circuit: ``spec`` with ``inputs`` (B, n_amp + n_in), amplitudes first,
    angles in radians, and ``weights`` (n_w,) shared by every row or (B, n_w) one set per row
    (radians; with one input row, that row is shared by every weight set). Arrays or tensors;
    executors read them as float64 (Qiskit) or in their own dtype (torch). ``inputs=None`` is one
    row of zeros (circuits without inputs); ``weights=None`` only for circuits without weights."""

    spec: CircuitSpec
    inputs: Any = None
    weights: Any = None

    @classmethod
    def coerce(cls, pub: "CircuitPub | tuple") -> "CircuitPub":
        """A :class:`CircuitPub` from itself or a ``(spec, inputs, weights)`` tuple (as Qiskit
        coerces tuples to PUBs).

        Raises:
            QmlreproError: anything else.
        """
        if isinstance(pub, CircuitPub):
            return pub
        if isinstance(pub, tuple) and 1 <= len(pub) <= 3 and isinstance(pub[0], CircuitSpec):
            return cls(*pub)
        raise QmlreproError(
            f"a PUB is a CircuitPub or a (spec, inputs, weights) tuple, got {type(pub).__name__}"
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (B, n_amp + n_in), weights (n_w,) or (B, n_w)) as float64 NumPy arrays, after
        checking their shapes: every executor reads a PUB the same way.

        Raises:
            QmlreproError: inputs that are not (B, n_amp + n_in); weights missing for a circuit
                that has some, or not (n_w,) / (R, n_w); R weight rows with neither 1 nor R
                input rows.
        """
        n_in = len(self.spec.inputs) + self.spec.n_amplitude_inputs
        n_w = len(self.spec.weights)
        inputs = np.zeros((1, n_in)) if self.inputs is None else _numpy(self.inputs)
        if inputs.ndim != 2 or inputs.shape[1] != n_in:
            raise QmlreproError(
                f"PUB inputs must be (B, {n_in}) for this circuit, got {inputs.shape}"
            )
        if self.weights is None:
            if n_w:
                raise QmlreproError(f"this circuit has {n_w} weights: give them in the PUB")
            return inputs, np.zeros(0)
        weights = _numpy(self.weights)
        if weights.ndim not in (1, 2) or weights.shape[-1] != n_w:
            raise QmlreproError(
                f"PUB weights must be ({n_w},) or (B, {n_w}) for this circuit, got {weights.shape}"
            )
        if weights.ndim == 2 and len(inputs) not in (1, len(weights)):
            raise QmlreproError(
                f"PUB inputs have {len(inputs)} rows and weights {len(weights)}: give one input "
                "row (shared by every weight set) or one per weight set"
            )
        return inputs, weights


def _numpy(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    return np.asarray(values, dtype=float)


@dataclass(frozen=True)
class PubResult:
    """One PUB's answer: ``values`` (B, n_outputs) float64 (expectation values, or outcome
    probabilities of the measured qubits, qubit ``measured[0]`` the least significant outcome
    bit) and ``metadata`` (what produced them: ``shots`` (None: exact), ``seed`` of the sampling
    stream, and where transpiled, ``isa_depth``, ``two_qubit_gates``, ``physical_qubits``;
    ``job_ids`` on hardware)."""

    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorResult(Sequence):
    """The results of one :meth:`Executor.run`, one :class:`PubResult` per PUB in order, with
    the run's own ``metadata`` (executor name and options), like Qiskit's ``PrimitiveResult``."""

    pub_results: tuple[PubResult, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, index):
        return self.pub_results[index]

    def __len__(self) -> int:
        return len(self.pub_results)

    def __iter__(self) -> Iterator[PubResult]:
        return iter(self.pub_results)


class Executor(ABC):
    """Runs model circuits. Subclasses: the torch statevector
    (:class:`qmlrepro.quantum.torch_executor.TorchStatevector`, training) and the Qiskit
    primitives (:mod:`qmlrepro.quantum.qiskit_executors`, :mod:`qmlrepro.quantum.ibm_runtime`).

    Attributes every executor has: ``shots`` (None: exact values) and ``seed`` (None: unseeded
    sampling); ``differentiable`` says whether :meth:`layer` carries gradients.
    """

    shots: int | None = None
    seed: int | None = None
    differentiable: bool = False
    # constructor options that restate the backend's top-level keys (``${backend.shots}``): the
    # config schema refuses a backend.executor value that differs from the backend's
    RESTATES: tuple[str, ...] = ("shots", "seed")
    first_metadata: dict[str, Any] | None = None  # the first PUB result's, for run records

    def _remember(self, result: "ExecutorResult") -> "ExecutorResult":
        """Keep the first PUB's metadata (ISA depth, two-qubit gates, ...) for the run record."""
        if self.first_metadata is None and len(result):
            self.first_metadata = dict(result[0].metadata)
        return result

    @abstractmethod
    def run(
        self,
        pubs: Iterable["CircuitPub | tuple"],
        *,
        shots: int | None = None,
        seed: int | None = None,
    ) -> ExecutorResult:
        """Evaluate every PUB (no gradient).

        ``shots`` overrides the executor's shot count for this call (an executor that cannot
        sample, ``AerStatevector``, refuses a value; the torch one samples); ``seed`` the seed of
        this call's sampling (None: the executor's next per-call stream).

        Raises:
            UnsupportedGate: a circuit this executor cannot run faithfully.
            ConfigError: ``shots`` given to an exact executor, or below 1.
        """

    @abstractmethod
    def layer(self, spec: CircuitSpec, init_weights: torch.Tensor) -> torch.nn.Module:
        """The module a model holds for ``spec``: ``forward(inputs (B, n_amp + n_in))`` ->
        (B, n_outputs), its weights one ``nn.Parameter`` (n_w,) starting at ``init_weights``."""

    def values(self, spec: CircuitSpec, inputs: Any = None, weights: Any = None) -> np.ndarray:
        """``run([(spec, inputs, weights)])[0].values``: (B, n_outputs) float64."""
        return self.run([CircuitPub(spec, inputs, weights)])[0].values

    def describe(self) -> dict[str, Any]:
        """What the executor is, for run metadata: its class and options."""
        return {"executor": type(self).__name__, "shots": self.shots, "seed": self.seed}
