"""hypernet: the enumerated cost vectors, the bit order, the circuit on both executors, the
metrics, the classical searches, and the train/evaluate stages on a synthetic task."""

import json
import math

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qmlrepro.data.artifacts import write_manifest
from qmlrepro.errors import ConfigError
from qmlrepro.papers.hypernet.baselines import RandomSearch, SimulatedAnnealing, outcome_metrics
from qmlrepro.papers.hypernet.bnn import (
    GaussianMLPTask,
    LogisticTask,
    bits_index,
    index_bits,
)
from qmlrepro.papers.hypernet.circuit import (
    hypernetwork_circuit,
    hypernetwork_spec,
    to_paper_order,
    to_qiskit_order,
)
from qmlrepro.papers.hypernet.claims import SUMMARY
from qmlrepro.papers.hypernet.costs import CostTable, write_cost_table
from qmlrepro.papers.hypernet.metrics import best_of_k_excess, distribution_metrics
from qmlrepro.papers.hypernet.search import initial_angles
from qmlrepro.quantum.qiskit_executors import AerDepolarizing, AerStatevector
from qmlrepro.quantum.torch_executor import TorchCircuit, TorchStatevector
from qmlrepro.report.results import JobResult, summarize_records

from .test_hypernet_landscape import _data  # synthetic BNN data (float32 pixels)

# The enumeration against a direct forward pass: tests/test_hypernet_landscape.py (every
# network of the small tasks, random networks of the 17-19-bit layouts).


def test_bnn_layouts_follow_the_authors():
    gaussian = GaussianMLPTask()
    assert gaussian.n_bits == 18 and gaussian.bit_groups()["activation"] == [17]
    # all-ones: every weight +1, sigmoid hidden layer; W1 = [[1]*4]*2 -> hidden = x0 + x1 + 1
    x = torch.tensor([[0.5, -0.25]], dtype=torch.float64)
    ones = torch.ones(1, 18, dtype=torch.long)
    expected = 4 * torch.sigmoid(torch.tensor(0.5 - 0.25 + 1.0)) + 1
    assert gaussian.direct_logits(ones, x).item() == pytest.approx(expected.item())
    relu = ones.clone()
    relu[0, 17] = 0
    assert gaussian.direct_logits(relu, x).item() == pytest.approx(4 * 1.25 + 1)

    alphabet = LogisticTask("a", "v", (3, 7), 7, alphabet_bits=2)
    assert alphabet.n_bits == 19
    x16 = torch.ones(1, 16, dtype=torch.float64)
    for code, low in enumerate((0.0, -1.0, -2.0, -3.0)):
        zeros = torch.zeros(1, 19, dtype=torch.long)
        zeros[0, 17], zeros[0, 18] = code // 2, code % 2
        assert alphabet.direct_logits(zeros, x16).item() == pytest.approx(17 * low)
    with pytest.raises(ConfigError, match="positive digit"):
        LogisticTask("bad", "v", (0, 1), 7)


def test_bit_order_matches_qiskit_little_endian_basis_states():
    n = 5
    for qubits in ([0], [4], [0, 3], [1, 2, 4]):
        qc = QuantumCircuit(n)
        for q in qubits:
            qc.x(q)
        probs = torch.tensor(Statevector(qc).probabilities())
        bits = torch.zeros(1, n, dtype=torch.long)
        bits[0, qubits] = 1  # qubit k carries paper bit k
        assert int(torch.argmax(to_paper_order(probs))) == bits_index(bits).item()
    vector = torch.arange(2**n, dtype=torch.float64)
    torch.testing.assert_close(to_paper_order(to_qiskit_order(vector)), vector)
    assert bits_index(index_bits(torch.arange(32), n)).tolist() == list(range(32))
    assert index_bits(torch.tensor([16]), n).tolist() == [[1, 0, 0, 0, 0]]  # b_0 most significant


