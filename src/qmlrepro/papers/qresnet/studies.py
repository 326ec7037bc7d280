"""The three qresnet studies a job can run (its model group names one): the gate-level and
operator-level verification, and the MNIST network (quantum-implementable or the matched CNN)."""

import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.polynomial import chebyshev
from omegaconf import DictConfig
from scipy.special import erf
from tqdm.auto import tqdm

from qmlrepro.data.images import image_tensors
from qmlrepro.experiment import RunContext
from qmlrepro.papers.qresnet.block import gate_level_block, spectrally_normalised
from qmlrepro.papers.qresnet.network import (
    MatchedCNN,
    QResNet,
    coherent_emulation,
    linearity_gap,
    sampled_labels,
)
from qmlrepro.papers.qresnet.primitives import (
    conv_block_encoding,
    conv_matrix,
    cyclic_shift,
    diagonal_block_encoding,
    lcu_sum,
    non_wrapping_shift,
    shift_matrix,
    state_preparation,
)
from qmlrepro.papers.qresnet.qsvt import odd_chebyshev, qsp_phases, qsp_response, qsvt
from qmlrepro.papers.qresnet.scaling import network_tally
from qmlrepro.records import Record, Records
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.loop import LoopConfig, run_loop
from qmlrepro.training.seeding import numpy_generator


