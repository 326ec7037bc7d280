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
from qmlrepro.training.checkpoint import load_checkpoint, save_checkpoint
from qmlrepro.training.loop import LoopConfig, run_loop
from qmlrepro.training.seeding import numpy_generator


class Verification:
    """Deterministic given the seed: random inputs and kernels are drawn from it."""

    def __init__(self, paper: DictConfig, dataset: DictConfig) -> None:
        self.paper = paper

    def describe(self) -> dict[str, Any]:
        return {"study": "verification"}

    def run(self, ctx: RunContext) -> dict[str, float]:
        done = load_checkpoint(ctx.checkpoint, ctx.config_hash)
        if done is not None and "metrics" in done:
            return done["metrics"]  # a rerun after an interruption in a later seed
        rng = numpy_generator(ctx.seed, "studies")
        metrics: dict[str, float] = {}
        metrics.update(self._primitives(rng))
        metrics.update(self._qsvt(rng))
        metrics.update(self._block(rng, ctx))
        metrics.update(self._scaling(rng))
        save_checkpoint(
            ctx.checkpoint,
            {"metrics": metrics, "config_hash": ctx.config_hash, "mlflow_run_id": ctx.run.run_id},
        )
        return metrics

    @staticmethod
    def _primitives(rng: np.random.Generator) -> dict[str, float]:
        """Max |circuit block - intended matrix| per primitive and size."""
        from qiskit.quantum_info import Operator

        out = {}
        for n in (2, 3, 4):
            size = 2**n
            shift = Operator(cyclic_shift(n)).data
            out[f"primitive/cyclic_shift/n{n}"] = float(
                np.abs(shift - np.roll(np.eye(size), 1, axis=0)).max()
            )
            out[f"primitive/non_wrapping_shift/n{n}"] = max(
                float(np.abs(non_wrapping_shift(n, s).matrix() - shift_matrix(size, s)).max())
                for s in (-1, 1)
            )
        for channels, n_side in ((1, 1), (1, 2), (2, 1), (2, 2)):
            kernel = rng.normal(size=(channels, channels, 3, 3))
            block = conv_block_encoding(kernel, n_side)
            exact = conv_matrix(kernel, 2**n_side)
            tag = f"c{channels}_side{2**n_side}"
            out[f"primitive/convolution/{tag}"] = float(np.abs(block.matrix() - exact).max())
            out[f"conv_alpha/{tag}"] = block.alpha
            out[f"conv_two_norm_x2/{tag}"] = 2 * float(np.linalg.norm(exact, 2))
            out[f"conv_ancillas/{tag}"] = float(block.n_ancilla)
        v, w = rng.normal(size=16), rng.normal(size=16)
        ve = state_preparation(v)
        out["primitive/diagonal/n4"] = float(
            np.abs(diagonal_block_encoding(ve).matrix() - np.diag(v / np.linalg.norm(v))).max()
        )
        total = lcu_sum(ve, state_preparation(w), 0.5, 0.5)
        out["primitive/lcu_sum/n4"] = float(np.abs(total.matrix()[:, 0] - (v + w) / 2).max())
        return out

    def _qsvt(self, rng: np.random.Generator) -> dict[str, float]:
        """erf(0.8 x) on the amplitudes of a unit 3-qubit vector: polynomial error, circuit vs
        polynomial, and the VE of erf(0.8 psi) on the uniform state (alpha = sqrt(N))."""
        out = {}
        psi = rng.normal(size=8)
        psi /= np.linalg.norm(psi)
        grid = np.linspace(-1, 1, 4001)
        for degree in self.paper.qsvt_degrees:
            coef = odd_chebyshev(lambda x: erf(0.8 * x), degree)
            phases = qsp_phases(coef)
            circuit = qsvt(diagonal_block_encoding(state_preparation(psi)), phases).matrix()
            out[f"qsvt/d{degree}/polynomial_error"] = float(
                np.abs(chebyshev.chebval(grid, coef) - erf(0.8 * grid)).max()
            )
            out[f"qsvt/d{degree}/phase_error"] = float(
                np.abs(qsp_response(phases, grid).real - chebyshev.chebval(grid, coef)).max()
            )
            out[f"qsvt/d{degree}/circuit_error"] = float(
                np.abs(np.diag(circuit) - erf(0.8 * psi)).max()
            )
            activated = np.diag(circuit).real / math.sqrt(len(psi))  # applied to |+>^n
            out[f"qsvt/d{degree}/success"] = float(np.sum(activated**2))
            out[f"qsvt/d{degree}/success_bound"] = float(np.sum(erf(0.8 * psi) ** 2) / len(psi))
        return out

    def _block(self, rng: np.random.Generator, ctx: RunContext) -> dict[str, float]:
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
        out = {}
        for degree, results in runs.items():
            for name in ("fidelity", "success_probability", "polynomial_error", "alpha"):
                values = [getattr(r, name) for r in results]
                out[f"block/d{degree}/{name}"] = float(np.mean(values))
            out[f"block/d{degree}/min_fidelity"] = float(min(r.fidelity for r in results))
            out[f"block/d{degree}/qubits"] = float(results[0].qubits)
            out[f"block/d{degree}/seconds"] = float(np.mean([r.seconds for r in results]))
            out[f"block/d{degree}/success_gap"] = float(
                max(abs(r.success_probability - r.expected_success) for r in results)
            )
            ctx.run.log_metrics({f"block/d{degree}/fidelity": out[f"block/d{degree}/fidelity"]})
        return out

    def _scaling(self, rng: np.random.Generator) -> dict[str, float]:
        out = {}
        kernels = [rng.normal(size=(1, 1, 3, 3)) for _ in range(max(self.paper.scaling_blocks))]
        for side in self.paper.scaling_sides:
            for blocks in self.paper.scaling_blocks:
                tally = network_tally(side, kernels[:blocks], self.paper.scaling_epsilon, rng)
                tag = f"scaling/N{side * side}_k{blocks}"
                out[f"{tag}/queries"] = tally.queries
                out[f"{tag}/ancillas"] = float(tally.ancillas)
                out[f"{tag}/success"] = tally.success
                out[f"{tag}/fidelity"] = tally.fidelity
                out[f"{tag}/degree"] = float(tally.degree)
        return out