def test_circuit_is_the_authors_brick_wall():
    qc, theta = hypernetwork_circuit(6, 3)
    assert len(theta) == 2 * 3 * 6 and qc.num_qubits == 6
    cx = [tuple(qc.find_bit(q).index for q in inst.qubits) for inst in qc.data if inst.name == "cx"]
    # d = 1 starts at qubit 1 (the authors' 1 + (d mod 2), 1-indexed), d = 2 at 0, d = 3 at 1
    assert cx == [(1, 2), (3, 4), (0, 1), (2, 3), (4, 5), (1, 2), (3, 4)]
    first_rz = next(inst for inst in qc.data if inst.name == "rz")
    assert first_rz.operation.params[0] == theta[3 * 6]  # RY layers first, then RZ layers


def test_torch_and_aer_statevectors_agree():
    spec = hypernetwork_spec(6, 3)
    weights = initial_angles(1, len(spec.weights), torch.Generator().manual_seed(1))[0]
    # what training holds (the executor's layer) and what evaluation reads (its values)
    layer = TorchStatevector(device="cpu", dtype="float64").layer(spec, weights)
    torch_probs = layer().detach().numpy()
    aer_probs = AerStatevector().values(spec, np.zeros((1, 0)), weights.numpy())
    assert aer_probs.shape == torch_probs.shape == (1, 2**6)
    np.testing.assert_allclose(torch_probs, aer_probs, atol=1e-10)
    exact = TorchStatevector(device="cpu", dtype="float64").values(spec, None, weights)
    np.testing.assert_allclose(exact, torch_probs, atol=1e-14)
    product = TorchCircuit.from_spec(hypernetwork_spec(6, 1), dtype=torch.float64)
    assert product()[0, 0].item() == pytest.approx(1.0)  # D = 1 at zero angles: |0...0>


def _table(n: int = 10, seed: int = 0) -> CostTable:
    g = torch.Generator().manual_seed(seed)
    cost = torch.rand(2**n, generator=g, dtype=torch.float64)
    return CostTable(cost, torch.rand(2**n, generator=g), torch.rand(2**n, generator=g))


def test_distribution_metrics_and_best_of_k():
    table = _table()
    task = LogisticTask("t", "v", (0, 1), 1, pixels=9)  # 10 bits
    best = int(table.cost.argmin())
    point = torch.zeros(2**10, dtype=torch.float64)
    point[best] = 1
    m = distribution_metrics(point, table, task, 1e-9, budget=5)
    assert m["p_opt"] == 1 and m["excess_cost"] == 0 and m["hit_within_budget"] == 1
    uniform = torch.full((2**10,), 2.0**-10, dtype=torch.float64)
    m = distribution_metrics(uniform, table, task, 1e-9, budget=20)
    assert m["hit_within_budget"] == pytest.approx(1 - (1 - 2**-10) ** 20)
    g = torch.Generator().manual_seed(0)
    draws = torch.randint(0, 2**10, (20000, 20), generator=g)
    monte_carlo = (table.cost[draws].min(1).values - table.cost.min()).mean().item()
    assert best_of_k_excess(uniform, table.cost, 20) == pytest.approx(monte_carlo, rel=0.03)


def test_classical_searches_respect_the_budget_statistics():
    table = _table(12)
    g = torch.Generator().manual_seed(0)
    rnd = outcome_metrics(RandomSearch(budget=200, runs=4000).best_found(table, g), table, 0.0)
    expected = 1 - (1 - 2**-12) ** 200
    assert abs(rnd["hit_within_budget"] - expected) < 4 * math.sqrt(expected / 4000) + 1e-3
    # On a smooth landscape (Hamming distance to a target, plus jitter) annealing's local moves
    # pay off: it finds the optimum far more often than random search with the same budget.
    index = torch.arange(2**12)
    distance = index_bits(index ^ 1234, 12).sum(1).double()
    smooth = CostTable(distance + 0.01 * table.cost, table.train_accuracy, table.test_accuracy)
    sa = SimulatedAnnealing(budget=200, runs=500, t_start=1.0, t_end=0.01)
    ann = outcome_metrics(sa.best_found(smooth, g), smooth, 0.0)
    rnd = outcome_metrics(RandomSearch(budget=200, runs=500).best_found(smooth, g), smooth, 0.0)
    assert ann["hit_within_budget"] > 0.5 > 0.2 > rnd["hit_within_budget"]
    with pytest.raises(ConfigError):
        SimulatedAnnealing(t_start=1e-5, t_end=1e-3)


