"""contextual: the task's conditionals against direct statevector measurement statistics, and
the k-HRNN with ideal parameters reproducing the task exactly."""

import json
import math

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qmlrepro.data.sequence import (
    SequenceTaskSpec,
    hyperedges,
    hypergraph_states,
    rotate_to_bases,
    sample_split,
    teacher_forced_p_one,
    theta_blind_probabilities,
)
from qmlrepro.papers.contextual.circuit import IDEAL_BASIS_ANGLES, IDEAL_CELL_WEIGHTS, khrnn_spec
from qmlrepro.papers.contextual.claims import SUMMARY
from qmlrepro.papers.contextual.models import QuantumHRNN, bernoulli_kl
from qmlrepro.quantum.qiskit_executors import AerShots, AerStatevector
from qmlrepro.quantum.torch_executor import TorchStatevector
from qmlrepro.records import Record, Table
from qmlrepro.report.results import JobResult, summarize_records

TORCH64 = TorchStatevector(device="cpu", dtype="float64")
BASIS_GATES = {0: ("h",), 1: ("sdg", "h"), 2: ()}  # X, Y, Z: rotate the eigenbasis to Z


def _split(n: int, k: int, thetas: int = 3, per: int = 4, seed: int = 0, binary: bool = False):
    spec = SequenceTaskSpec(n, k, thetas, 1, per, theta_levels=2 if binary else None)
    g = torch.Generator().manual_seed(seed)
    draws = 2 * math.pi * torch.rand(thetas, math.comb(n, k), generator=g, dtype=torch.float64)
    if binary:  # theta_e in {0, pi}: standard hypergraph states
        draws = math.pi * torch.randint(0, 2, (thetas, math.comb(n, k)), generator=g).double()
    return sample_split(spec, draws, g)


def _qiskit_born(n: int, k: int, thetas: torch.Tensor, bases: torch.Tensor) -> np.ndarray:
    """Outcome probabilities of the hypergraph state measured in the named bases, built with
    Qiskit gates (H, MCPhase, Sdg) and its own Statevector: independent of the task code."""
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for theta, edge in zip(thetas.tolist(), hyperedges(n, k), strict=True):
        qc.mcp(theta, list(edge[:-1]), edge[-1]) if k > 1 else qc.p(theta, edge[0])
    for j in range(n):
        for gate in BASIS_GATES[int(bases[j])]:
            getattr(qc, gate)(j)
    return Statevector(qc).probabilities()


@pytest.mark.parametrize(("n", "k"), [(4, 2), (5, 3)])
def test_task_conditionals_match_direct_statevector_measurement(n, k):
    data = _split(n, k)
    for s in range(len(data["outcomes"])):
        born = _qiskit_born(n, k, data["thetas"][s], data["bases"][s])
        order, outcomes, p_one = data["order"][s], data["outcomes"][s], data["p_one"][s]
        # p(o_t = 1 | o_<t) from the Qiskit distribution, by marginalising and conditioning
        index = np.arange(2**n)
        alive = np.ones(2**n, dtype=bool)
        for t in range(n):
            bit = (index >> int(order[t])) & 1
            mass = born[alive].sum()
            expected = born[alive & (bit == 1)].sum() / mass
            assert p_one[t].item() == pytest.approx(expected, abs=1e-12)
            assert 0 <= p_one[t] <= 1  # and p(o_t = 0 | o_<t) = 1 - p_one: the two sum to 1
            alive &= bit == int(outcomes[t])
        # the sequence's probability is the product of its conditionals
        chain = torch.where(outcomes == 1, p_one, 1 - p_one).prod().item()
        assert chain == pytest.approx(born[alive].sum(), abs=1e-12)


def test_sampled_outcomes_follow_the_conditionals():
    data = _split(4, 2, thetas=1, per=4000, seed=3)
    # one theta, many sequences: first-step outcome frequency vs its exact probability per qubit
    first_qubit, first = data["order"][:, 0], data["outcomes"][:, 0].double()
    for q in range(4):
        picked = first_qubit == q
        assert first[picked].mean().item() == pytest.approx(
            data["p_one"][picked, 0].mean().item(), abs=4 / math.sqrt(picked.sum().item())
        )


