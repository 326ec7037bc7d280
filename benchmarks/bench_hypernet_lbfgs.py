"""hypernet: one L-BFGS iteration of 32 random starts, batched vs 32 separate runs (issue 22).

The hypernetwork circuit at D = 4 (brick-wall CX + RY + RZ, complex128 torch statevector),
E(theta) = p_theta @ C for a random cost vector C. "Separate" is what training did before: one
start per call (rows = 1). "Batched" evaluates the trial points of all starts still line-searching
in calls of ``rows`` rows (per-row weights). Both time the initial evaluation plus one L-BFGS
iteration (its line search included) of every start; ``max_iterate_difference`` records how far
the batched iterates lie from the separate ones (rounding only). ``peak_rss_mb`` is the
process's peak resident memory after the case (cases grow, so a jump belongs to its case).
"""

import resource
import time

import numpy as np
import torch

from qmlrepro.papers.hypernet.circuit import hypernetwork_spec, to_qiskit_order
from qmlrepro.papers.hypernet.lbfgs import BatchedLBFGS, LbfgsSettings
from qmlrepro.papers.hypernet.search import batched_objective, initial_angles
from qmlrepro.quantum.torch_executor import TorchCircuit

STARTS, DEPTH = 32, 4


def _one_iteration(objective, x0: torch.Tensor, rows: int, separate: bool):
    settings = LbfgsSettings(max_iter=1000)
    started = time.perf_counter()
    if separate:
        opts = [BatchedLBFGS(objective, settings, 1) for _ in range(len(x0))]
        for i, opt in enumerate(opts):
            opt.start(x0[i : i + 1])
            opt.round()
        starts = [opt.starts[0] for opt in opts]
    else:
        opt = BatchedLBFGS(objective, settings, rows)
        opt.start(x0)
        opt.round()
        starts = opt.starts
    seconds = time.perf_counter() - started
    return seconds, sum(s.n_evals for s in starts), np.stack([s.x for s in starts])


def run() -> dict:
    rows_out = []
    for n in (10, 17):
        spec = hypernetwork_spec(n, DEPTH)
        model = TorchCircuit.from_spec(spec, dtype=torch.float64)
        cost = torch.rand(2**n, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        objective = batched_objective(model, to_qiskit_order(cost))
        x0 = initial_angles(STARTS, len(spec.weights), torch.Generator().manual_seed(1))
        base_s, base_evals, base_x = _one_iteration(objective, x0, 1, separate=True)
        case = {
            "n_qubits": n,
            "depth": DEPTH,
            "starts": STARTS,
            "separate_seconds": round(base_s, 3),
            "start_evaluations": base_evals,
            "separate_ms_per_start_evaluation": round(1e3 * base_s / base_evals, 2),
        }
        for rows in (8, 32):
            seconds, evals, x = _one_iteration(objective, x0, rows, separate=False)
            case[f"batched_rows{rows}_seconds"] = round(seconds, 3)
            case[f"batched_rows{rows}_speedup"] = round(base_s / seconds, 2)
            case[f"batched_rows{rows}_max_iterate_difference"] = float(np.abs(x - base_x).max())
            case[f"batched_rows{rows}_start_evaluations"] = evals
        case["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        rows_out.append(case)
    return {"one_lbfgs_iteration": rows_out}