def test_depolarising_noise_spreads_the_samples():
    spec = hypernetwork_spec(3, 1)
    angles = torch.zeros(len(spec.weights), dtype=torch.float64)
    angles[:3] = math.pi  # RY(pi) on every qubit: |111>
    ideal = AerDepolarizing(0.0, 0.0, shots=400, seed=1).values(spec, np.zeros((1, 0)), angles)
    noisy = AerDepolarizing(0.1, 0.1, scale=2.0, shots=400, seed=1).values(
        spec, np.zeros((1, 0)), angles
    )
    assert ideal[0, 7] == 1.0 and noisy[0, 7] < 0.95
    with pytest.raises(ConfigError, match="not in"):
        AerDepolarizing(0.6, 0.1, scale=2.0)


COST_TASKS = {
    "mnist01": (LogisticTask("mnist01", "v", (0, 1), 1, zero_value=-3.0), 16),
    "gaussian": (GaussianMLPTask(), 2),
    "mnist37": (LogisticTask("mnist37", "v", (3, 7), 7, alphabet_bits=2), 16),
}


def _cost_dir(project, names=("mnist01", "gaussian")) -> None:
    """Synthetic cost tables under the names the paper's tasks use."""
    out = project / "data" / "hypernet"
    entries = {}
    for name in names:
        task, dim = COST_TASKS[name]
        entries[name] = write_cost_table(out, task, _data(dim, n=40), 1e-6)
    write_manifest(out, entries, {"test": True, "data_limit": 200})  # as profile=smoke's


def test_costs_of_another_profile_are_refused_before_training(project):
    """Smoke costs (200 examples) read by a default-profile run gave another landscape silently
    (a new user's report); the manifest's data_limit must match the run's paper.data_limit."""
    from qmlrepro.errors import DataError
    from qmlrepro.stages import train

    _cost_dir(project)
    base = ["job=h", "model=hypernet/circuit", "paper=hypernet", "paper.task=mnist01"]
    with pytest.raises(DataError, match=r"enumerated with data_limit=200.*profile=default"):
        train([*base, "profile=default", "profile.seeds=[0]"])
    assert not (project / "results" / "metrics" / "h").exists()


