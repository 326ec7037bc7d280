"""Amplitude encoding of (a slice of) the input vector, as a placeholder gate in the circuit.

Qiskit's ``StatePreparation`` needs concrete amplitudes, but a model's circuit is defined once with
its inputs left open. :class:`AmplitudeEncoding` marks where the normalised input slice is loaded;
the torch executor loads it batched, and :func:`bind_amplitudes` swaps in a ``StatePreparation``
per input for the Qiskit executors.
"""

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import StatePreparation

from qmlrepro.errors import QmlreproError


class ZeroAmplitudes(QmlreproError):
    """An amplitude-encoded input slice is all zero: it has no normalised state."""


def require_nonzero(norms: np.ndarray, start: int, size: int) -> None:
    """Raise :class:`ZeroAmplitudes` naming the rows whose slice ``x[start : start + size]`` has
    norm 0; ``norms`` is (B,), one norm per input row."""
    rows = np.flatnonzero(np.asarray(norms) == 0)
    if len(rows):
        raise ZeroAmplitudes(
            f"amplitude-encoded input slice x[{start}:{start + size}] is all zero in row(s) "
            f"{rows[:10].tolist()}{' ...' if len(rows) > 10 else ''}: it has no normalised "
            "state; drop those inputs or add a constant component before encoding"
        )


class AmplitudeEncoding(Gate):
    """Loads x[start : start + 2^k] / ||.|| onto k qubits (which must still be in |0...0>)."""

    def __init__(self, num_qubits: int, start: int = 0, label: str | None = None) -> None:
        super().__init__("amplitude_encoding", num_qubits, [], label=label or f"|x[{start}:]>")
        self.start = start

    @property
    def size(self) -> int:
        return 2**self.num_qubits


def bind_amplitudes(circuit: QuantumCircuit, inputs: np.ndarray) -> QuantumCircuit:
    """A copy of ``circuit`` with each AmplitudeEncoding replaced by StatePreparation(inputs).

    ``inputs`` is one row (n_amplitude_inputs,).

    Raises:
        ZeroAmplitudes: an encoded slice is all zero.
    """
    out = circuit.copy_empty_like()
    for inst in circuit.data:
        op = inst.operation
        if isinstance(op, AmplitudeEncoding):
            amplitudes = np.asarray(inputs[op.start : op.start + op.size], dtype=float)
            norm = np.linalg.norm(amplitudes)
            require_nonzero(np.array([norm]), op.start, op.size)
            out.append(StatePreparation(amplitudes / norm), inst.qubits)
        else:
            out.append(inst)
    return out


def has_amplitude_encoding(circuit: QuantumCircuit) -> bool:
    return any(isinstance(inst.operation, AmplitudeEncoding) for inst in circuit.data)
