"""Our reconstruction of HQViT's attention circuit, defined once in Qiskit.

Two registers each hold the whole image, |X> = sum_il x_il |i>|l> / ||X||, on log2 T index
qubits (token i) and log2 d feature qubits (pixel l of the token). U_Q acts on the query
register's feature qubits and U_K on the key register's; an ancilla SWAP-tests the two feature
registers; the ancilla and both index registers are measured. Then

    Pr(a, i, j) = p_i p_j (1 + (-1)^a |<q_i|k_j>|^2) / 2,   p_i = ||x_i||^2 / ||X||^2,

with q_i = U_Q x_i / ||x_i|| and k_j = U_K x_j / ||x_j||, so the attention coefficient
A_ij = |<q_i|k_j>|^2 = [Pr(0,i,j) - Pr(1,i,j)] / [Pr(0,i,j) + Pr(1,i,j)].

Qubit layout (Qiskit little-endian, register = index bits above feature bits, so the register's
basis index is i * d + l): query features 0..f-1, query index f..f+t-1, key features
n..n+f-1, key index n+f..2n-1 (n = t + f), ancilla 2n.
"""

import math
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qmlrepro.errors import ConfigError
from qmlrepro.quantum.ansatz import layered_ring_ansatz
from qmlrepro.quantum.encoding import AmplitudeEncoding
from qmlrepro.quantum.spec import CircuitSpec, make_spec


def _log2(value: int, what: str) -> int:
    k = int(value).bit_length() - 1
    if value < 2 or 2**k != value:
        raise ConfigError(f"{what}={value} must be a power of two >= 2 (it is amplitude-encoded)")
    return k


@dataclass(frozen=True)
class AttentionLayout:
    """Where T tokens of d pixels live in the 2 (log2 T + log2 d) + 1 qubit circuit."""

    n_tokens: int
    token_dim: int

    def __post_init__(self) -> None:
        _log2(self.n_tokens, "number of tokens")
        _log2(self.token_dim, "token dimension")

    @property
    def index_qubits(self) -> int:
        return _log2(self.n_tokens, "number of tokens")

    @property
    def feature_qubits(self) -> int:
        return _log2(self.token_dim, "token dimension")

    @property
    def register(self) -> int:
        return self.index_qubits + self.feature_qubits

    @property
    def n_qubits(self) -> int:
        return 2 * self.register + 1

    @property
    def n_pixels(self) -> int:
        return self.n_tokens * self.token_dim

    @property
    def ancilla(self) -> int:
        return 2 * self.register

    def features(self, register: int) -> list[int]:
        return [register * self.register + q for q in range(self.feature_qubits)]

    def index(self, register: int) -> list[int]:
        first = register * self.register + self.feature_qubits
        return list(range(first, first + self.index_qubits))

    @property
    def measured(self) -> list[int]:
        """Outcome bit 0 = ancilla a, bits 1..t = query token i, bits t+1..2t = key token j."""
        return [self.ancilla, *self.index(0), *self.index(1)]


def layout_for(image_side: int, patch: int, channels: int = 1) -> AttentionLayout:
    if image_side % patch:
        raise ConfigError(f"image side {image_side} is not a multiple of patch={patch}")
    return AttentionLayout((image_side // patch) ** 2, channels * patch * patch)


def feature_unitary(
    n_qubits: int, layers: int, name: str
) -> tuple[QuantumCircuit, ParameterVector]:
    """U(theta): ``layers`` x [RY on every feature qubit, CX ring] (O(log2 d) angles)."""
    if layers < 1:
        raise ConfigError(f"ansatz layers={layers} must be >= 1")
    circuit, _, w = layered_ring_ansatz(n_qubits, layers, ("ry",), "cx", encoding=None)
    theta = ParameterVector(name, len(w))
    circuit.assign_parameters(dict(zip(w, theta, strict=True)), inplace=True)
    return circuit, theta


def token_spec(token_dim: int, layers: int, name: str) -> CircuitSpec:
    """One normalised token amplitude-encoded and rotated by U: the state the closed form needs."""
    f = _log2(token_dim, "token dimension")
    unitary, theta = feature_unitary(f, layers, name)
    qc = QuantumCircuit(f)
    qc.append(AmplitudeEncoding(f, 0, label="|x_i>"), range(f))
    qc.compose(unitary, range(f), inplace=True)
    return make_spec(qc, [], list(theta), measured=list(range(f)), n_amplitude_inputs=token_dim)


def attention_spec(layout: AttentionLayout, layers: int) -> CircuitSpec:
    """The full circuit; weights are (theta_q, theta_k), inputs the token-major pixel vector."""
    f, n = layout.feature_qubits, layout.register
    qc = QuantumCircuit(layout.n_qubits)
    qc.append(AmplitudeEncoding(n, 0, label="|X>"), range(n))
    qc.append(AmplitudeEncoding(n, 0, label="|X>"), range(n, 2 * n))
    u_q, theta_q = feature_unitary(f, layers, "theta_q")
    u_k, theta_k = feature_unitary(f, layers, "theta_k")
    qc.compose(u_q, layout.features(0), inplace=True)
    qc.compose(u_k, layout.features(1), inplace=True)
    a = layout.ancilla
    qc.h(a)
    for q, k in zip(layout.features(0), layout.features(1), strict=True):
        qc.cswap(a, q, k)
    qc.h(a)
    return make_spec(
        qc,
        [],
        [*theta_q, *theta_k],
        measured=layout.measured,
        n_amplitude_inputs=layout.n_pixels,
    )


def qubit_count(n_pixels: int) -> int:
    """The formula the circuit must obey: 2 log2 N + 1 qubits (log2 N = log2 T + log2 d)."""
    return 2 * round(math.log2(n_pixels)) + 1