def test_hypernet_train_resume_and_evaluate(project):
    from qmlrepro.stages import evaluate, train

    _cost_dir(project)
    common = ["profile=smoke", "paper=hypernet", "profile.seeds=[0]", "paper.task=mnist01"]
    out = train(["job=h", "model=hypernet/circuit", *common])
    first = json.loads(out.read_text())
    assert set(first["describe"]) >= {"n_qubits", "landscape_cost_min", "d1_parameters"}
    trained = JobResult.read(out).table().select(task="mnist01")
    assert trained.levels("depth") == [1, 2] and len(trained) == len(first["runs"][0]["records"])
    assert trained.levels("start") == [0, 1, 2]  # smoke: 3 random starts per depth, batched
    p_opt = trained.select("p_opt", depth=1)
    assert len(p_opt) == 3 and all(0 <= v <= 1 for v in p_opt.values("start").values())
    assert all(v >= 0 for v in trained.select("excess_cost", depth=2).values("start").values())
    for name in ("converged", "local_minimum", "hit_max_iter"):  # per start, 0 or 1
        assert {r.value for r in trained.select(name)} <= {0.0, 1.0}
    # smoke: 3 iterations, so no start converged and every one hit the cap
    assert {r.value for r in trained.select("hit_max_iter")} == {1.0}
    assert trained.select("seconds", depth=1).one() > 0  # per depth, all starts together
    # the random-initialisation control, per start: the circuit at its initial angles
    for depth in (1, 2):
        init = trained.select("excess_cost_init", depth=depth).values("start")
        final = trained.select("excess_cost", depth=depth).values("start")
        assert all(final[s] <= init[s] for s in init)  # L-BFGS only ever decreases <C>
    assert "p_opt/depth:1/start:0" in first["runs"][0]["metrics"]  # MLflow's flat names
    summary = summarize_records(JobResult.read(out), SUMMARY)  # DVC's (report stage)
    assert set(summary) == {"p_opt", "hit_within_budget"}  # headline names (claims.SUMMARY)
    # random starts are replicates like seeds: one entry per depth, over the 3 starts
    assert set(summary["p_opt"]) == {"depth:1/task:mnist01", "depth:2/task:mnist01"}
    assert summary["p_opt"]["depth:1/task:mnist01"]["n_seeds"] == 3
    # a rerun of the finished job trains afresh (a new run) to identical numbers, timings aside
    again = json.loads(train(["job=h", "model=hypernet/circuit", *common]).read_text())
    assert again["runs"][0]["mlflow_run_id"] != first["runs"][0]["mlflow_run_id"]
    assert [r for r in again["runs"][0]["records"] if r["name"] != "seconds"] == [
        r for r in first["runs"][0]["records"] if r["name"] != "seconds"
    ]
    # exact evaluation on the torch executor: every depth and start, the trained distribution's
    exact = JobResult.read(evaluate("h", "torch")).table()
    for depth in (1, 2):
        for start, value in trained.select("p_opt", depth=depth).values("start").items():
            assert exact.select("p_opt", depth=depth, start=start).one() == pytest.approx(
                value, abs=1e-12
            )
    shots = JobResult.read(evaluate("h", "aer_shots")).table()
    assert shots.levels("depth") == [1, 2] and not shots.levels("scale")  # no sweep
    assert shots.levels("start") == [0, 1, 2]
    assert 0 <= shots.select("p_opt", depth=2, start=1).one() <= 1
    assert shots.select("best_sample_excess_cost", depth=2, task="mnist01")
    noisy_file = evaluate("h", "aer_depolarizing")
    noisy = JobResult.read(noisy_file).table()
    # smoke: noise_scales [1.0], noise_shots 100, noise_depth 2: the sweep's dimensions
    assert noisy.levels("scale") == [1.0] and noisy.levels("depth") == [2]
    assert noisy.levels("shots") == [100]
    assert len(noisy.select(scale=1.0, depth=2)) == len(noisy)
    assert 0 <= noisy.select("p_opt", scale=1.0, depth=2, start=0).one() <= 1
    # a scale making a probability > 1 stops when its point composes, before any evaluation
    before = noisy_file.read_bytes()
    with pytest.raises(ConfigError, match="two_qubit x scale"):
        evaluate("h", "aer_depolarizing", ["paper.noise_scales=[1.0,400]"])
    assert noisy_file.read_bytes() == before

    annealing = JobResult.read(train(["job=a", "model=hypernet/annealing", *common])).table()
    hit = annealing.select("hit_within_budget", task="mnist01", budget=50, runs=1000)
    assert 0 <= hit.one() <= 1
    assert not annealing.select("budget") and not annealing.select("runs")  # dimensions now
    with pytest.raises(ConfigError, match=r"paper\.task"):
        train(
            [
                "job=x",
                "model=hypernet/circuit",
                "profile=smoke",
                "paper=hypernet",
                "paper.task=nope",
            ]
        )


