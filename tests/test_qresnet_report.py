"""The qresnet report section gives typed verdicts from small synthetic records."""

import pytest

from qmlrepro.papers.qresnet.report import QresnetSection
from qmlrepro.records import Record
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

SIZES = (4, 16, 64, 256)


def _job(job: str, model: str, seeds: list[int], records, n_params: int = 10) -> JobResult:
    runs = tuple(
        {
            "seed": s,
            "metrics": {},
            "mlflow_run_id": f"{job}{s}",
            "records": [r.to_json() for r in records(s)],
        }
        for s in seeds
    )
    return JobResult(
        job, "train", "qresnet", model, "torch", "default", runs, {"n_params": n_params}
    )


def _verify(seed: int) -> list[Record]:
    out = [
        Record("max_error", 1e-15, {"study": "primitive", "primitive": "cyclic_shift", "n": 2}),
        Record(
            "max_error",
            3e-14,
            {"study": "primitive", "primitive": "convolution", "channels": 1, "side": 2},
        ),
    ]
    for d, fidelity in ((1, 0.9), (5, 0.9995 + 1e-5 * seed)):
        for name, value in (("fidelity", fidelity), ("min_fidelity", fidelity), ("qubits", 13),
                            ("polynomial_error", 1e-3), ("success_probability", 0.1),
                            ("alpha", 3.0), ("seconds", 1.0)):  # fmt: skip
            out.append(Record(name, value, {"study": "block", "degree": d}))
    for n in SIZES:
        for k in (1, 2):
            # queries ~ N^(k/2 +- 0.01 by seed), with a seed-dependent prefactor (seeds that
            # agree exactly would give an interval without width: no firm verdict)
            exponent = k / 2 + 0.01 * (seed - 1)
            values = {"degree": 5, "queries": (10 + seed) * n**exponent, "ancillas": 11 * k,
                      "success": 0.1, "fidelity": 1.0}  # fmt: skip
            for name, value in values.items():
                out.append(Record(name, value, {"study": "scaling", "N": n, "blocks": k}))
    return out


def _network(seed: int) -> list[Record]:
    q = {"architecture": "qresnet"}
    return [
        Record("accuracy", 0.7 + 0.01 * seed, {**q, "inference": "classical"}),
        Record(
            "label_agreement", 0.995 + 0.001 * seed, {**q, "inference": "coherent", "degree": 9}
        ),
        Record("accuracy", 0.69, {**q, "inference": "coherent", "degree": 9}),
        Record("l2_distance", 0.01, {**q, "inference": "coherent", "degree": 9}),
        Record("label_agreement", 0.9, {**q, "inference": "sampled", "shots": 1000}),
        Record("accuracy", 0.68, {**q, "inference": "sampled", "shots": 1000}),
        Record("linearity_gap", 0.004, {**q, "block": 0}),
        Record("max_abs_preactivation", 0.3, {**q, "block": 0}),
        Record("accuracy", 0.7, {**q, "inference": "linearised"}),
        Record("label_agreement", 0.99, {**q, "inference": "linearised"}),
        Record("n_test", 64.0, q),
    ]


def _cnn(seed: int) -> list[Record]:
    return [
        Record("accuracy", 0.9 + 0.005 * seed, {"architecture": "cnn", "inference": "classical"})
    ]


def _papers(seeds: list[int]) -> PaperResults:
    return PaperResults(
        "qresnet",
        {
            ("qresnet-verify", "train"): _job("qresnet-verify", "qresnet/verify", seeds, _verify),
            ("qresnet-network", "train"): _job(
                "qresnet-network", "qresnet/network", seeds, _network, 288
            ),
            ("qresnet-cnn", "train"): _job("qresnet-cnn", "qresnet/cnn", seeds, _cnn, 356),
        },
    )


def _section(tmp_path, seeds):
    sink = PlotSink(tmp_path / "plots", tmp_path, "qresnet")
    return QresnetSection().body(_papers(seeds), sink), sink


