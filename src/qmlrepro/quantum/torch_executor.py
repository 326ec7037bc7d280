"""The training path: a Qiskit circuit as a batched, differentiable torch module.

``TorchCircuit(circuit, inputs, weights, observables)`` maps inputs (B, n_in) and weights (n_w,)
to expectation values (B, n_obs), or to outcome probabilities (B, 2^m) of ``measured`` qubits.
``forward(inputs, weights=W)`` with W of shape (B, n_w) runs B independent weight sets (random
starts, seeds) in one batched call, row b with W[b]; gradients flow to W.
Exact by default (autograd through the statevector); with ``shots`` the forward values are
sample estimates and gradients come from the parameter-shift rule with the same shots; the
samples come from an explicit generator (``seed``), never from torch's global one.
"""

import warnings
from collections.abc import Sequence

import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qmlrepro.errors import QmlreproError
from qmlrepro.quantum.observables import PauliTerm, diagonal_matrix, expectation, pauli_terms
from qmlrepro.quantum.program import compile_circuit
from qmlrepro.quantum.simulator import Simulator
from qmlrepro.quantum.spec import CircuitSpec

COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


class PrecisionWarning(UserWarning):
    """Values handed over in a lower precision than the computation asked for."""


def _less_precise(given: torch.dtype, wanted: torch.dtype) -> bool:
    return given.is_floating_point and torch.finfo(given).bits < torch.finfo(wanted).bits