@pytest.mark.parametrize("profile", ["smoke", "default", "paper"])
def test_noise_sweep_is_declared_in_config_one_point_per_scale(profile):
    """``evaluation.aer_depolarizing`` (conf/paper/hypernet.yaml) reads paper.noise_scales and
    paper.noise_depth: the stage evaluates once per scale, on that depth only; other backends
    have no sweep and run every depth."""
    from qmlrepro.config.compose import compose_config
    from qmlrepro.stages import config_hash, evaluation_setting, sweep_points

    base = ["job=x", "paper=hypernet", f"profile={profile}", "model=hypernet/circuit"]
    cfg = compose_config([*base, "backend=aer_depolarizing"])
    scales, depth = list(cfg.paper.noise_scales), cfg.paper.noise_depth
    assert len(cfg.paper.depths) > 1 and depth in cfg.paper.depths
    points = sweep_points(cfg, evaluation_setting(cfg, "aer_depolarizing"))
    shots = cfg.paper.noise_shots
    assert [point for _, point, _ in points] == [{"scale": s, "shots": shots} for s in scales]
    assert [label for label, _, _ in points] == [f"scale{s:g}/shots{shots}/" for s in scales]
    for _, point, overrides in points:
        point_cfg = compose_config([*base, "backend=aer_depolarizing", *overrides])
        assert point_cfg.backend.executor.scale == point["scale"]
        assert point_cfg.backend.executor.shots == shots
        assert list(point_cfg.paper.depths) == list(point_cfg.model.depths) == [depth]
    ideal = compose_config([*base, "backend=aer_shots"])
    assert sweep_points(ideal, evaluation_setting(ideal, "aer_shots")) == [("", {}, [])]
    # the declaration is evaluation-only: the train config hash does not see it
    train = compose_config(base)
    changed = compose_config([*base, "evaluation.aer_depolarizing.sweep.scale=[0.3]"])
    assert config_hash(changed) == config_hash(train)


def test_a_noise_scale_beyond_probability_one_is_refused_at_its_point(project):
    """0.00375 x 400 = 1.5: the point composed with ``backend.executor.scale=400`` fails the
    backend schema; the train stage composes every declared point before training too."""
    from qmlrepro.config.compose import compose_config
    from qmlrepro.stages import evaluation_setting, sweep_points, train

    base = [
        "job=x",
        "paper=hypernet",
        "profile=smoke",
        "model=hypernet/circuit",
        "paper.noise_scales=[0.5,400]",
        "backend=aer_depolarizing",
    ]
    cfg = compose_config(base)
    (_, _, fine), (label, _, too_large) = sweep_points(
        cfg, evaluation_setting(cfg, "aer_depolarizing")
    )
    compose_config([*base, *fine])
    assert label == "scale400/shots100/"
    with pytest.raises(ConfigError, match=r"two_qubit x scale = 1\.5"):
        compose_config([*base, *too_large])
    with pytest.raises(ConfigError, match=r"two_qubit x scale = 1\.5"):
        train(base[:-1])  # no cost table needed: refused before the experiment is built
    assert not (project / "results" / "metrics" / "x").exists()


def test_mnist37_smoke_training_logs_its_alphabet_choices(project):
    """The 3-vs-7 task's choice meanings ({0,1}, ...) are keys MLflow refuses as they are; the
    smoke training used to stop after depth 1. Every depth now finishes and is in MLflow."""
    from qmlrepro.stages import train
    from qmlrepro.tracking.keys import mlflow_key

    _cost_dir(project, ["mnist37"])
    common = ["profile=smoke", "paper=hypernet", "profile.seeds=[0]", "paper.task=mnist37"]
    record = json.loads(train(["job=h37", "model=hypernet/circuit", *common]).read_text())
    (run,) = record["runs"]
    alphabets = [
        r
        for r in run["records"]
        if r["name"] == "choice_probability" and r["dims"]["choice"] == "alphabet"
    ]
    # 2 depths x 3 starts x 4 alphabets
    assert {r["dims"]["depth"] for r in alphabets} == {1, 2} and len(alphabets) == 24
    assert {r["dims"]["option"] for r in alphabets} == {"{0,1}", "{-1,1}", "{-2,1}", "{-3,1}"}
    assert sum(r["value"] for r in alphabets) == pytest.approx(6.0)
    keys = [k for k in run["metrics"] if k.startswith("choice_probability/") and "alphabet" in k]
    assert len(keys) == 24
    logged = MlflowClient().get_run(run["mlflow_run_id"])
    assert logged.info.status == "FINISHED"
    assert all(logged.data.metrics[mlflow_key(f"final/{k}")] == run["metrics"][k] for k in keys)