@pytest.mark.parametrize(("n", "k", "binary"), [(4, 2, False), (6, 3, False), (5, 2, True),
                                               (4, 3, True)])  # fmt: skip
def test_khrnn_with_ideal_parameters_is_exact(n, k, binary):
    data = _split(n, k, thetas=8, binary=binary)
    model = QuantumHRNN(n, k, TORCH64).double()
    with torch.no_grad():
        model.circuit.weights.copy_(IDEAL_CELL_WEIGHTS)
        model.basis_angles.copy_(IDEAL_BASIS_ANGLES)
        p_model = model(data)
    kl = bernoulli_kl(data["p_one"], p_model)
    assert kl.max().item() < 1e-9
    torch.testing.assert_close(p_model, data["p_one"], atol=1e-9, rtol=0)


def test_khrnn_circuit_runs_on_aer_like_on_torch():
    n, k = 4, 2
    data = _split(n, k, thetas=1, per=3)
    spec = khrnn_spec(n, k)
    angles = IDEAL_BASIS_ANGLES[data["bases"]].reshape(3, -1)
    inputs = torch.cat([data["thetas"], angles], dim=1)
    aer = AerStatevector().values(spec, inputs.numpy(), IDEAL_CELL_WEIGHTS.numpy())
    p = teacher_forced_p_one(torch.as_tensor(aer), data["order"], data["outcomes"])
    torch.testing.assert_close(p, data["p_one"], atol=1e-9, rtol=0)