def test_three_seeds_give_typed_verdicts(tmp_path):
    body, _ = _section(tmp_path, [0, 1, 2])
    assert body.verdict == "" and all(len(v.claim) <= 90 for v in body.verdicts)
    status = {v.claim: v.status for v in body.verdicts}
    assert status["gate-level primitives (shifts, convolution, diagonal, LCU) equal their blocks"] \
        is Status.BY_CONSTRUCTION  # fmt: skip
    assert status["one residual block at gate level: every input's fidelity >= 0.999 (degree 5)"] \
        is Status.REPRODUCED  # fmt: skip
    assert any(s is Status.NOT_TESTABLE for s in status.values())  # QRAM regimes
    slopes = [v for v in body.verdicts if v.claim.startswith("our construction's queries")]
    assert [v.estimate for v in slopes] == [pytest.approx(0.5), pytest.approx(1.0)]
    assert all(v.status is Status.REPRODUCED and v.n == 3 for v in slopes)
    assert "not a number of the paper" in slopes[0].reason
    (emulation,) = [v for v in body.verdicts if v.claim.startswith("coherent emulation")]
    assert emulation.status is Status.REPRODUCED and emulation.estimate == pytest.approx(99.6)
    assert "paired t" in body.markdown  # the CNN gap, not a claim of the paper


def test_tables_read_the_records(tmp_path):
    body, _ = _section(tmp_path, [0, 1, 2])
    md = body.markdown
    assert "| cyclic shift | n2 | 1.0e-15 |" in md and "| convolution | c1_side2 | 3.0e-14 |" in md
    assert "| QResNet (erf blocks, pooled-square) | 288 | 71.0 ± 1.0 |" in md
    assert "| matched CNN | 356 | 90.5 ± 0.5 |" in md
    assert "| 9 | 99.6 ± 0.1 | 0.0100 ± 0.0000 | 69.0 ± 0.0 |" in md
    assert "| 1,000 | 90.0 ± 0.0 | 68.0 ± 0.0 |" in md
    assert "- block0: " in md and "accuracy 70.0 ± 0.0%, label agreement 99.0 ± 0.0%" in md
    assert "from degree 5 on" in md and "| 256 | 2 | 5 |" in md


def test_the_section_writes_its_series(tmp_path):
    _, sink = _section(tmp_path, [0, 1, 2])
    series = {s.name: s for s in sink.series}
    assert set(series) == {"fidelity_vs_degree", "queries_vs_size"}
    fidelity = series["fidelity_vs_degree"]
    assert (fidelity.x, fidelity.y) == ("degree", "fidelity")
    assert [x for x, _ in fidelity.points["mean over inputs (gate level)"]] == [1, 5]
    assert fidelity.points["mean over inputs (gate level)"][0][1].estimate == pytest.approx(0.9)
    queries = series["queries_vs_size"]
    assert (queries.x, queries.y) == ("N", "queries")
    assert list(queries.points) == ["k = 1", "k = 2"]  # one line per number of blocks
    assert [x for x, _ in queries.points["k = 2"]] == list(SIZES)
    assert queries.points["k = 1"][0][1].n == 3
    assert queries.csv().splitlines()[0] == "N,line,queries,ci_low,ci_high,n_seeds"
    assert (tmp_path / "plots" / "qresnet_queries_vs_size.png").is_file()


def test_two_seeds_give_no_firm_verdict(tmp_path):
    body, _ = _section(tmp_path, [0, 1])
    assert body.verdicts and not any(v.firm for v in body.verdicts)
    assert any(v.status is Status.TOO_FEW_SEEDS for v in body.verdicts)


def test_nothing_run(tmp_path):
    sink = PlotSink(tmp_path / "plots", tmp_path, "qresnet")
    body = QresnetSection().body(PaperResults("qresnet", {}), sink)
    assert body.markdown == "No qresnet stage has run."
    assert [v.status for v in body.verdicts] == [Status.NOT_TESTABLE] and not sink.series
