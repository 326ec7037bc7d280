"""Torch statevector executor: training-step speed and memory vs PennyLane, gate-by-gate torch
and qiskit-machine-learning; noisy ibmq_paris inference time on Aer; per-row weights (many random
starts of one circuit in one call) against a single start.

Circuit (issue 3): RY(x_i) encoding on n qubits, 2 layers of [RY(w), RZ(w) on every qubit + CNOT
ring], <Z_i> on all qubits; a step is forward + backward of the summed outputs at complex64.
Per-row rows (issues 18, 22): the hypernet circuit (17 qubits, D = 4, brick-wall CX + RY + RZ, no
inputs) in complex128 as it is trained, a step being forward + backward of <C> = p_theta . C.
Every measurement runs in a fresh subprocess so peak RSS belongs to that measurement alone.
"""

import json
import resource
import statistics
import subprocess
import sys
import time

SIZES = [(8, 32), (8, 256), (12, 256), (16, 32), (16, 256)]
PENNYLANE_SIZES = [(8, 32), (8, 256), (12, 256), (16, 32)]  # (16, 256) needs > 20 GB
GATEWISE_SIZES = [(8, 256), (12, 256)]
NOISY_INPUTS = 200
HYPERNET_QUBITS, HYPERNET_DEPTH = 17, 4
PER_ROW_BATCHES = [1, 8, 32]
LBFGS_STARTS = 32
LARGE_STATES = [(18, 32), (20, 8)]  # states above glibc's 32 MiB mmap threshold


def circuit(n: int):
    from qmlrepro.quantum.ansatz import layered_ring_ansatz, z_observables

    qc, x, w = layered_ring_ansatz(n, 2, rotations=("ry", "rz"), entangler="cx", encoding="ry")
    return qc, x, w, z_observables(n)


def _timed(step, reps: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def ours(n: int, batch: int) -> float:
    import torch

    from qmlrepro.quantum.torch_executor import TorchCircuit

    qc, x, w, obs = circuit(n)
    module = TorchCircuit(qc, x, w, observables=obs, init_weights=torch.randn(len(w)))
    inputs = torch.rand(batch, n, requires_grad=True)
    return _timed(lambda: module(inputs).sum().backward(), 10 if n < 16 else 3)


def pennylane(n: int, batch: int) -> float:
    import pennylane as qml
    import torch

    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def node(inputs, weights):
        for q in range(n):
            qml.RY(inputs[:, q], wires=q)
        k = 0
        for _ in range(2):
            for q in range(n):
                qml.RY(weights[k], wires=q)
                qml.RZ(weights[k + 1], wires=q)
                k += 2
            for q in range(n):
                qml.CNOT(wires=[q, (q + 1) % n])
        return [qml.expval(qml.PauliZ(q)) for q in range(n)]

    weights = torch.randn(4 * n, requires_grad=True)
    inputs = torch.rand(batch, n, requires_grad=True)
    return _timed(lambda: torch.stack(node(inputs, weights)).sum().backward(), 5 if n < 16 else 2)


def gatewise(n: int, batch: int) -> float:
    """TorchQuantum-style: one einsum per gate on a (B, 2, ..., 2) complex64 state."""
    import torch

    def one(state, m, q):
        state = torch.movedim(state, q + 1, -1)
        state = (
            torch.matmul(state, m.transpose(-1, -2))
            if m.dim() == 2
            else torch.einsum("b...j,bij->b...i", state, m)
        )
        return torch.movedim(state, -1, q + 1)

    def ry(t):
        c, s = torch.cos(t / 2), torch.sin(t / 2)
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2).to(
            torch.complex64
        )

    def rz(t):
        e = torch.polar(torch.ones_like(t), t / 2)
        z = torch.zeros_like(e)
        return torch.stack([torch.stack([e.conj(), z], -1), torch.stack([z, e], -1)], -2)

    cx = torch.tensor(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=torch.complex64
    ).reshape(2, 2, 2, 2)
    weights = torch.randn(4 * n, requires_grad=True)
    inputs = torch.rand(batch, n, requires_grad=True)

    def step():
        state = torch.zeros((batch,) + (2,) * n, dtype=torch.complex64)
        state[(slice(None),) + (0,) * n] = 1
        for q in range(n):
            state = one(state, ry(inputs[:, q]), q)
        k = 0
        for _ in range(2):
            for q in range(n):
                state = one(state, ry(weights[k]), q)
                state = one(state, rz(weights[k + 1]), q)
                k += 2
            for q in range(n):
                a, b = q + 1, (q + 1) % n + 1
                state = torch.movedim(state, (a, b), (-2, -1))
                state = torch.einsum("...kl,ijkl->...ij", state, cx)
                state = torch.movedim(state, (-2, -1), (a, b))
        probs = state.abs() ** 2
        out = torch.stack(
            [
                probs.select(q + 1, 0).flatten(1).sum(1) - probs.select(q + 1, 1).flatten(1).sum(1)
                for q in range(n)
            ],
            1,
        )
        out.sum().backward()

    return _timed(step, 5)