class Verification:
    """Deterministic given the seed: random inputs and kernels are drawn from it.

    Records carry ``study`` (``primitive``, ``qsvt``, ``block``, ``scaling``) and that study's
    own dimensions: ``primitive`` with ``n`` (qubits) or ``channels`` and ``side``; ``degree``
    (the QSVT polynomial's); ``N`` (input dimension, side^2) and ``blocks``."""

    def __init__(self, paper: DictConfig, dataset: DictConfig) -> None:
        self.paper = paper

    def describe(self) -> dict[str, Any]:
        return {"study": "verification"}

    def run(self, ctx: RunContext) -> Records:
        done = load_checkpoint(ctx.checkpoint, ctx.config_hash)
        if done is not None and "records" in done:
            # a rerun after an interruption in a later seed (a checkpoint of flat "metrics" from
            # before records is recomputed: the study is deterministic given the seed)
            records = Records()
            records.extend(Record.from_json(r) for r in done["records"])
            return records
        rng = numpy_generator(ctx.seed, "studies")
        records = Records()
        records.extend(self._primitives(rng), study="primitive")
        records.extend(self._qsvt(rng), study="qsvt")
        records.extend(self._block(rng, ctx), study="block")
        records.extend(self._scaling(rng), study="scaling")
        save_checkpoint(
            ctx.checkpoint,
            {
                "records": [r.to_json() for r in records],
                "config_hash": ctx.config_hash,
                "mlflow_run_id": ctx.run.run_id,
            },
        )
        return records

    @staticmethod
    def _primitives(rng: np.random.Generator) -> Records:
        """``max_error`` = max |circuit block - intended matrix| per primitive and size; for the
        convolution also its ``alpha``, the paper's ``two_norm_x2`` (2 ||C||_2) and
        ``ancillas``."""
        from qiskit.quantum_info import Operator

        out = Records()
        for n in (2, 3, 4):
            size = 2**n
            shift = Operator(cyclic_shift(n)).data
            out.add(
                "max_error",
                float(np.abs(shift - np.roll(np.eye(size), 1, axis=0)).max()),
                primitive="cyclic_shift",
                n=n,
            )
            out.add(
                "max_error",
                max(
                    float(np.abs(non_wrapping_shift(n, s).matrix() - shift_matrix(size, s)).max())
                    for s in (-1, 1)
                ),
                primitive="non_wrapping_shift",
                n=n,
            )
        for channels, n_side in ((1, 1), (1, 2), (2, 1), (2, 2)):
            kernel = rng.normal(size=(channels, channels, 3, 3))
            block = conv_block_encoding(kernel, n_side)
            exact = conv_matrix(kernel, 2**n_side)
            dims = {"primitive": "convolution", "channels": channels, "side": 2**n_side}
            out.add("max_error", float(np.abs(block.matrix() - exact).max()), **dims)
            out.add("alpha", block.alpha, **dims)
            out.add("two_norm_x2", 2 * float(np.linalg.norm(exact, 2)), **dims)
            out.add("ancillas", float(block.n_ancilla), **dims)
        v, w = rng.normal(size=16), rng.normal(size=16)
        ve = state_preparation(v)
        out.add(
            "max_error",
            float(
                np.abs(diagonal_block_encoding(ve).matrix() - np.diag(v / np.linalg.norm(v))).max()
            ),
            primitive="diagonal",
            n=4,
        )
        total = lcu_sum(ve, state_preparation(w), 0.5, 0.5)
        out.add(
            "max_error",
            float(np.abs(total.matrix()[:, 0] - (v + w) / 2).max()),
            primitive="lcu_sum",
            n=4,
        )
        return out

    def _qsvt(self, rng: np.random.Generator) -> Records:
        """erf(0.8 x) on the amplitudes of a unit 3-qubit vector: polynomial error, circuit vs
        polynomial, and the VE of erf(0.8 psi) on the uniform state (alpha = sqrt(N))."""
        out = Records()
        psi = rng.normal(size=8)
        psi /= np.linalg.norm(psi)
        grid = np.linspace(-1, 1, 4001)
        for degree in self.paper.qsvt_degrees:
            coef = odd_chebyshev(lambda x: erf(0.8 * x), degree)
            phases = qsp_phases(coef)
            circuit = qsvt(diagonal_block_encoding(state_preparation(psi)), phases).matrix()
            activated = np.diag(circuit).real / math.sqrt(len(psi))  # applied to |+>^n
            out.update(
                {
                    "polynomial_error": float(
                        np.abs(chebyshev.chebval(grid, coef) - erf(0.8 * grid)).max()
                    ),
                    "phase_error": float(
                        np.abs(
                            qsp_response(phases, grid).real - chebyshev.chebval(grid, coef)
                        ).max()
                    ),
                    "circuit_error": float(np.abs(np.diag(circuit) - erf(0.8 * psi)).max()),
                    "success": float(np.sum(activated**2)),
                    "success_bound": float(np.sum(erf(0.8 * psi) ** 2) / len(psi)),
                },
                degree=int(degree),
            )
        return out

    def _block(self, rng: np.random.Generator, ctx: RunContext) -> Records:
        runs: dict[int, list] = {d: [] for d in self.paper.block_degrees}
        plan = [(i, d) for i in range(self.paper.block_inputs) for d in self.paper.block_degrees]
        inputs = []
        for _ in range(self.paper.block_inputs):
            psi = rng.normal(size=4)
            inputs.append(
                (psi / np.linalg.norm(psi), spectrally_normalised(rng.normal(size=(1, 1, 3, 3)), 2))
            )
        for i, degree in tqdm(plan, desc="residual block", leave=False, disable=None):
            runs[degree].append(gate_level_block(*inputs[i], degree))
        out = Records()
        for degree, results in runs.items():
            values = {
                name: float(np.mean([getattr(r, name) for r in results]))
                for name in ("fidelity", "success_probability", "polynomial_error", "alpha")
            }
            values["min_fidelity"] = float(min(r.fidelity for r in results))
            values["qubits"] = float(results[0].qubits)
            values["seconds"] = float(np.mean([r.seconds for r in results]))
            values["success_gap"] = float(
                max(abs(r.success_probability - r.expected_success) for r in results)
            )
            out.update(values, degree=int(degree))
            ctx.run.log_metrics({f"block/d{degree}/fidelity": values["fidelity"]})
        return out

    def _scaling(self, rng: np.random.Generator) -> Records:
        """Per input dimension ``N`` and number of ``blocks``: the tally's ``queries``,
        ``ancillas``, ``success`` (no amplification), ``fidelity`` and QSVT ``degree``."""
        out = Records()
        kernels = [rng.normal(size=(1, 1, 3, 3)) for _ in range(max(self.paper.scaling_blocks))]
        for side in self.paper.scaling_sides:
            for blocks in self.paper.scaling_blocks:
                tally = network_tally(side, kernels[:blocks], self.paper.scaling_epsilon, rng)
                out.update(
                    {
                        "queries": tally.queries,
                        "ancillas": float(tally.ancillas),
                        "success": tally.success,
                        "fidelity": tally.fidelity,
                        "degree": float(tally.degree),
                    },
                    N=int(side * side),
                    blocks=int(blocks),
                )
        return out


