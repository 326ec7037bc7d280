"""Structure that keeps papers plug-ins: executors are injected objects, so no paper module looks
at the backend config or branches on a backend's name, and every committed train job keeps its
config hash (checkpoints stay valid) across refactors of the shared code."""

import json
import re

import pytest
import yaml

from qmlrepro.config.compose import compose_config
from qmlrepro.paths import project_root
from qmlrepro.stages import config_hash

PAPERS = project_root() / "src" / "qmlrepro" / "papers"
# What a paper would write to re-plumb a backend by hand (each was in a paper before issue 18).
FORBIDDEN = {
    r"backend\.name": "tests a backend's name",
    r"backend\.get\(\s*[\"']executor": "reads the backend's executor config",
    r"cfg\.backend\.executor": "reads the backend's executor config",
    r"backend\.shots": "reads the backend's shots (use executor.shots)",
    r"[\"']scale[\"']\s+in\b": "tests for an executor option",
    r"\bwith_shots\b|\bexact_backend\b|\bquantum_layer\b|\bTORCH_EXACT\b": "backend config helper",
    r"qmlrepro\.quantum\.(qiskit_executors|ibm_runtime)\b": "imports a Qiskit executor",
    r"backend\[": "reads the backend config",
    r"evaluation\.get\(": "looks a backend up in a table",
}


def test_no_paper_module_branches_on_the_backend():
    offences = []
    for path in sorted(PAPERS.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for pattern, why in FORBIDDEN.items():
                if re.search(pattern, line):
                    offences.append(f"{path.relative_to(PAPERS)}:{number}: {why}: {line.strip()}")
    assert not offences, "\n".join(offences)


def test_the_grep_catches_what_it_is_meant_to():
    lines = [
        'if cfg.backend.name == "aer_noise":',
        'sweeps = executor is not None and "scale" in executor',
        "from qmlrepro.quantum.qiskit_executors import AerShots",
        "backend = with_shots(backend, 100)",
        'shots = self.cfg.backend["shots"]',
        "import qmlrepro.quantum.qiskit_executors as q",
    ]
    for line in lines:
        assert any(re.search(p, line) for p in FORBIDDEN), line


def _committed_train_jobs() -> list[tuple[str, str, str]]:
    root = project_root()
    params = yaml.safe_load((root / "params.yaml").read_text())
    jobs = []
    for job, spec in params["train"].items():
        record = root / "results" / "metrics" / job / "train.json"
        if not record.is_file():
            continue
        recorded = json.loads(record.read_text())
        if recorded.get("profile") != params["profile"] or recorded.get("skipped"):
            continue
        overrides = f"job={job} profile={params['profile']} paper={spec['paper']} "
        jobs.append((job, overrides + spec["overrides"], recorded.get("config_hash")))
    return jobs


JOBS = _committed_train_jobs()


@pytest.mark.parametrize("job,overrides,recorded", JOBS, ids=[job for job, _, _ in JOBS])
def test_committed_train_jobs_keep_their_config_hash(job, overrides, recorded):
    """The hash evaluate checks a checkpoint against: a shared-code change that alters it makes
    every committed checkpoint unusable (evaluate refuses them) until retrained."""
    import shlex

    assert recorded, f"results/metrics/{job}/train.json records no config_hash: retrain it"
    assert config_hash(compose_config(shlex.split(overrides))) == recorded


def _job_names() -> set[str]:
    params = yaml.safe_load((project_root() / "params.yaml").read_text())
    return set(params["train"])


def _report_offences(path_text: dict[str, str], jobs: set[str]) -> list[str]:
    """Lines of paper modules that find results by a job's name, or parse metric names with a
    regular expression instead of selecting records by their dimensions (issue 19)."""
    offences = []
    quoted = re.compile(r"[\"']([A-Za-z0-9_.-]+)")
    for name, text in path_text.items():
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{name}:{number}: {line.strip()}"
            if re.match(r"\s*(import re\b|from re import)", line):
                offences.append(f"{where}: regex over metric names (use results.select)")
            if any(m in jobs for m in quoted.findall(line)) or re.search(
                r"\bresults\.get\(|f[\"'](qssl|contextual|hypernet|hqvit|qresnet|example)-", line
            ):
                offences.append(f"{where}: a job name (select by model/task/width instead)")
    return offences


def test_no_paper_module_looks_results_up_by_job_name_or_regex():
    modules = {str(p.relative_to(PAPERS)): p.read_text() for p in sorted(PAPERS.rglob("*.py"))}
    offences = _report_offences(modules, _job_names())
    assert not offences, "\n".join(offences)


def test_the_report_grep_catches_job_names_and_regexes():
    jobs = {"qssl-classical", "hqvit-mnist10-quantum"}
    caught = _report_offences(
        {
            "a.py": "import re\nfrom re import compile",
            "b.py": 'x = results.get("qssl-classical")\ny = f"eval-{b}"',
            "c.py": "ran(results.get('hqvit-mnist10-quantum', 'eval-aer_noise'))",
            "d.py": 'job = f"hypernet-{task}-circuit"\nok = results.select("p_opt", task=t)',
        },
        jobs,
    )
    assert len(caught) == 5 and "eval-{b}" not in "".join(caught) and "ok =" not in "".join(caught)


def test_every_curve_a_report_draws_is_declared_for_dvc_plots():
    """A section's curve (``plots.curves("<name>", ...)`` or a hand-made ``Series("<name>"``) is
    written to results/series/<paper>_<name>.csv; dvc.yaml must declare exactly those files, or
    `dvc plots show` misses a curve (or reports a file no report writes)."""
    drawn = set()
    for path in sorted(PAPERS.glob("*/report.py")):
        text = path.read_text()
        for name in re.findall(r"(?:\.curves|\bSeries)\(\s*\"([A-Za-z0-9_]+)\"", text):
            drawn.add(f"results/series/{path.parent.name}_{name}.csv")
    dvc = yaml.safe_load((project_root() / "dvc.yaml").read_text())
    declared = {next(iter(entry)) for entry in dvc["plots"]}
    assert drawn and drawn == declared