def qiskit_ml(n: int, batch: int) -> float:
    import torch
    from qiskit.primitives import StatevectorEstimator
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    qc, x, w, obs = circuit(n)
    qnn = EstimatorQNN(
        circuit=qc,
        observables=obs,
        input_params=list(x),
        weight_params=list(w),
        estimator=StatevectorEstimator(),
        input_gradients=True,
    )
    model = TorchConnector(qnn)
    inputs = torch.rand(batch, n, requires_grad=True)
    return _timed(lambda: model(inputs).sum().backward(), 1, warmup=0)  # ~2 min per step


def noisy_inference(n_inputs: int) -> float:
    """Seconds for the qssl ring circuit (8 qubits, RX encoding, 2 x [RY, CRX ring]) on
    FakeParisV2 with 100 shots per input."""
    import numpy as np

    from qmlrepro.quantum.ansatz import layered_ring_ansatz, z_observables
    from qmlrepro.quantum.qiskit_executors import AerNoise
    from qmlrepro.quantum.spec import make_spec

    n = 8
    qc, x, w = layered_ring_ansatz(n, 2, rotations=("ry",), entangler="crx", encoding="rx")
    obs = z_observables(n)
    spec = make_spec(qc, x, w, observables=obs)
    rng = np.random.default_rng(0)
    inputs, weights = rng.uniform(0, np.pi, (n_inputs, n)), rng.normal(0, n**-0.5, 4 * n)
    executor = AerNoise("fake_paris", shots=100, optimization_level=1, seed=1)
    start = time.perf_counter()
    executor.values(spec, inputs, weights)
    return time.perf_counter() - start


def _hypernet(device: str):
    """The hypernet module (complex128), a random cost vector C and a random-start generator."""
    import torch

    from qmlrepro.papers.hypernet.circuit import hypernetwork_spec
    from qmlrepro.quantum.torch_executor import TorchCircuit

    spec = hypernetwork_spec(HYPERNET_QUBITS, HYPERNET_DEPTH)
    module = TorchCircuit.from_spec(spec, dtype=torch.float64).to(device)
    generator = torch.Generator().manual_seed(0)
    cost = torch.rand(2**HYPERNET_QUBITS, generator=generator, dtype=torch.float64).to(device)

    def starts(count: int) -> torch.Tensor:
        angles = 2 * torch.pi * torch.rand(count, len(spec.weights), generator=generator)
        return angles.to(device=device, dtype=torch.float64)

    return module, cost, starts


def _per_row_step(module, cost, weights):
    """Forward + backward of sum_b <C>_b with ``weights`` (B, n_w) as per-row weights."""

    def step() -> None:
        rows = weights.clone().requires_grad_(True)
        (module(weights=rows) @ cost).sum().backward()

    return step


def _synchronised(step, device: str):
    import torch

    if device != "cuda":
        return step
    return lambda: (step(), torch.cuda.synchronize())


def _memory_mb(device: str, key: str) -> float:
    """CUDA: peak allocated since the last reset. CPU: peak (VmHWM) or current (VmRSS) RSS."""
    import torch

    if device == "cuda":
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"{key} not in /proc/self/status")


