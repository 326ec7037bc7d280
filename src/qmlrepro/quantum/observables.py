"""Pauli observables evaluated on batched statevectors, exactly or from measurement samples."""

from dataclasses import dataclass

import torch
from qiskit.quantum_info import SparsePauliOp

from qmlrepro.errors import QmlreproError


class NonHermitianObservable(QmlreproError):
    """An observable with complex coefficients that do not cancel: it has no real expectation."""


@dataclass(frozen=True)
class PauliTerm:
    coeff: float
    x_mask: int  # bits flipped by X/Y
    z_mask: int  # bits with Z/Y
    n_y: int

    @property
    def diagonal(self) -> bool:
        return self.x_mask == 0


def pauli_terms(observable: SparsePauliOp) -> list[PauliTerm]:
    """The observable's Pauli terms with real coefficients.

    Pauli strings are Hermitian, so a complex coefficient is allowed only where repeated strings'
    imaginary parts cancel (the observable is then Hermitian and is used simplified).

    Raises:
        NonHermitianObservable: a coefficient stays complex (|imag| > 1e-12) after combining
            repeated Pauli strings.
    """
    if (abs(observable.coeffs.imag) > 1e-12).any():
        observable = observable.simplify(atol=0.0, rtol=0.0)
    terms = []
    for pauli, coeff in zip(observable.paulis, observable.coeffs, strict=True):
        if abs(coeff.imag) > 1e-12:
            raise NonHermitianObservable(
                f"observable term {pauli} has the complex coefficient {coeff}: the observable is "
                "not Hermitian and has no real expectation value; give real coefficients"
            )
        x = sum(1 << q for q, v in enumerate(pauli.x) if v)
        z = sum(1 << q for q, v in enumerate(pauli.z) if v)
        n_y = sum(1 for q in range(pauli.num_qubits) if pauli.x[q] and pauli.z[q])
        terms.append(PauliTerm(float(coeff.real), x, z, n_y))
    return terms


def parity(index: torch.Tensor, mask: int) -> torch.Tensor:
    """(-1)^(popcount(index & mask)) as float."""
    bits = index & mask
    count = torch.zeros_like(bits)
    while mask:
        low = mask & -mask
        count += (bits & low) != 0
        mask ^= low
    return 1.0 - 2.0 * (count % 2).float()


def expectation(state: torch.Tensor, terms: list[PauliTerm]) -> torch.Tensor:
    """<psi|O|psi> per row, state (B, 2^n) -> (B,)."""
    index = torch.arange(state.shape[1], device=state.device)
    probs = None
    total = torch.zeros(state.shape[0], dtype=state.real.dtype, device=state.device)
    for term in terms:
        sign = parity(index, term.z_mask).to(total.dtype)
        if term.diagonal:
            probs = state.real**2 + state.imag**2 if probs is None else probs
            total = total + term.coeff * (probs @ sign)
            continue
        # P|x> = i^{n_y} (-1)^{popcount(x & z)} |x ^ x_mask>
        flipped = state.index_select(1, index ^ term.x_mask)
        value = (flipped.conj() * state * sign.to(state.dtype)).sum(1) * (1j**term.n_y)
        total = total + term.coeff * value.real
    return total


def diagonal_matrix(
    terms_per_observable: list[list[PauliTerm]],
    n: int,
    device,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """(2^n, n_obs) ``dtype``: value of each all-diagonal observable on each basis state.

    Built in float64 by default whatever the caller's precision: in float32, coefficients such as
    0.1 were off by up to 7e-8 in complex128 runs. Values that float32 holds exactly (sums of
    coefficients +-1) are unchanged when the result is cast to float32."""
    index = torch.arange(2**n, device=device)
    cols = []
    for terms in terms_per_observable:
        col = torch.zeros(2**n, dtype=dtype, device=device)
        for term in terms:
            col += term.coeff * parity(index, term.z_mask).to(dtype)
        cols.append(col)
    return torch.stack(cols, dim=1)
