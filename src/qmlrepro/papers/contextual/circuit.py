"""The k-HRNN in the spirit of Anschuetz & Gao, defined once in Qiskit.

Memory: n qubits in |+>^n. Part-A cell for hyperedge e: a multi-controlled phase on the qubits of
e with angle a * theta_e + c (a, c trainable, shared by all cells). Part-B cell for qubit j: a
U(phi) rotation whose three angles are the trainable angles of the basis symbol b_j, then a
measurement of qubit j. Single-qubit rotations on other qubits commute with the measurement, so
the conditionals p(o_t | o_<t) of the sequential measurements are the conditionals of one joint
measurement after every rotation: the circuit measures all qubits at the end and the model
conditions exactly (projection on the outcomes seen so far).

With a = 1, c = 0 and the basis angles of IDEAL_BASIS_ANGLES the circuit prepares the task's
state exactly (U(pi/2, 0, pi) = H for X, U(pi/2, 0, pi/2) = H S^dagger for Y, identity for Z).
"""

import math

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector

from qmlrepro.data.sequence import BASES, hyperedges
from qmlrepro.quantum.spec import CircuitSpec, make_spec

IDEAL_BASIS_ANGLES = torch.tensor(
    [[math.pi / 2, 0.0, math.pi], [math.pi / 2, 0.0, math.pi / 2], [0.0, 0.0, 0.0]],
    dtype=torch.float64,
)  # rows in BASES order (X, Y, Z): U(theta, phi, lambda) mapping the "+1" eigenvector to |0>
IDEAL_CELL_WEIGHTS = torch.tensor([1.0, 0.0], dtype=torch.float64)  # a, c
assert len(IDEAL_BASIS_ANGLES) == len(BASES)


def khrnn_spec(n: int, k: int) -> CircuitSpec:
    """Inputs: theta_e for every hyperedge (lexicographic), then U angles (3 per qubit); weights:
    the cells' a and c. Outputs: probabilities of all n outcomes (qubit j = bit j)."""
    edges = hyperedges(n, k)
    theta = ParameterVector("theta", len(edges))
    phi = ParameterVector("phi", 3 * n)
    a, c = Parameter("a"), Parameter("c")
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for e, edge in enumerate(edges):
        angle = a * theta[e] + c
        if k == 1:
            qc.p(angle, edge[0])
        else:
            qc.mcp(angle, list(edge[:-1]), edge[-1])
    for j in range(n):
        qc.u(phi[3 * j], phi[3 * j + 1], phi[3 * j + 2], j)
    return make_spec(qc, [*theta, *phi], [a, c], measured=list(range(n)))
