"""The qresnet report section gives typed verdicts from small synthetic results."""

import pytest

from qmlrepro.papers.qresnet.report import QresnetSection
from qmlrepro.report.claims import Status
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink

SIZES = (4, 16, 64, 256)


def _job(job: str, seeds: list[int], metrics) -> JobResult:
    runs = tuple({"seed": s, "metrics": metrics(s), "mlflow_run_id": f"{job}{s}"} for s in seeds)
    return JobResult(job, "train", "qresnet", "m", "torch", "default", runs, {"n_params": 10})


def _verify(seed: int) -> dict:
    m = {"primitive/cyclic_shift/n2": 1e-15, "primitive/convolution/c1_side2": 3e-14}
    for d, fidelity in ((1, 0.9), (5, 0.9995 + 1e-5 * seed)):
        for name, value in (("fidelity", fidelity), ("min_fidelity", fidelity), ("qubits", 13),
                            ("polynomial_error", 1e-3), ("success_probability", 0.1),
                            ("alpha", 3.0), ("seconds", 1.0)):  # fmt: skip
            m[f"block/d{d}/{name}"] = value
    for n in SIZES:
        for k in (1, 2):
            # queries ~ N^(k/2 +- 0.01 by seed), with a seed-dependent prefactor (seeds that
            # agree exactly would give an interval without width: no firm verdict)
            exponent = k / 2 + 0.01 * (seed - 1)
            values = {"degree": 5, "queries": (10 + seed) * n**exponent, "ancillas": 11 * k,
                      "success": 0.1, "fidelity": 1.0}  # fmt: skip
            for name, value in values.items():
                m[f"scaling/N{n}_k{k}/{name}"] = value
    return m


def _network(seed: int) -> dict:
    return {
        "test_accuracy": 0.7 + 0.01 * seed,
        "emulation/d9/label_agreement": 0.995 + 0.001 * seed,
    }


def _papers(seeds: list[int]) -> PaperResults:
    return PaperResults(
        "qresnet",
        {
            ("qresnet-verify", "train"): _job("qresnet-verify", seeds, _verify),
            ("qresnet-network", "train"): _job("qresnet-network", seeds, _network),
            ("qresnet-cnn", "train"): _job(
                "qresnet-cnn", seeds, lambda s: {"test_accuracy": 0.9 + 0.005 * s}
            ),
        },
    )


def _body(tmp_path, seeds):
    sink = PlotSink(tmp_path / "plots", tmp_path, "qresnet")
    return QresnetSection().body(_papers(seeds), sink)


def test_three_seeds_give_typed_verdicts(tmp_path):
    body = _body(tmp_path, [0, 1, 2])
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


def test_two_seeds_give_no_firm_verdict(tmp_path):
    body = _body(tmp_path, [0, 1])
    assert body.verdicts and not any(v.firm for v in body.verdicts)
    assert any(v.status is Status.TOO_FEW_SEEDS for v in body.verdicts)