class NetworkStudy:
    """Train the quantum-implementable ResNet (or the matched CNN) on downsampled MNIST; for the
    quantum one, compare its coherent emulation with the classical forward pass."""

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

    def run(self, ctx: RunContext) -> dict[str, float]:
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
        metrics = {
            "test_accuracy": float((predicted == yt).float().mean()),
            "n_test": float(len(yt)),
            "train_seconds": seconds,
        }
        if self.quantum:
            metrics.update(self._emulation(model.cpu(), xt, yt, predicted, ctx.seed))
        save_checkpoint(ctx.checkpoint, {**final, "metrics": metrics})
        ctx.run.log_metrics({"test/accuracy": metrics["test_accuracy"]})
        return metrics

    def _emulation(self, model: QResNet, xt, yt, predicted, seed: int) -> dict[str, float]:
        out: dict[str, float] = {}
        exact_psi, exact_p = coherent_emulation(model, xt, None)
        classical = predicted.numpy()
        rng = numpy_generator(seed, "emulation_shots")
        for degree in self.paper.emulation_degrees:
            psi, p = coherent_emulation(model, xt, degree)
            out[f"emulation/d{degree}/label_agreement"] = float((p.argmax(1) == classical).mean())
            out[f"emulation/d{degree}/l2_distance"] = float(
                np.linalg.norm(psi - exact_psi, axis=1).mean()
            )
            out[f"emulation/d{degree}/accuracy"] = float((p.argmax(1) == yt.numpy()).mean())
        for shots in self.paper.emulation_shots:
            labels = sampled_labels(exact_p, shots, rng)
            out[f"shots/{shots}/label_agreement"] = float((labels == classical).mean())
            out[f"shots/{shots}/accuracy"] = float((labels == yt.numpy()).mean())
        with torch.no_grad():
            states = model.states(xt)
            for b, w in enumerate(model.operators()):
                z = (states[b] @ w.T).numpy()
                out[f"nonlinearity/block{b}/linearity_gap"] = linearity_gap(z)
                out[f"nonlinearity/block{b}/max_abs_preactivation"] = float(np.abs(z).max())
            linear = model.states(xt, activation=lambda z: (1.6 / math.sqrt(math.pi)) * z)[-1]
            p_lin = model.class_probabilities(linear).argmax(1).numpy()
        out["nonlinearity/linearised_accuracy"] = float((p_lin == yt.numpy()).mean())
        out["nonlinearity/linearised_agreement"] = float((p_lin == classical).mean())
        out["class_mass"] = float(exact_p.sum(1).mean())
        return out
