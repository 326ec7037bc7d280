"""Readout of final statevectors: exact expectation values or outcome probabilities.

The torch executor is program (:mod:`~qmlrepro.quantum.program`: compile and fuse) ->
simulator (:mod:`~qmlrepro.quantum.simulator`: final states) -> readout: exact here, or sampled
with an explicit generator (:mod:`~qmlrepro.quantum.shots`, which builds on this module).

Bit order: qubit q is bit q of a basis-state index (Qiskit's little-endian order).
"""

import torch

from qmlrepro.quantum.observables import PauliTerm, diagonal_matrix, expectation

COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


def marginal(probs: torch.Tensor, measured: list[int], n: int) -> torch.Tensor:
    """Probabilities (B, 2^m) of the measured qubits from probabilities (B, 2^n) of all n;
    ``measured[0]`` is the least significant outcome bit."""
    if measured == list(range(n)):
        return probs
    index = torch.arange(2**n, device=probs.device)
    outcome = torch.zeros_like(index)
    for i, q in enumerate(measured):
        outcome |= ((index >> q) & 1) << i
    out = probs.new_zeros(probs.shape[0], 2 ** len(measured))
    return out.index_add(1, outcome, probs)


class ExactReadout:
    """Exact expectations (B, n_obs) of Pauli-sum observables (``terms``: one list of
    :class:`PauliTerm` per observable), or marginal probabilities (B, 2^m) of ``measured``
    qubits, from final states (B, 2^n) complex64/complex128; outputs in the states' real dtype.
    Observables with only Z/I terms are one matmul with their diagonals (built once per device
    and dtype, in float64 then cast)."""

    def __init__(
        self, terms: list[list[PauliTerm]] | None, measured: list[int] | None, num_qubits: int
    ) -> None:
        self.terms, self.measured, self.num_qubits = terms, measured, num_qubits
        self._diagonal: dict[tuple, torch.Tensor] = {}

    def __call__(self, state: torch.Tensor) -> torch.Tensor:
        if self.terms is not None:
            if all(t.diagonal for terms in self.terms for t in terms):
                probs = state.real**2 + state.imag**2
                key = (state.device, probs.dtype)
                if key not in self._diagonal:
                    matrix = diagonal_matrix(self.terms, self.num_qubits, state.device)
                    self._diagonal[key] = matrix.to(probs.dtype)
                return probs @ self._diagonal[key]
            return torch.stack([expectation(state, terms) for terms in self.terms], dim=1)
        return marginal(state.real**2 + state.imag**2, self.measured, self.num_qubits)
