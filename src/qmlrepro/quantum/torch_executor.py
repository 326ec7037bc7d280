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
from qmlrepro.quantum.executor import CircuitPub, Executor, ExecutorResult, PubResult
from qmlrepro.quantum.observables import PauliTerm, pauli_terms
from qmlrepro.quantum.program import compile_circuit
from qmlrepro.quantum.readout import COMPLEX, ExactReadout
from qmlrepro.quantum.shots import shot_estimate
from qmlrepro.quantum.simulator import Simulator
from qmlrepro.quantum.spec import CircuitSpec


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
        self._readout = ExactReadout(self.terms, self.measured, self.program.num_qubits)
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
        """Exact expectations (B, n_obs) or marginal probabilities (B, 2^m) of final states
        (B, 2^n) (:class:`qmlrepro.quantum.readout.ExactReadout`)."""
        return self._readout(state)


class TorchStatevector(Executor):
    """The torch statevector executor (``conf/backend/torch.yaml``, ``torch_shots.yaml``):
    exact, or with ``shots`` sample estimates forward and parameter-shift gradients with the same
    shots (:mod:`qmlrepro.quantum.shots`). The only differentiable executor: models train on it.

    ``device``: ``auto`` (CUDA when present), ``cpu`` or ``cuda``; ``dtype``: ``float32`` or
    ``float64``, the real precision of weights and outputs (states complex64 / complex128).
    ``seed``: the shot streams of its layers are ``derive_seed(seed, "torch_shots")``, of a
    :meth:`run` call ``derive_seed(seed, "torch_run", k)`` for the k-th call (or ``seed=``).

    Raises (constructor):
        ConfigError: an unknown device or dtype, CUDA asked for but absent, shots < 1.
    """

    differentiable = True
    RESTATES = ("device", "dtype", "shots", "seed")

    def __init__(
        self,
        device: str = "auto",
        dtype: str = "float32",
        shots: int | None = None,
        seed: int | None = None,
    ) -> None:
        from qmlrepro.errors import ConfigError
        from qmlrepro.training.device import resolve_device

        if dtype not in ("float32", "float64"):
            raise ConfigError(f"backend.dtype={dtype} is not one of float32, float64")
        if shots is not None and shots < 1:
            raise ConfigError(f"shots={shots} must be >= 1 (or null: exact)")
        self.device_name, self.dtype_name = device, dtype
        self.device = resolve_device(device)
        self.dtype = torch.float32 if dtype == "float32" else torch.float64
        self.shots, self.seed = shots, seed
        self._runs = 0
        self._layers = 0

    def _layer_seed(self) -> int | None:
        """The shot stream of the next layer: ``derive_seed(seed, "torch_shots")`` for the
        first (the stream a model's one quantum layer always had), ``derive_seed(seed,
        "torch_shots", k)`` for the k-th after it, so two sampled layers never share shots."""
        from qmlrepro.training.seeding import derive_seed

        k, self._layers = self._layers, self._layers + 1
        if self.seed is None:
            return None
        return (
            derive_seed(self.seed, "torch_shots")
            if k == 0
            else derive_seed(self.seed, "torch_shots", k)
        )

    def layer(self, spec: CircuitSpec, init_weights: torch.Tensor) -> TorchCircuit:
        """A :class:`TorchCircuit` for ``spec`` (on the CPU; the model moves it)."""
        return TorchCircuit.from_spec(
            spec, self.shots, self.dtype, init_weights, seed=self._layer_seed()
        )

    def run(self, pubs, *, shots=None, seed=None) -> ExecutorResult:
        """Values of every PUB without gradients, on ``device`` in ``dtype``, returned as
        float64 arrays. Shots (this call's or the executor's) are sampled from the stream
        ``seed`` or, without one, ``derive_seed(executor seed, "torch_run", k)`` for the k-th
        call (unseeded if the executor has no seed)."""
        from qmlrepro.training.seeding import derive_seed

        shots = self.shots if shots is None else shots
        if shots is not None and shots < 1:
            from qmlrepro.errors import ConfigError

            raise ConfigError(f"shots={shots} must be >= 1")
        if seed is None and self.seed is not None and shots is not None:
            seed = derive_seed(self.seed, "torch_run", self._runs)
        self._runs += 1
        results = []
        pubs = [CircuitPub.coerce(pub) for pub in pubs]
        for pub in pubs:
            pub.arrays()  # shapes checked as on every executor, before any run
        call_seed = seed
        for i, pub in enumerate(pubs):
            seed = None if call_seed is None else derive_seed(call_seed, "pub", i)
            weights = None if pub.weights is None else torch.as_tensor(pub.weights)
            per_row = weights is not None and weights.dim() == 2
            module = TorchCircuit.from_spec(
                pub.spec,
                shots,
                self.dtype,
                None if weights is None or per_row else weights.to(self.dtype),
                seed=seed,
            ).to(self.device)
            inputs = None if pub.inputs is None else torch.as_tensor(pub.inputs)
            with torch.no_grad():
                out = module(
                    None if inputs is None else inputs.to(self.device, self.dtype),
                    weights.to(self.device, self.dtype) if per_row else None,
                )
            results.append(
                PubResult(
                    out.detach().cpu().double().numpy(),
                    {"shots": shots, "seed": seed if shots is not None else None},
                )
            )
        return self._remember(ExecutorResult(tuple(results), self.describe()))

    def describe(self) -> dict:
        return {
            **super().describe(),
            "device": str(self.device),
            "dtype": self.dtype_name,
        }