def per_row_weights(batch: int, cuda: int = 0) -> dict:
    """ms per row of a forward + backward for ``batch`` per-row weight sets in one call, against
    one start alone (the module's (n_w,) weights) and against the per-row elementwise kernel
    (what row-wise angles cost before per-row weights: ``fuse_rows=False``), timed in alternation
    in one process so that the ratios hold on a loaded machine. Memory: the per-row step's peak
    (CUDA: allocated; CPU: RSS above the resident size before the first step)."""
    import torch

    device = "cuda" if cuda else "cpu"
    module, cost, starts = _hypernet(device)
    weights = starts(batch)

    def single() -> None:
        module.weights.grad = None
        (module()[0] @ cost).backward()

    fused = _per_row_step(module, cost, weights)

    def elementwise() -> None:
        rows = weights.clone().requires_grad_(True)
        angles = module.simulator.angles(rows)  # no inputs: the values are the weights
        state = module.simulator.run(angles, None, torch.complex128, fuse_rows=False)
        (module.readout(state) @ cost).sum().backward()

    resident = _memory_mb(device, "VmRSS")
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _synchronised(fused, device)()
    peak = _memory_mb(device, "VmHWM")
    steps = {"single": single, "per_row": fused, "per_row_elementwise": elementwise}
    steps = {name: _synchronised(step, device) for name, step in steps.items()}
    steps["single"](), steps["per_row_elementwise"]()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(5 if batch < 32 else 3):
        for name, step in steps.items():
            times[name].append(_timed(step, 1, warmup=0))
    ms = {name: statistics.median(values) for name, values in times.items()}
    return {
        "device": device,
        "batch": batch,
        "single_start_ms": round(ms["single"], 1),
        "per_row_ms_per_row": round(ms["per_row"] / batch, 1),
        "per_row_elementwise_ms_per_row": round(ms["per_row_elementwise"] / batch, 1),
        "per_row_over_single": round(ms["per_row"] / batch / ms["single"], 2),
        "elementwise_over_single": round(ms["per_row_elementwise"] / batch / ms["single"], 2),
        "per_row_peak_mb": round(peak if device == "cuda" else peak - resident, 1),
    }


def lbfgs_starts(starts: int, cuda: int = 0) -> dict:
    """One L-BFGS iteration for ``starts`` random starts run one after another (torch's LBFGS,
    the hypernet settings: strong Wolfe, history 8), against the batched evaluation of <C> and
    its gradient for all starts in one per-row call. A batched L-BFGS (per-start line search and
    two-loop recursion) is not implemented here: the batched iteration time is estimated as one
    batched evaluation per evaluation that the separate runs needed on average."""
    import torch

    device = "cuda" if cuda else "cpu"
    module, cost, draw = _hypernet(device)
    initial = draw(starts)
    evaluations = 0

    def closure() -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        optimizer.zero_grad()
        loss = module()[0] @ cost
        loss.backward()
        return loss

    batched = _synchronised(_per_row_step(module, cost, initial), device)
    batched_ms = [_timed(batched, 1, warmup=1)]  # before and after: the load may drift
    started = time.perf_counter()
    for angles in initial:
        module.weights.data.copy_(angles)
        optimizer = torch.optim.LBFGS(
            [module.weights], lr=1.0, max_iter=1, history_size=8, line_search_fn="strong_wolfe"
        )
        optimizer.step(closure)
    if device == "cuda":
        torch.cuda.synchronize()
    separate_s = time.perf_counter() - started
    batched_ms.append(_timed(batched, 1, warmup=0))
    per_iteration = evaluations / starts
    estimate_s = statistics.mean(batched_ms) / 1000 * per_iteration
    return {
        "device": device,
        "starts": starts,
        "separate_one_iteration_s": round(separate_s, 2),
        "evaluations_per_start": round(per_iteration, 2),
        "batched_evaluation_s": [round(ms / 1000, 2) for ms in batched_ms],
        "batched_iteration_estimate_s": round(estimate_s, 2),
        "separate_over_batched_estimate": round(separate_s / estimate_s, 2),
    }