class NetworkStudy:
    """Train the quantum-implementable ResNet (or the matched CNN) on downsampled MNIST; for the
    quantum one, compare its coherent emulation with the classical forward pass.

    Records carry ``architecture`` (``qresnet`` or ``cnn``) and ``inference``: ``classical``
    (the trained network's forward pass), ``coherent`` (the emulated circuit, with the QSVT
    ``degree``), ``sampled`` (labels from ``shots`` measurements of the exact emulation) or
    ``linearised`` (erf replaced by its slope at 0); ``label_agreement`` is agreement with the
    classical labels. The activation's ``linearity_gap`` and ``max_abs_preactivation`` are per
    ``block``."""

    def __init__(self, paper: DictConfig, dataset: DictConfig, quantum: bool) -> None:
        self.paper, self.dataset, self.quantum = paper, dataset, quantum

    def _classes(self) -> torch.Tensor:
        digits = self.dataset.get("digits")
        return torch.tensor(sorted(digits) if digits else list(range(10)))

    def _model(self) -> torch.nn.Module:
        side = {"x8_bilinear": 8, "x16_bilinear": 16}.get(self.dataset.variant)
        if side is None:
            from qmlrepro.errors import ConfigError

            raise ConfigError(
                f"dataset.variant={self.dataset.variant}: the qresnet network needs a power-of-"
                "two image side (x8_bilinear or x16_bilinear)"
            )
        cls = QResNet if self.quantum else MatchedCNN
        return cls(side, self.paper.channels, self.paper.blocks, len(self._classes()))

    def describe(self) -> dict[str, Any]:
        model = self._model()
        return {
            "study": "qresnet" if self.quantum else "cnn",
            "n_params": sum(p.numel() for p in model.parameters()),
        }

    def _data(self, train: bool, limit: int | None = None):
        x, y = image_tensors(self.dataset, train, limit)
        return x.float(), torch.searchsorted(self._classes(), y)

    def run(self, ctx: RunContext) -> Records:
        paper = self.paper
        x, y = self._data(True)
        model = self._model().to(ctx.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=paper.lr)
        xd, yd = x.to(ctx.device), y.to(ctx.device)

        def step(batch: torch.Tensor):
            log_p = model(xd[batch])
            return F.nll_loss(log_p, yd[batch]), {}

        loop = LoopConfig(paper.steps, paper.log_every, paper.checkpoint_every, "qresnet")
        started = time.perf_counter()
        final = run_loop(model, optimizer, step, len(x), paper.batch_size, loop, ctx)
        seconds = time.perf_counter() - started
        xt, yt = self._data(False, paper.n_test)
        model.eval()
        with torch.no_grad():
            predicted = model(xt.to(ctx.device)).argmax(1).cpu()
        records = Records(architecture="qresnet" if self.quantum else "cnn")
        accuracy = float((predicted == yt).float().mean())
        records.add("accuracy", accuracy, inference="classical")
        records.update({"n_test": float(len(yt)), "train_seconds": seconds})
        if self.quantum:
            records.extend(self._emulation(model.cpu(), xt, yt, predicted, ctx.seed))
        save_checkpoint(ctx.checkpoint, {**final, "records": [r.to_json() for r in records]})
        ctx.run.log_metrics({"test/accuracy": accuracy})
        return records

    def _emulation(self, model: QResNet, xt, yt, predicted, seed: int) -> Records:
        out = Records()
        exact_psi, exact_p = coherent_emulation(model, xt, None)
        classical = predicted.numpy()
        rng = numpy_generator(seed, "emulation_shots")
        for degree in self.paper.emulation_degrees:
            psi, p = coherent_emulation(model, xt, degree)
            out.update(
                {
                    "label_agreement": float((p.argmax(1) == classical).mean()),
                    "l2_distance": float(np.linalg.norm(psi - exact_psi, axis=1).mean()),
                    "accuracy": float((p.argmax(1) == yt.numpy()).mean()),
                },
                inference="coherent",
                degree=int(degree),
            )
        for shots in self.paper.emulation_shots:
            labels = sampled_labels(exact_p, shots, rng)
            out.update(
                {
                    "label_agreement": float((labels == classical).mean()),
                    "accuracy": float((labels == yt.numpy()).mean()),
                },
                inference="sampled",
                shots=int(shots),
            )
        with torch.no_grad():
            states = model.states(xt)
            for b, w in enumerate(model.operators()):
                z = (states[b] @ w.T).numpy()
                out.add("linearity_gap", linearity_gap(z), block=b)
                out.add("max_abs_preactivation", float(np.abs(z).max()), block=b)
            linear = model.states(xt, activation=lambda z: (1.6 / math.sqrt(math.pi)) * z)[-1]
            p_lin = model.class_probabilities(linear).argmax(1).numpy()
        out.update(
            {
                "accuracy": float((p_lin == yt.numpy()).mean()),
                "label_agreement": float((p_lin == classical).mean()),
            },
            inference="linearised",
        )
        out.add("class_mass", float(exact_p.sum(1).mean()))
        return out
