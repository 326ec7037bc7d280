"""What every executor is handed: a circuit, which parameters are inputs and which weights, and
what to read out. Plain data, in the spirit of Qiskit's PUBs."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp


@dataclass(frozen=True)
class CircuitSpec:
    circuit: QuantumCircuit
    inputs: tuple[Parameter, ...]
    weights: tuple[Parameter, ...]
    observables: tuple[SparsePauliOp, ...] | None = None  # expectation values, or ...
    measured: tuple[int, ...] | None = None  # ... outcome probabilities of these qubits
    n_amplitude_inputs: int = 0  # leading input columns loaded by AmplitudeEncoding gates

    @property
    def n_outputs(self) -> int:
        return len(self.observables) if self.observables is not None else 2 ** len(self.measured)

    def parameter_values(
        self, circuit: QuantumCircuit, inputs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        """(B, P) values in ``circuit.parameters`` order, for a PUB's parameter array, bound by
        parameter name (the circuit may be a transpiled one that lost some). ``inputs`` is
        (B, n_amp + n_in); ``weights`` (n_w,) for every row or (B, n_w) one set per row (then B
        is the larger of the two row counts, inputs of one row being shared)."""
        angle_inputs = inputs[:, self.n_amplitude_inputs :]
        weights = np.asarray(weights)
        rows = max(len(inputs), len(weights)) if weights.ndim == 2 else len(inputs)
        if weights.ndim == 2 and len(inputs) not in (1, rows):
            raise ValueError(
                f"inputs have {len(inputs)} rows and weights {len(weights)}: give one input row "
                "or one per weight set"
            )
        by_name = {
            p.name: np.broadcast_to(angle_inputs[:, i], (rows,)) for i, p in enumerate(self.inputs)
        }
        by_name.update(
            {p.name: np.broadcast_to(weights[..., i], (rows,)) for i, p in enumerate(self.weights)}
        )
        if not circuit.parameters:
            return np.zeros((rows, 0))
        return np.stack([by_name[p.name] for p in circuit.parameters], axis=1)


def make_spec(
    circuit: QuantumCircuit,
    inputs: Sequence[Parameter],
    weights: Sequence[Parameter],
    observables: Sequence[SparsePauliOp] | None = None,
    measured: Sequence[int] | None = None,
    n_amplitude_inputs: int = 0,
) -> CircuitSpec:
    return CircuitSpec(
        circuit,
        tuple(inputs),
        tuple(weights),
        tuple(observables) if observables is not None else None,
        tuple(measured) if measured is not None else None,
        n_amplitude_inputs,
    )