def large_state(n: int, batch: int, reuse: int) -> dict:
    """A training step (as :func:`ours`, 1 thread) on states of 2^n amplitudes x batch, with
    glibc's default allocation (reuse=0: a fresh mmap per large buffer) or the setting the
    stages apply (reuse=1: :func:`qmlrepro.training.memory.reuse_freed_memory`); median wall
    time, and CPU (user, system) seconds per step."""
    import torch

    from qmlrepro.training.memory import reuse_freed_memory

    applied = reuse_freed_memory() if reuse else False
    torch.set_num_threads(1)
    qc, x, w, obs = circuit(n)
    from qmlrepro.quantum.torch_executor import TorchCircuit

    module = TorchCircuit(qc, x, w, observables=obs, init_weights=torch.randn(len(w)))
    inputs = torch.rand(batch, n, requires_grad=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    reps = 3
    ms = _timed(lambda: module(inputs).sum().backward(), reps, warmup=1)
    after = resource.getrusage(resource.RUSAGE_SELF)
    steps = reps + 1
    return {
        "value": round(ms, 1),
        "reuse_freed_memory": applied,
        "cpu_user_s_per_step": round((after.ru_utime - before.ru_utime) / steps, 2),
        "cpu_system_s_per_step": round((after.ru_stime - before.ru_stime) / steps, 2),
    }


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it is not inherited on exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child(fn_name: str, args: list[str]) -> dict:
    try:
        value = globals()[fn_name](*[int(a) for a in args])
    except Exception as exc:  # report, do not crash the whole benchmark
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
    if isinstance(value, dict):
        return {**value, "peak_rss_mb": _peak_rss_mb()}
    return {"value": round(value, 3), "peak_rss_mb": _peak_rss_mb()}


def measure(fn_name: str, *args: int, timeout: float = 900) -> dict:
    """Run one measurement in a fresh interpreter so its peak RSS is its own."""
    try:
        proc = subprocess.run(
            [sys.executable, __file__, fn_name, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"exit code {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def run() -> dict:
    rows = []
    for n, batch in SIZES:
        row = {"n": n, "batch": batch, "ours": measure("ours", n, batch)}
        if (n, batch) in PENNYLANE_SIZES:
            row["pennylane_backprop"] = measure("pennylane", n, batch)
        if (n, batch) in GATEWISE_SIZES:
            row["gatewise_torch"] = measure("gatewise", n, batch)
        if (n, batch) == (8, 32):
            row["qiskit_ml_torchconnector"] = measure("qiskit_ml", n, batch)
        for key in ("pennylane_backprop", "gatewise_torch", "qiskit_ml_torchconnector"):
            if key in row and "value" in row[key] and "value" in row["ours"]:
                row[f"speedup_vs_{key}"] = round(row[key]["value"] / row["ours"]["value"], 1)
        rows.append(row)
        print(json.dumps(row))
    # Measure NOISY_INPUTS and scale to the 5,000-image test split. With seed=1 Sabre maps the
    # ring onto 12 qubits (per-shot trajectories); seed 0, the pipeline's default, onto 8
    # (density matrix, ~0.06 s per input in the default run).
    noisy = measure("noisy_inference", NOISY_INPUTS)
    if "value" in noisy:
        noisy["ms_per_input"] = round(1000 * noisy["value"] / NOISY_INPUTS, 1)
        noisy["extrapolated_5000_inputs_s"] = round(noisy["value"] / NOISY_INPUTS * 5000, 1)
    return {
        "unit": "ms per forward+backward (median)",
        "training_step": rows,
        f"aer_noise_fake_paris_100_shots_{NOISY_INPUTS}_inputs_s": noisy,
        **per_row_rows(),
        "large_state": large_state_rows(),
    }


def large_state_rows() -> list[dict]:
    """Per size: the step with glibc's default allocation and with buffer reuse."""
    rows = []
    for n, batch in LARGE_STATES:
        row = {"n": n, "batch": batch}
        for reuse in (0, 1):
            row["reuse" if reuse else "default_malloc"] = measure("large_state", n, batch, reuse)
        print(json.dumps(row))
        rows.append(row)
    return rows


def per_row_rows() -> dict:
    """The per-row-weights rows (CPU, and CUDA when present): 'per_row_weights' per batch size,
    'lbfgs_32_starts' per device."""
    import torch

    devices = [0, 1] if torch.cuda.is_available() else [0]
    per_row = [measure("per_row_weights", b, cuda) for cuda in devices for b in PER_ROW_BATCHES]
    lbfgs = [measure("lbfgs_starts", LBFGS_STARTS, cuda) for cuda in devices]
    for row in per_row + lbfgs:
        print(json.dumps(row))
    return {"per_row_weights": per_row, f"lbfgs_{LBFGS_STARTS}_starts": lbfgs}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1], sys.argv[2:])))
