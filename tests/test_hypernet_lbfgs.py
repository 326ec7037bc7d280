"""hypernet: the batched many-start L-BFGS (issue 22): each start's trajectory is its own, it is
torch's L-BFGS, and a trained state's P_opt and <C> are what a direct enumeration gives."""

import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qmlrepro.papers.hypernet.bnn import LogisticTask
from qmlrepro.papers.hypernet.circuit import (
    hypernetwork_circuit,
    hypernetwork_spec,
    to_paper_order,
    to_qiskit_order,
)
from qmlrepro.papers.hypernet.costs import CostTable
from qmlrepro.papers.hypernet.lbfgs import BatchedLBFGS, LbfgsSettings
from qmlrepro.papers.hypernet.problem import SearchProblem
from qmlrepro.papers.hypernet.search import batched_objective, initial_angles, start_metrics
from qmlrepro.quantum.torch_executor import TorchCircuit


def _circuit_problem(n: int = 6, depth: int = 3, starts: int = 5):
    cost = torch.rand(2**n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    spec = hypernetwork_spec(n, depth)
    model = TorchCircuit.from_spec(spec, dtype=torch.float64)
    x0 = initial_angles(starts, len(spec.weights), torch.Generator().manual_seed(0))
    return cost, spec, model, x0


def test_a_start_alone_and_inside_a_batch_follow_the_same_trajectory():
    cost, _, model, x0 = _circuit_problem()
    objective = batched_objective(model, to_qiskit_order(cost))
    settings = LbfgsSettings(max_iter=40)
    rows = len(x0)  # every call has this many rows: alone, the start's are padding
    batch = BatchedLBFGS(objective, settings, rows)
    batch.start(x0)
    alone = [BatchedLBFGS(objective, settings, rows) for _ in range(len(x0))]
    for i, opt in enumerate(alone):
        opt.start(x0[i : i + 1])
    worst = 0.0
    for _ in range(40):  # round by round: every iterate, not only the end point
        batch.round()
        for i, opt in enumerate(alone):
            opt.round()
            a, b = opt.starts[0], batch.starts[i]
            worst = max(worst, float(np.abs(a.x - b.x).max()))
            assert np.abs(a.x - b.x).max() <= 1e-10 and abs(a.f - b.f) <= 1e-10
            assert (a.n_iter, a.n_evals, a.stop) == (b.n_iter, b.n_evals, b.stop)
    print(f"largest iterate difference, alone vs in the batch: {worst:.1e}")
    # every start ran its own course: different iteration counts, same numbers as alone
    assert len({s.n_evals for s in batch.starts}) > 1


def test_one_start_is_torch_lbfgs_with_the_authors_stopping_rule():
    """With torch's rules (absolute curvature test, evaluation cap 1.25 K, line search up to
    the remaining budget) and every stopping tolerance at 0, K iterations of one start are K
    iterations of torch.optim.LBFGS (strong Wolfe, history 8): same iterates, iteration and
    evaluation counts."""
    cost, spec, model, x0 = _circuit_problem(starts=2)
    objective = batched_objective(model, to_qiskit_order(cost))
    k = 12
    torch_rules = LbfgsSettings(
        max_iter=k, max_eval=k * 5 // 4, tolerance_grad=0.0, max_ls=None, curvature_rule="torch"
    )
    ours = BatchedLBFGS(objective, torch_rules).run(x0)
    for i, start in enumerate(ours):
        ref = TorchCircuit.from_spec(spec, dtype=torch.float64, init_weights=x0[i].clone())
        opt = torch.optim.LBFGS(
            [ref.weights], lr=1, max_iter=k, tolerance_grad=0.0, tolerance_change=0.0,
            history_size=8, line_search_fn="strong_wolfe",
        )  # fmt: skip

        def closure(ref=ref, opt=opt):
            opt.zero_grad()
            loss = ref()[0] @ to_qiskit_order(cost)
            loss.backward()
            return loss

        opt.step(closure)
        state = opt.state[ref.weights]
        assert (start.n_iter, start.n_evals) == (state["n_iter"], state["func_evals"])
        np.testing.assert_allclose(start.x, ref.weights.detach().numpy(), atol=1e-9)


def test_batched_lbfgs_converges_by_the_gradient_norm_and_resumes_exactly():
    cost, _, model, x0 = _circuit_problem(n=5, depth=2, starts=3)
    objective = batched_objective(model, to_qiskit_order(cost))
    settings = LbfgsSettings(max_iter=400)
    full = BatchedLBFGS(objective, settings).run(x0)
    assert all(s.stop == "converged" and s.grad_norm <= 1e-6 for s in full)
    assert all(s.n_evals >= s.n_iter >= 1 for s in full)
    # interrupted after 7 rounds, its state saved and loaded into a new optimiser
    first = BatchedLBFGS(objective, settings)
    first.start(x0)
    for _ in range(7):
        first.round()
    resumed = BatchedLBFGS(objective, settings)
    resumed.load_state(torch.utils._pytree.tree_map(lambda v: v, first.state()))
    for a, b in zip(resumed.run(), full, strict=True):
        assert np.array_equal(a.x, b.x) and a.n_iter == b.n_iter
    with pytest.raises(ValueError, match="x0 must be"):
        BatchedLBFGS(objective, settings).start(x0[0])


def test_trained_p_opt_and_expected_cost_match_a_direct_enumeration():
    """P_opt and <C> of a trained start, from the records, against Qiskit's Statevector of the
    bound circuit summed network by network in the paper's bit order."""
    n, depth = 6, 2
    g = torch.Generator().manual_seed(5)
    cost = torch.rand(2**n, generator=g, dtype=torch.float64)
    cost[17] = cost.min() - 0.5  # one clear optimum ...
    cost[40] = cost[17] + 5e-7  # ... and a second within the 1e-6 tolerance
    table = CostTable(cost, torch.rand(2**n, generator=g), torch.rand(2**n, generator=g))
    task = LogisticTask("t", "v", (0, 1), 1, pixels=n - 1)
    problem = SearchProblem(task, table, 1e-6, 10)
    _, _, model, x0 = _circuit_problem(n, depth, starts=2)
    starts = BatchedLBFGS(
        batched_objective(model, to_qiskit_order(cost)), LbfgsSettings(max_iter=30)
    ).run(x0)
    qc, theta = hypernetwork_circuit(n, depth)
    for s in starts:
        with torch.no_grad():
            p = model(None, torch.from_numpy(s.x).unsqueeze(0))[0]
        metrics = start_metrics(s, to_paper_order(p), problem, 1e-4, 1e-5, 1e-6)
        probs = Statevector(
            qc.assign_parameters(dict(zip(theta, s.x, strict=True)))
        ).probabilities()
        # paper index: bit k of the network (most significant first) is qubit k
        direct = {i: probs[int(format(i, f"0{n}b")[::-1], 2)] for i in range(2**n)}
        c_min = min(cost.tolist())
        p_opt = sum(direct[i] for i in range(2**n) if cost[i] <= c_min + 1e-6)
        expected = sum(direct[i] * cost[i].item() for i in range(2**n))
        assert metrics["p_opt"] == pytest.approx(p_opt, abs=1e-12)
        assert metrics["excess_cost"] == pytest.approx(expected - c_min, abs=1e-12)
        assert expected == pytest.approx(s.f, abs=1e-12)  # the optimiser's own <C>
        assert metrics["p_opt_loose"] >= metrics["p_opt"]
        assert metrics["converged"] == float(s.grad_norm <= 1e-6)


def test_depth_one_is_a_product_state_the_paper_s_depth_zero():
    """D = 1's CX layer acts on |0..0>: its state is the tensor product of one-qubit states
    RZ RY |0> (the paper's D = 0 family), for any angles."""
    n = 5
    qc, theta = hypernetwork_circuit(n, 1)
    angles = 2 * math.pi * torch.rand(len(theta), generator=torch.Generator().manual_seed(1))
    state = Statevector(qc.assign_parameters(dict(zip(theta, angles.tolist(), strict=True))))
    product = None
    for q in range(n):
        ry, rz = angles[q].item(), angles[n + q].item()
        one = np.array(
            [math.cos(ry / 2) * np.exp(-0.5j * rz), math.sin(ry / 2) * np.exp(0.5j * rz)]
        )
        product = one if product is None else np.kron(one, product)  # qubit q = bit q
    assert abs(np.vdot(product, state.data)) == pytest.approx(1.0, abs=1e-12)