def test_contextual_sweep_trains_resumes_and_evaluates_the_circuit(project):
    from qmlrepro.config.compose import compose_config
    from qmlrepro.data.sequence import prepare_sequences
    from qmlrepro.errors import ConfigError
    from qmlrepro.experiment import RunContext
    from qmlrepro.papers.contextual.experiment import ContextualExperiment
    from qmlrepro.stages import evaluate, train

    # the smoke profile's tasks: binary n = 3, k = 2 (8 hypergraphs) and continuous n = 4, k = 2
    specs = [SequenceTaskSpec(3, 2, 6, 2, 4, theta_levels=2), SequenceTaskSpec(4, 2, 8, 4, 4)]
    prepare_sequences(project / "data" / "sequence", specs, seed=7)
    common = ["profile=smoke", "paper=contextual", "profile.seeds=[0]"]
    quantum = json.loads(
        train(["job=contextual-quantum", "model=contextual/quantum", *common]).read_text()
    )
    q = _table(quantum)
    # dims: the task (n, k, angles), model size d and its memory, learning rate and restart
    binary, continuous = (
        {"n": 3, "k": 2, "angles": "binary"},
        {"n": 4, "k": 2, "angles": "continuous"},
    )
    assert q.select("test_kl", **continuous, size=4, memory=4, lr=0.05, restart=0).one() >= 0
    assert q.select("val_kl", **binary, size=3, memory=3, lr=0.01, restart=3)
    assert q.levels("restart") == [0, 1, 2, 3] and q.levels("lr") == [0.01, 0.05]
    assert not q.select("memory") and not q.select("lr")  # dimensions, not values
    assert set(q.select("converged").levels("n")) == {3, 4}  # every run says if it converged
    assert quantum["describe"]["n4_k2/d4/parameters"] == 2 + 9

    gru = json.loads(train(["job=contextual-gru", "model=contextual/gru", *common]).read_text())
    g = _table(gru)
    assert g.select("test_kl", **continuous, size=2, memory=2, lr=0.003, restart=0)
    assert g.select("train_kl", **binary, size=4, lr=0.01)
    assert g.levels("restart") == [0]
    # a rerun of the finished job trains afresh (a new run) to identical numbers, timings aside
    again = json.loads(train(["job=contextual-gru", "model=contextual/gru", *common]).read_text())
    assert again["runs"][0]["mlflow_run_id"] != gru["runs"][0]["mlflow_run_id"]
    assert _untimed(again) == _untimed(gru)
    floor = g.select("blind_kl", **continuous).one()
    assert floor == q.select("blind_kl", **continuous).one() > 0  # same test split, same floor
    with pytest.raises(ConfigError, match="is classical"):
        evaluate("contextual-gru", "aer_statevector")
    # the m-bit bottleneck: m = C - j bits for j in sweep.bits_below_edges (C = 3 here)
    job = ["job=contextual-bottleneck", "model=contextual/bottleneck", *common]
    bottleneck = _table(json.loads(train(job).read_text()))
    # trained on the population of all 2^3 hypergraphs: a population KL, no held-out split
    assert bottleneck.select("population_kl", **binary).levels("memory") == [3]
    assert bottleneck.select("steps", **binary, lr=0.003).one() == 20
    assert not bottleneck.select("val_kl")
    assert not bottleneck.select("population_kl", **continuous)  # binary tasks only
    # the k-HRNN's barren-plateau diagnostic: one gradient variance per task
    assert q.select("gradient_variance", **binary).one() > 0
    # the probe: bounds for every m on the binary task only, one seed
    probe = _table(json.loads(train(["job=contextual-probe", "model=contextual/probe", *common])
                              .read_text()))  # fmt: skip
    assert probe.select("kl_lower", **binary).levels("memory") == [0, 1, 2, 3]
    assert not probe.select("kl_lower", **continuous)
    assert probe.select("kl_upper", **binary, memory=3).one() == 0.0
    assert probe.select("kl_lower", **binary, memory=0).one() == pytest.approx(
        probe.select("kl_upper", **binary, memory=0).one()
    )
    with pytest.raises(ConfigError, match="no circuit"):
        evaluate("contextual-probe", "aer_statevector")

    # the trained k-HRNN through Aer: exactly the torch numbers without shots, close with them
    exact = _table(json.loads(evaluate("contextual-quantum", "aer_statevector").read_text()))
    for task in (binary, continuous):
        # Aer's statevector vs the exact float64 torch reference (exact_kl) on the same weights
        on_aer = exact.select("test_kl", **task).one()
        assert on_aer == pytest.approx(exact.select("exact_kl", **task).one(), abs=1e-6)
        # evaluated: the try (lr, restart) with the lowest validation KL, 2 lrs x 4 restarts
        tries = q.select("val_kl", **task).records
        assert len(tries) == 8
        best = min(tries, key=lambda r: r.value).dims
        chosen = q.select("test_kl", **task, lr=best["lr"], restart=best["restart"]).one()
        assert exact.select("exact_kl", **task).one() == pytest.approx(chosen)
    shots_path = evaluate("contextual-quantum", "aer_shots")
    shots = _table(json.loads(shots_path.read_text()))
    for task in (binary, continuous):
        assert shots.select("test_kl", **task).one() != exact.select("test_kl", **task).one()
    assert (
        shots.select("test_kl", **continuous).one()
        < exact.select("test_kl", **continuous).one() + 0.1
    )
    # the smoke profile declares no sweep: aer_shots' own shot count, no shots dimension
    assert shots.select("shots").one() == 1000 and exact.select("shots").one() == 0
    assert not shots.levels("shots")
    # DVC's summary of the evaluation: the circuit's KLs per task, clipped at 0
    summary = summarize_records(JobResult.read(shots_path), SUMMARY)
    key = "angles:continuous/k:2/n:4"
    assert set(summary) == {"test_kl"} and key in summary["test_kl"]
    assert summary["test_kl"][key]["n_seeds"] == 1 and "std" not in summary["test_kl"][key]

    # the experiment reads shots from its executor and the input cap from the context
    cfg = compose_config(["job=contextual-quantum", "model=contextual/quantum", *common])
    ckpt = project / "results" / "checkpoints" / "contextual-quantum" / "seed0.pt"
    ctx = RunContext(0, None, ckpt, torch.device("cpu"), executor=AerShots(shots=200, seed=3),
                     reference=TORCH64, eval_inputs=2)  # fmt: skip
    capped = Table(ContextualExperiment(cfg).evaluate(ctx))
    assert capped.select("shots").one() == 200
    assert (
        capped.select("test_kl", **continuous).one() != shots.select("test_kl", **continuous).one()
    )
    # on 2 sequences, not all
    assert (
        capped.select("exact_kl", **continuous).one()
        != exact.select("exact_kl", **continuous).one()
    )

    # the report section reads all of it: probe, trainability, achievability, continuous and
    # circuit tables, the probe plot, a verdict per claim
    from qmlrepro.papers.contextual.report import ContextualSection
    from qmlrepro.report.section import PlotSink
    from qmlrepro.report.writer import collect

    stages = [("train", None), ("evaluate", "aer_statevector"), ("evaluate", "aer_shots")]
    jobs = {"contextual-quantum": {"stages": stages}}
    jobs |= {f"contextual-{m}": {"stages": stages[:1]} for m in ("gru", "bottleneck", "probe")}
    papers, _ = collect(project / "results", jobs)
    sink = PlotSink(project / "plots", project, "contextual")
    body = ContextualSection().body(papers["contextual"], sink)
    assert "### Exact memory probe" in body.markdown and "| 3 | 2 | 3 |" in body.markdown
    assert "runs succeeding" in body.markdown and "population KL" in body.markdown
    assert "| Aer statevector | Aer shots (1,000 shots) |" in body.markdown and sink.written
    assert body.verdicts and not body.verdict  # typed: one verdict per claim and task
    (series,) = sink.series
    assert series.name == "probe_bounds" and "lower n=3 k=2" in series.points