class TorchCircuit(torch.nn.Module):
    """A parameterised circuit as a module. Weights live here as one ``nn.Parameter``.

    ``dtype`` (float32 or float64) is the real precision of the weights and outputs; states are
    complex64 or complex128. ``init_weights`` (n_w,) are cast to ``dtype``: a lower-precision
    tensor (float32 for a float64 module) keeps its rounded values (0.1 stays 0.10000000149) and a
    :class:`PrecisionWarning` says so; pass ``dtype`` weights to start from exact values.

    Raises:
        UnsupportedGate: the circuit holds a gate outside the gate set, or a mid-circuit
            measurement, reset or classically controlled block (final measurements are fine).
        NonHermitianObservable: an observable keeps a complex coefficient.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        inputs: Sequence[Parameter] = (),
        weights: Sequence[Parameter] = (),
        observables: Sequence[SparsePauliOp] | None = None,
        measured: Sequence[int] | None = None,
        shots: int | None = None,
        dtype: torch.dtype = torch.float32,
        init_weights: torch.Tensor | None = None,
        fuse_qubits: int = 4,
        n_amplitude_inputs: int = 0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if (observables is None) == (measured is None):
            raise QmlreproError(
                "give exactly one of observables (expectations) or measured (probabilities)"
            )
        self.circuit = circuit
        self.input_params, self.weight_params = list(inputs), list(weights)
        self.program = compile_circuit(circuit, self.input_params + self.weight_params)
        self.simulator = Simulator(self.program, fuse_qubits)
        self.observables = list(observables) if observables is not None else None
        self.terms: list[list[PauliTerm]] | None = (
            [pauli_terms(o) for o in self.observables] if self.observables is not None else None
        )
        self.measured = list(measured) if measured is not None else None
        self.shots = shots
        self.dtype = dtype
        self.n_amplitude_inputs = n_amplitude_inputs
        self._diagonal: dict[tuple, torch.Tensor] = {}  # all-Z observables on basis states
        input_names = {p.name for p in self.input_params}
        weight_names = {p.name for p in self.weight_params}
        self.shared_slots = frozenset(
            i for i, slot in enumerate(self.program.slots) if not slot.depends & input_names
        )
        self._weight_free_slots = frozenset(
            i for i, slot in enumerate(self.program.slots) if not slot.depends & weight_names
        )
        init = init_weights if init_weights is not None else torch.zeros(len(self.weight_params))
        if init_weights is not None and _less_precise(init.dtype, dtype):
            warnings.warn(
                f"init_weights are {init.dtype} but the circuit runs in {dtype}: the weights "
                f"start from {init.dtype}-rounded values; pass {dtype} init_weights for exact ones",
                PrecisionWarning,
                stacklevel=2,
            )
        self.weights = torch.nn.Parameter(init.to(dtype).clone())
        self.seed = seed
        self.shot_calls = 0  # sampled evaluations so far; saved in state_dict (extra state)

    def shot_generator(self, device: torch.device) -> torch.Generator:
        """The generator for the next sampled evaluation: seeded with
        ``derive_seed(seed, "shots", k)`` for the k-th call, so the shot stream is fixed by the
        seed and continues exactly after a checkpoint restore. Without a seed, the k-th stream's
        seed is drawn from torch's global generator (reproducible under ``torch.manual_seed``)."""
        from qmlrepro.training.seeding import derive_seed

        if self.seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        else:
            seed = derive_seed(self.seed, "shots", self.shot_calls)
        self.shot_calls += 1
        return torch.Generator(device=device).manual_seed(seed)

    def get_extra_state(self) -> torch.Tensor:
        """The shot-stream position (an int64 scalar tensor, so state dicts stay all-tensor), so
        a resumed run draws the shots an uninterrupted one would."""
        return torch.tensor(self.shot_calls, dtype=torch.int64)

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.shot_calls = int(state)

    @property
    def num_qubits(self) -> int:
        return self.program.num_qubits

    def values(self, inputs: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """(B, P) parameter values in program column order: angle inputs, then weights.

        ``inputs`` is (B, n_amp + n_in); ``weights`` is None (the module's own), (n_w,) shared by
        every row, or (B, n_w) one set per row."""
        angle_inputs = inputs[:, self.n_amplitude_inputs :] if self.n_amplitude_inputs else inputs
        w = (self.weights if weights is None else weights).to(inputs.dtype)
        if w.dim() == 1:
            w = w.unsqueeze(0).expand(inputs.shape[0], -1)
        return torch.cat([angle_inputs, w], dim=1)

    @classmethod
    def from_spec(
        cls,
        spec: CircuitSpec,
        shots: int | None = None,
        dtype: torch.dtype = torch.float32,
        init_weights: torch.Tensor | None = None,
        seed: int | None = None,
    ) -> "TorchCircuit":
        return cls(
            spec.circuit,
            spec.inputs,
            spec.weights,
            observables=spec.observables,
            measured=spec.measured,
            shots=shots,
            dtype=dtype,
            init_weights=init_weights,
            n_amplitude_inputs=spec.n_amplitude_inputs,
            seed=seed,
        )

    def _angles(
        self, inputs: torch.Tensor | None, weights: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, frozenset[int], bool]:
        """Gate angles (B, A), amplitude-encoded inputs (or None), the slots that hold one value
        for every row, and whether weights differ per row."""
        per_row = weights is not None and weights.dim() == 2
        if weights is not None:
            self._check_weights(weights)
        if inputs is None:
            inputs = self.weights.new_zeros(1, len(self.input_params))
        inputs = inputs.to(self.dtype)
        amplitudes = inputs[:, : self.n_amplitude_inputs] if self.n_amplitude_inputs else None
        if not per_row:
            angles = self.simulator.angles(self.values(inputs, weights))
            return angles, amplitudes, self.shared_slots, False
        rows = weights.shape[0]
        if inputs.shape[0] not in (1, rows):
            raise QmlreproError(
                f"inputs have {inputs.shape[0]} rows and weights {rows}: give one input row "
                "(shared by every weight set) or one per weight set"
            )
        shared = self._weight_free_slots
        if inputs.shape[0] != 1:
            shared = shared & self.shared_slots
        values = self.values(inputs.expand(rows, -1), weights.to(self.dtype))
        return self.simulator.angles(values), amplitudes, shared, True

    def _check_weights(self, weights: torch.Tensor) -> None:
        n_w = len(self.weight_params)
        if weights.dim() not in (1, 2) or weights.shape[-1] != n_w:
            raise QmlreproError(
                f"weights must be ({n_w},) or (B, {n_w}) for this circuit, "
                f"got {tuple(weights.shape)}"
            )

    def forward(
        self, inputs: torch.Tensor | None = None, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Expectations (B, n_obs) or probabilities (B, 2^m) in the module's dtype.

        ``inputs``: (B, n_amp + n_in), amplitudes first, angles in radians; None means one row
        of zeros (circuits without inputs). ``weights``: None uses the module's parameter
        (n_w,) for every row; a (n_w,) tensor does the same with that tensor; a (B, n_w) tensor
        runs row b with weights[b] (radians), and ``inputs`` is then (B, ...), (1, ...) shared by
        every row, or None. Gradients flow to whichever weights were used.

        Raises:
            QmlreproError: weights of another shape, or inputs whose row count is neither 1 nor B.
            ZeroAmplitudes: an amplitude-encoded input slice is all zero in some row.
        """
        angles, amplitudes, shared, per_row = self._angles(inputs, weights)
        if self.shots is None:
            cdtype = COMPLEX[self.dtype]
            state = self.simulator.run(angles, amplitudes, cdtype, shared, fuse_rows=per_row)
            return self.readout(state)
        from qmlrepro.quantum.shots import shot_estimate

        trainable = (self.weights if weights is None else weights).requires_grad
        return shot_estimate(self, angles, amplitudes, weights_trainable=trainable)

    def state(
        self, inputs: torch.Tensor | None = None, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The final statevectors (B, 2^n), complex64 or complex128, qubit q = bit q of the index;
        ``inputs`` and ``weights`` as in :meth:`forward`.

        Up to a global phase: ``circuit.global_phase`` and global-phase gates are not applied
        (no readout sees them), so this is ``exp(-i phase) * Statevector(bound circuit)``.
        Final measurements are not applied either.
        """
        angles, amplitudes, shared, per_row = self._angles(inputs, weights)
        return self.simulator.run(angles, amplitudes, COMPLEX[self.dtype], shared, per_row)

    def state_from_angles(
        self, angles: torch.Tensor, amplitudes: torch.Tensor | None
    ) -> torch.Tensor:
        """The final statevector (B, 2^n) for gate angles (B, A) computed with shared weights."""
        return self.simulator.run(angles, amplitudes, COMPLEX[self.dtype], self.shared_slots)

    def readout(self, state: torch.Tensor) -> torch.Tensor:
        """Exact expectations (B, n_obs) or marginal probabilities (B, 2^m)."""
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


def marginal(probs: torch.Tensor, measured: list[int], n: int) -> torch.Tensor:
    """Probabilities of the measured qubits (measured[0] = least significant outcome bit)."""
    if measured == list(range(n)):
        return probs
    index = torch.arange(2**n, device=probs.device)
    outcome = torch.zeros_like(index)
    for i, q in enumerate(measured):
        outcome |= ((index >> q) & 1) << i
    out = probs.new_zeros(probs.shape[0], 2 ** len(measured))
    return out.index_add(1, outcome, probs)