def _untimed(written: dict) -> list[dict]:
    """The first seed's records minus wall-clock timings, the one thing a rerun may change."""
    return [r for r in written["runs"][0]["records"] if r["name"] != "seconds"]


def _table(written: dict) -> Table:
    """The first seed's records of a stage's metrics file, as a table."""
    return Table(Record.from_json(raw) for raw in written["runs"][0]["records"])


def test_default_profile_evaluates_every_backend_with_shots_at_eval_shots():
    """The evaluation node interpolates paper.eval_shots (the sweep the experiment used to apply
    itself), for every backend with shots and no other; it stays out of the train hash."""
    from qmlrepro.config.compose import compose_config
    from qmlrepro.stages import config_hash, evaluation_setting, sweep_points

    base = ["paper=contextual", "model=contextual/quantum", "profile=default"]
    for backend in ("aer_shots", "aer_noise", "aer_depolarizing", "torch_shots"):
        cfg = compose_config([*base, f"backend={backend}"])
        points = sweep_points(cfg, evaluation_setting(cfg, backend))
        assert points == [("shots4000/", {"shots": 4000}, ["backend.shots=4000"])], backend
    cfg = compose_config([*base, "backend=aer_statevector"])
    assert sweep_points(cfg, evaluation_setting(cfg, "aer_statevector")) == [("", {}, [])]
    smoke = compose_config([*base[:2], "profile=smoke", "backend=aer_shots"])
    assert evaluation_setting(smoke, "aer_shots")["sweep"] == {}
    moved = compose_config([*base, "paper.eval_shots=100"])
    assert moved.evaluation.aer_noise.sweep.shots == [100]
    assert config_hash(moved) != config_hash(compose_config(base))  # eval_shots is hashed


def test_report_reads_evaluations_with_and_without_a_sweep_prefix():
    from qmlrepro.papers.contextual.report import ContextualSection, sweep_points
    from qmlrepro.report.results import JobResult, PaperResults

    def point(kl, count, **sweep):
        values = {"test_kl": kl, "exact_kl": 0.01, "seconds": 2.0}
        task = {"n": 4, "k": 2, "angles": "continuous"}
        records = [Record(m, v, {**task, **sweep}) for m, v in values.items()]
        return [*records, Record("shots", count, sweep)]

    def result(backend, records):
        run = {"seed": 0, "metrics": {}, "mlflow_run_id": "r",
               "records": [r.to_json() for r in records]}  # fmt: skip
        return JobResult("contextual-quantum", "evaluate", "contextual", "contextual/quantum",
                         backend, "default", (run,), {})  # fmt: skip

    # one run, two sweep points (the stage adds each point's shots as a dimension), and an
    # unswept backend (its shot count a record without dimensions)
    swept = result("aer_shots", [*point(0.05, 4000.0, shots=4000), *point(0.2, 500.0, shots=500)])
    assert [(p, shots) for p, _, shots in sweep_points(swept.table())] == [
        ((("shots", 500),), 500),
        ((("shots", 4000),), 4000),
    ]
    exact = result("aer_statevector", point(0.01, 0.0))
    assert [(p, shots) for p, _, shots in sweep_points(exact.table())] == [((), 0)]
    jobs = {("contextual-quantum", "eval-aer_shots"): swept,
            ("contextual-quantum", "eval-aer_statevector"): exact}  # fmt: skip
    tasks = [(4, 2, "continuous")]
    table = "\n".join(ContextualSection._circuit_table(PaperResults("contextual", jobs), tasks))
    assert "| Aer statevector | Aer shots (500 shots) | Aer shots (4,000 shots) |" in table
    assert "| 4 | 2 | continuous | 0.0100 | 0.0100 (2 s) | 0.2000 (2 s) | 0.0500 (2 s) |" in table


@pytest.mark.parametrize(("n", "k", "levels"), [(3, 2, 4), (4, 3, 4), (5, 2, 2), (4, 4, 3)])
def test_theta_blind_distribution_is_the_average_over_all_angles(n, k, levels):
    """Exact average over every angle vector with L levels (the closed form holds for any
    L >= 2; L = 2: every standard hypergraph state), and the blind conditionals are proper
    probabilities."""
    grid = torch.cartesian_prod(*[torch.arange(float(levels))] * math.comb(n, k)).reshape(
        -1, math.comb(n, k)
    )
    thetas = 2 * math.pi * grid.double() / levels
    bases = torch.randint(0, 3, (5, n), generator=torch.Generator().manual_seed(1))
    expected = torch.stack(
        [
            (
                rotate_to_bases(hypergraph_states(thetas, n, k), b.expand(len(thetas), n), n).abs()
                ** 2
            ).mean(0)
            for b in bases
        ]
    )
    blind = theta_blind_probabilities(bases, n, k)
    torch.testing.assert_close(blind, expected, atol=1e-12, rtol=0)
    order = torch.argsort(torch.rand(5, n), dim=1)
    p = teacher_forced_p_one(blind, order, torch.randint(0, 2, (5, n)))
    assert ((p >= 0) & (p <= 1)).all()


def test_theta_blind_probabilities_stay_small_at_n12_k3():
    """The closed form holds O(S 2^n) per chunk: n = 12, k = 3 once needed 16.9 GB per chunk."""
    bases = torch.randint(0, 3, (3, 12), generator=torch.Generator().manual_seed(0))
    blind = theta_blind_probabilities(bases, 12, 3)
    assert blind.shape == (3, 4096) and torch.allclose(
        blind.sum(1), torch.ones(3, dtype=blind.dtype)
    )
    # all-Z bases: the weight < 3 states share one class (|v><v| / 2^n on the diagonal: 2^-n each)
    z = theta_blind_probabilities(torch.full((1, 12), 2), 12, 3)
    torch.testing.assert_close(z, torch.full_like(z, 2.0**-12), atol=1e-15, rtol=0)


def test_smoothed_conditionals_give_one_half_where_no_mass_is_left():
    probs = torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)  # always 00
    order, outcomes = torch.tensor([[0, 1]]), torch.tensor([[1, 0]])  # condition on unseen o=1
    p = teacher_forced_p_one(probs, order, outcomes, pseudo=0.5 / 100)
    assert p[0, 0] == pytest.approx(0.005 / 1.01) and p[0, 1] == pytest.approx(0.5)


def test_report_picks_the_try_on_validation():
    from qmlrepro.papers.contextual.report import best_tries
    from qmlrepro.report.results import JobResult

    def point(size, lr, val, test):
        dims = {"n": 4, "k": 2, "angles": "binary", "size": size, "memory": 2 * size, "lr": lr,
                "restart": 0}  # fmt: skip
        return [Record("val_kl", val, dims).to_json(), Record("test_kl", test, dims).to_json()]

    records = [*point(4, 0.01, 0.2, 0.05), *point(4, 0.003, 0.1, 0.5), *point(8, 0.01, 0.1, 0.005)]
    result = JobResult("j", "train", "contextual", "m", "torch", "smoke", ({"seed": 0,
        "metrics": {}, "mlflow_run_id": "x", "records": records},), {})  # fmt: skip
    best = best_tries(result.table()).select("test_kl", n=4, k=2, angles="binary", seed=0)
    at4, at8 = best.select(size=4), best.select(size=8)
    # lr 0.003 wins on validation although its test KL is worse
    assert (at4.levels("memory"), at4.one()) == ([8], 0.5)
    assert (at8.levels("memory"), at8.one()) == ([16], 0.005)
