"""Bad input through the command-line entry points: each case stops with exit status 2 and one
``error:`` line naming the problem (no traceback), and the outputs of earlier runs stay as they
were. The stage scripts run in-process (runpy) against one scratch project with two finished
jobs: an example MLP and a contextual k-HRNN (4 qubits)."""

import errno
import hashlib
import json
import os
import runpy
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from qmlrepro.data.gaussian import prepare_gaussian
from qmlrepro.errors import QmlreproError
from qmlrepro.stages import staged_checkpoint, train

from .conftest import CONTEXTUAL_SMOKE, REPO, prepare_contextual_smoke

EXAMPLE = ["paper=example", "model=example/mlp", "profile=smoke"]


@dataclass
class Case:
    script: str
    args: list[str]
    expected: str
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def _corrupt_checkpoint(root: Path, _mp) -> None:
    ckpt = staged_checkpoint(root / "results" / "checkpoints" / "broken", 0)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(b"\x80\x02 truncated by a crash")


def _corrupt_gaussian(root: Path, _mp) -> None:
    copy = root / "data" / "gaussian_corrupt"
    if not copy.exists():
        prepare_gaussian(copy, 600, 400, seed=3)
        bundle = next(p for p in copy.iterdir() if p.suffix in (".pt", ".safetensors", ".npz"))
        bundle.write_bytes(bundle.read_bytes()[:-7] + b"garbage")


def _corrupt_manifest(root: Path, _mp) -> None:
    copy = root / "data" / "gaussian_badjson"
    if not copy.exists():
        prepare_gaussian(copy, 600, 400, seed=3)
        next(copy.glob("*.json")).write_text("{ not json")


def _fake_mnist(root: Path, mp: pytest.MonkeyPatch, corrupt: bool) -> None:
    raw = root / ("mnist_corrupt" if corrupt else "mnist_partial") / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
    if corrupt:
        names += ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    for name in names:
        (raw / name).write_bytes(b"\x00\x00\x08\x03 not the official file")
    mp.setenv("QMLREPRO_DATA_ROOT", str(raw.parents[1]))


def _results_under_a_file(root: Path, _mp) -> None:
    (root / "a_file").write_text("not a folder")


def _corrupt_train_json(root: Path, _mp) -> None:
    bad = root / "results" / "metrics" / "halfwritten" / "train.json"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"job": "halfwritten", "runs": [')
    overrides = root / "results" / "checkpoints" / "halfwritten" / "overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text('{"overrides": ["job=halfwritten", "paper=example"]}')


def _no_ibm_account(_root: Path, mp: pytest.MonkeyPatch) -> None:
    from qiskit_ibm_runtime import QiskitRuntimeService

    mp.delenv("QISKIT_IBM_TOKEN", raising=False)
    mp.setattr(QiskitRuntimeService, "saved_accounts", staticmethod(lambda *a, **k: {}))


def _idx_mnist(root: Path, mp: pytest.MonkeyPatch, name: str, image_header: bytes) -> None:
    """An offline MNIST root whose image files start with ``image_header`` (labels well-formed)."""
    raw = root / name / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split in ("train", "t10k"):
        (raw / f"{split}-images-idx3-ubyte").write_bytes(image_header + bytes(2 * 28 * 28))
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(
            (0x801).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(2)
        )
    mp.setenv("QMLREPRO_DATA_ROOT", str(raw.parents[1]))


def _idx_header(magic: int, *dims: int) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in (magic, *dims))


def _rewritten_manifest(name: str, edit: Callable[[dict], None]) -> Callable[[Path, object], None]:
    """Setup: a prepared gaussian copy in data/<name> whose manifest ``edit`` changed."""

    def setup(root: Path, _mp) -> None:
        copy = root / "data" / name
        if not copy.exists():
            prepare_gaussian(copy, 600, 400, seed=3)
            manifest = copy / "manifest.json"
            payload = json.loads(manifest.read_text())
            edit(payload)
            manifest.write_text(json.dumps(payload))

    return setup


def _escape_bundle_folder(manifest: dict) -> None:
    for entry in manifest["bundles"].values():
        entry["file"] = f"../gaussian/{entry['file']}"


def _metrics_without_numbers(root: Path, _mp) -> None:
    """A finished-looking job whose train.json holds a metric that is not a number."""
    good = json.loads((root / "results" / "metrics" / "good" / "train.json").read_text())
    good["job"] = "norecord"
    good["runs"][0]["metrics"]["test_accuracy"] = "high"
    bad = root / "results" / "metrics" / "norecord" / "train.json"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text(json.dumps(good))
    saved = root / "results" / "checkpoints" / "norecord" / "overrides.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({"overrides": ["job=norecord", *EXAMPLE]}))


def _job_record(root: Path, job: str, text: str) -> None:
    saved = root / "results" / "checkpoints" / job / "overrides.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(text)


def _file_at(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not a folder")


def _disk_full_for(prefix: str, error: int | None = None) -> Callable[[Path, object], None]:
    """Setup: temporary files named ``.<prefix>*`` (the atomic writers' own) go to /dev/full, so
    writing them fails with the kernel's real ENOSPC; or, given ``error``, creating them raises
    that errno (EROFS cannot be had without a read-only mount)."""

    def setup(_root: Path, mp: pytest.MonkeyPatch) -> None:
        real = tempfile.mkstemp

        def mkstemp(*args, **kwargs):
            if not str(kwargs.get("prefix", "")).startswith(f".{prefix}"):
                return real(*args, **kwargs)
            if error is not None:
                raise OSError(error, os.strerror(error), str(kwargs.get("dir")))
            return os.open("/dev/full", os.O_WRONLY), str(Path(kwargs["dir"]) / "never-created")

        mp.setattr(tempfile, "mkstemp", mkstemp)

    return setup


CASES = {
    # configuration: groups, types, ranges, syntax
    "unknown group option": Case(
        "train.py",
        ["job=x", "model=example/nope"],
        "unknown option model=example/nope; choose one of",
    ),
    "unknown profile": Case("train.py", ["job=x", "profile=huge"], "unknown option profile=huge"),
    "unknown paper": Case("train.py", ["job=x", "paper=qgan"], "unknown option paper=qgan"),
    "unknown backend": Case("train.py", ["job=x", "backend=ionq"], "unknown option backend=ionq"),
    "wrong type": Case(
        "train.py", ["job=x", *EXAMPLE, "paper.steps=many"], "could not be converted to Integer"
    ),
    "negative dataset size": Case(
        "train.py",
        ["job=x", *EXAMPLE, "dataset.n_train=-5"],
        "dataset.n_train=-5 must be a positive integer",
    ),
    "zero batch size": Case(
        "train.py",
        ["job=x", *EXAMPLE, "paper.batch_size=0"],
        "batch_size=0 must be a positive integer",
    ),
    "negative learning rate": Case(
        "train.py",
        ["job=x", *EXAMPLE, "paper.lr=-0.1"],
        "paper.lr=-0.1 must be a finite number > 0",
    ),
    "unknown key": Case(
        "train.py", ["job=x", *EXAMPLE, "paper.epochz=3"], "Could not override 'paper.epochz'"
    ),
    "override without a value": Case(
        "train.py", ["job=x", "paper.steps"], "Error parsing override 'paper.steps'"
    ),
    "negative seed": Case(
        "train.py", ["job=x", *EXAMPLE, "seed=-1"], "seed=-1 must be a non-negative integer"
    ),
    "repeated profile seeds": Case(
        "train.py", ["job=x", *EXAMPLE, "profile.seeds=[2,2]"], "must be distinct"
    ),
    "zero torch threads": Case(
        "train.py",
        ["job=x", *EXAMPLE, "torch_threads=0"],
        "torch_threads=0 must be a positive integer",
    ),
    "unknown device": Case(
        "train.py",
        ["job=x", *EXAMPLE, "backend.device=tpu"],
        "backend.device=tpu is not one of auto, cpu, cuda",
    ),
    "unknown dtype": Case(
        "train.py",
        ["job=x", *EXAMPLE, "backend.dtype=float16"],
        "backend.dtype=float16 is not one of",
    ),
    "zero shots": Case(
        "train.py",
        ["job=x", *EXAMPLE, "backend=torch_shots", "backend.shots=0"],
        "backend.shots=0 must be a positive integer",
    ),
    "no job name": Case("train.py", EXAMPLE, "no job name; pass job=<name>"),
    "task wider than its qubits": Case(
        "prepare_sequence.py", ["dataset.tasks=[{n:3,k:5}]"], "needs 1 <= k <= n <= 16"
    ),
    # backends and hardware
    "unknown fake backend": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_noise", "backend.executor.noise_backend=fake_nowhere"],
        "unknown fake backend 'fake_nowhere'",
    ),
    "unknown local IBM device": Case(
        "evaluate.py",
        ["job=cq", "backend=ibm_runtime_local", "backend.executor.device=fake_mars"],
        "unknown fake backend 'fake_mars'",
    ),
    "circuit wider than the backend": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_noise", "backend.executor.noise_backend=fake_armonk"],
        "needs 4 qubits but backend fake_armonk has 1",
    ),
    "missing IBM credentials": Case(
        "evaluate.py",
        ["job=cq", "backend=ibm_runtime"],
        "backend ibm_runtime needs IBM Quantum credentials",
        setup=_no_ibm_account,
    ),
    "evaluate on an unknown backend": Case(
        "evaluate.py", ["job=good", "backend=nonsense"], "unknown option backend=nonsense"
    ),
    # stages and their files
    "evaluate without job": Case(
        "evaluate.py",
        ["backend=torch"],
        "evaluate needs job=<train job> and backend=<backend option>",
    ),
    "evaluate a job never trained": Case(
        "evaluate.py", ["job=ghost", "backend=torch"], "job 'ghost' has no trained checkpoints"
    ),
    "corrupt train metrics": Case(
        "evaluate.py",
        ["job=halfwritten", "backend=torch"],
        "is unreadable (JSONDecodeError",
        setup=_corrupt_train_json,
    ),
    "corrupt checkpoint": Case(
        "train.py",
        ["job=broken", *EXAMPLE, "profile.seeds=[0]"],
        "is unreadable (UnpicklingError); delete it to start over",
        setup=_corrupt_checkpoint,
    ),
    "data not prepared": Case(
        "train.py", ["job=x", *EXAMPLE, "dataset.processed_dir=data/nowhere"], "no prepared data at"
    ),
    "corrupt prepared data": Case(
        "train.py",
        ["job=x", *EXAMPLE, "dataset.processed_dir=data/gaussian_corrupt"],
        "fails its SHA-256 check",
        setup=_corrupt_gaussian,
    ),
    "corrupt data manifest": Case(
        "train.py",
        ["job=x", *EXAMPLE, "dataset.processed_dir=data/gaussian_badjson"],
        "is not valid JSON",
        setup=_corrupt_manifest,
    ),
    "missing MNIST files": Case(
        "prepare_mnist.py",
        [],
        "(2 of 4 IDX files missing)",
        setup=lambda r, mp: _fake_mnist(r, mp, False),
    ),
    "corrupt MNIST files": Case(
        "prepare_mnist.py",
        [],
        "(corrupt or not the official MNIST)",
        setup=lambda r, mp: _fake_mnist(r, mp, True),
    ),
    "results dir not writable": Case(
        "train.py",
        ["job=x", *EXAMPLE, "results_dir=a_file/results"],
        "results_dir=",
        setup=_results_under_a_file,
    ),
    "tracking store not writable": Case(
        "train.py",
        ["job=x", *EXAMPLE, "tracking.uri=sqlite:///a_file/mlflow.db"],
        "cannot open MLflow run",
        setup=_results_under_a_file,
    ),
    "negative hardware retry count": Case(
        "evaluate.py",
        ["job=cq", "backend=ibm_runtime_local", "backend.executor.max_retries=-1"],
        "backend.executor.max_retries=-1 must be >= 0",
    ),
    "negative hardware lookup retry count": Case(
        "evaluate.py",
        ["job=cq", "backend=ibm_runtime_local", "backend.executor.lookup_retries=-2"],
        "backend.executor.lookup_retries=-2 must be >= 0",
    ),
    "unknown paper for a reproduce target": Case(
        "stage_targets.py", ["qgan"], "no job of paper 'qgan' in params.yaml"
    ),
    # issue 17 item 9: every config value in range, every file checked at its boundary, OS errors
    # while writing as one line naming the path, an unreachable tracking server in seconds
    "seed beyond 32 bits": Case(
        "train.py",
        ["job=x", *EXAMPLE, "seed=1180591620717411303424"],
        "seed=1180591620717411303424 must be a non-negative integer of at most 32 bits",
    ),
    "negative model width": Case(
        "train.py", ["job=x", *EXAMPLE, "model.hidden=-1"], "model.hidden=-1 must be a positive"
    ),
    "job name leaving results": Case(
        "train.py", ["job=../../x", *EXAMPLE], "job=../../x is not a valid job name"
    ),
    "300-character job name": Case(
        "train.py", [f"job={'j' * 300}", *EXAMPLE], "(300 characters) is not a valid job name"
    ),
    "infinite learning rate": Case(
        "train.py", ["job=x", *EXAMPLE, "paper.lr=inf"], "paper.lr=inf must be a finite number > 0"
    ),
    "evaluate override of a trained setting": Case(
        "evaluate.py",
        ["job=good", "backend=torch", "model.hidden=7"],
        "evaluate takes backend.*, evaluation.* and tracking.* overrides only, not model.hidden=7",
    ),
    "paper option out of range": Case(
        "train.py",
        ["job=x", "paper=qssl", "profile=smoke", "paper.probe.lr=0"],
        "paper.probe.lr=0.0 must be a finite number > 0",
    ),
    "optimisation level out of range": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_noise", "backend.executor.optimization_level=7"],
        "backend.executor.optimization_level=7 must be between 0 and 3",
    ),
    "required executor option null": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_noise", "backend.executor.noise_backend=null"],
        "backend.executor.noise_backend=null is not allowed (required)",
    ),
    "depolarising probability above one": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_depolarizing", "backend.executor.scale=400"],
        "backend.executor.two_qubit x scale = 1.5 is a depolarising probability above 1",
    ),
    "noise sweep point above one": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_depolarizing", "+evaluation.aer_depolarizing.sweep.scale=[1,400]"],
        "backend.executor.two_qubit x scale = 1.5 is a depolarising probability above 1",
    ),
    "sweep of an option the executor lacks": Case(
        "evaluate.py",
        ["job=cq", "backend=aer_shots", "+evaluation.aer_shots.sweep.noise=[1]"],
        "backend aer_shots's executor has no option noise",
    ),
    "executor option differing from the backend's": Case(
        "train.py",
        ["job=x", *EXAMPLE, "backend=torch_shots", "backend.executor.shots=5"],
        "backend.executor.shots=5 differs from backend.shots=100",
    ),
    "MNIST with a wrong magic number, unverified": Case(
        "prepare_mnist.py",
        ["dataset.verify_checksums=false"],
        "has IDX magic number 0x00000804, expected 0x00000803",
        setup=lambda r, mp: _idx_mnist(r, mp, "mnist_magic", _idx_header(0x804, 2, 28, 28)),
    ),
    "MNIST truncated, unverified": Case(
        "prepare_mnist.py",
        ["dataset.verify_checksums=false"],
        "but its header (3 items) needs 2368 (truncated or padded)",
        setup=lambda r, mp: _idx_mnist(r, mp, "mnist_short", _idx_header(0x803, 3, 28, 28)),
    ),
    "data manifest without bundles": Case(
        "train.py",
        ["job=x", *EXAMPLE, "dataset.processed_dir=data/gaussian_nobundles"],
        "has no 'bundles' table",
        setup=_rewritten_manifest("gaussian_nobundles", lambda m: m.pop("bundles")),
    ),
    "data manifest naming a file elsewhere": Case(
        "train.py",
        ["job=x", *EXAMPLE, "dataset.processed_dir=data/gaussian_escape"],
        "names no file beside the manifest ('../gaussian/",
        setup=_rewritten_manifest("gaussian_escape", _escape_bundle_folder),
    ),
    "full disk while checkpointing": Case(
        "train.py",
        ["job=full", *EXAMPLE, "profile.seeds=[0]"],
        "checkpoints/full/in-progress/seed0.pt: no space left on its device",
        setup=_disk_full_for("seed0.pt"),
    ),
    "read-only results while writing metrics": Case(
        "evaluate.py",
        ["job=good", "backend=torch"],
        "metrics/good/eval-torch.json: its file system is read-only",
        setup=_disk_full_for("eval-torch.json", errno.EROFS),
    ),
    "model option the paper's settings contradict": Case(
        "train.py",
        ["job=x", "paper=hqvit", "model=hqvit/vit", "profile=smoke", "model.heads=3"],
        "model.heads=3 does not divide paper.model_dim=32",
    ),
    "noise sweep the backend's rates cannot take": Case(
        "train.py",
        ["job=x", "paper=hypernet", "paper.noise_scales=[1,300]"],
        "backend.executor.two_qubit x scale = 1.125 is a depolarising probability above 1",
    ),
    "model input width the data does not have": Case(
        "train.py",
        ["job=x", *EXAMPLE, "model.in_features=3"],
        "model.in_features=3: the example's Gaussian mixture has 2 features",
    ),
    "thread count beyond any machine": Case(
        "train.py", ["job=x", *EXAMPLE, "torch_threads=100000"], "torch_threads=100000 is more than"
    ),
    "group option through '..'": Case(
        "evaluate.py",
        ["job=good", "backend=aer_noise/../torch"],
        "unknown option backend=aer_noise/../torch; choose one of",
    ),
    "evaluate job name leaving results": Case(
        "evaluate.py",
        ["job=../checkpoints/good", "backend=torch"],
        "job=../checkpoints/good is not a valid job name",
    ),
    "train metrics with a malformed run record": Case(
        "evaluate.py",
        ["job=norecord", "backend=torch"],
        "run record of seed 0: metrics must map names to numbers",
        setup=_metrics_without_numbers,
    ),
    "job record that is not JSON": Case(
        "evaluate.py",
        ["job=halfsaved", "backend=torch"],
        "overrides.json is not valid JSON",
        setup=lambda r, mp: _job_record(r, "halfsaved", '{"overrides": ["job=halfsaved"'),
    ),
    "job record without its overrides": Case(
        "evaluate.py",
        ["job=nooverrides", "backend=torch"],
        "overrides.json has no 'overrides' (list); rerun its train stage",
        setup=lambda r, mp: _job_record(r, "nooverrides", '{"overrides": "job=nooverrides"}'),
    ),
    "prepared-data folder that cannot exist": Case(
        "prepare_gaussian.py",
        ["dataset.processed_dir=/proc/qmlrepro-bad-input"],
        "cannot create /proc/qmlrepro-bad-input: no folder can be created there",
    ),
    "job limited to an unknown profile": Case(
        "train.py",
        ["job=x", *EXAMPLE, "run_in_profiles=[papr]"],
        "run_in_profiles names unknown profile(s) papr; choose among default, paper, smoke",
    ),
    "file in the way of a job's checkpoint folder": Case(
        "train.py",
        ["job=blocked", *EXAMPLE],
        "checkpoints/blocked: a file of that name is in the way of a folder",
        setup=lambda r, mp: _file_at(r / "results" / "checkpoints" / "blocked"),
    ),
    "unreachable tracking server": Case(
        "train.py",
        ["job=x", *EXAMPLE],
        "MLflow tracking server http://127.0.0.1:9 is unreachable",
        env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
    ),
}


def _snapshot(root: Path) -> dict[str, str]:
    results = root / "results"
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished_project(tmp_path_factory):
    """Two finished jobs whose outputs every bad input must leave alone."""
    root = tmp_path_factory.mktemp("bad-inputs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QMLREPRO_ROOT", str(root))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        for name in ("QMLREPRO_DEBUG", "HYDRA_FULL_ERROR"):
            mp.delenv(name, raising=False)
        prepare_gaussian(root / "data" / "gaussian", 600, 400, seed=3)
        prepare_contextual_smoke(root)
        train(["job=good", *EXAMPLE])
        train(["job=cq", *CONTEXTUAL_SMOKE])
        (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
        yield root, _snapshot(root)


def _run(script: str, args: list[str]) -> None:
    argv = sys.argv
    sys.argv = [script, *args]
    try:
        runpy.run_path(str(REPO / "pipelines" / script), run_name="__main__")
    finally:
        sys.argv = argv


def test_at_least_thirty_bad_inputs_are_tried():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_error_line_and_earlier_outputs_survive(
    name, finished_project, monkeypatch, capsys
):
    root, before = finished_project
    case = CASES[name]
    monkeypatch.setenv("QMLREPRO_ROOT", str(root))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.chdir(root)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    if case.setup:
        case.setup(root, monkeypatch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        _run(case.script, case.args)
    err = capsys.readouterr().err
    assert stopped.value.code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert case.expected in lines[0], lines[0]
    assert "Traceback" not in err
    print(f"{name}: {lines[0]}")  # the message, for `pytest -rP`
    after = _snapshot(root)
    assert {k: after.get(k) for k in before} == before  # nothing finished was touched
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiments = [
        client.get_experiment_by_name(f"qmlrepro/{p}") for p in ("example", "contextual")
    ]
    runs = client.search_runs([e.experiment_id for e in experiments])
    assert {
        r.data.tags["job"]: r.info.status for r in runs if r.data.tags["job"] in ("good", "cq")
    } == {
        "good": "FINISHED",
        "cq": "FINISHED",
    }


def test_debug_flag_shows_the_traceback(finished_project, monkeypatch):
    root, _ = finished_project
    monkeypatch.setenv("QMLREPRO_ROOT", str(root))
    monkeypatch.setenv("QMLREPRO_DEBUG", "1")
    with pytest.raises(QmlreproError, match="unknown option profile=huge"):
        _run("train.py", ["job=x", "profile=huge"])


def test_unreachable_tracking_server_fails_within_seconds(finished_project, monkeypatch, capsys):
    """MLflow's own client retried a refused connection for 251 s before its one line."""
    root, _ = finished_project
    monkeypatch.setenv("QMLREPRO_ROOT", str(root))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    started = time.perf_counter()
    with pytest.raises(SystemExit):
        _run("train.py", ["job=x", *EXAMPLE])
    assert time.perf_counter() - started < 10
    assert "is unreachable" in capsys.readouterr().err


# No lost work (issue 17): a bad checkpoint, an unwritable metrics file or a missing device stops
# evaluate and train before any MLflow run opens, so no run is created, reopened or logged into.


def _copy_of_good(root: Path, name: str) -> Path:
    """Job ``name``: job good's recorded overrides, train.json (its seeds and MLflow runs) and
    checkpoints, for a case to damage; its checkpoint folder."""
    results = root / "results"
    ckpt_dir = results / "checkpoints" / name
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for file in ("overrides.json", "seed0.pt", "seed1.pt"):
        shutil.copy(results / "checkpoints" / "good" / file, ckpt_dir / file)
    (results / "metrics" / name).mkdir(parents=True, exist_ok=True)
    shutil.copy(results / "metrics" / "good" / "train.json", results / "metrics" / name)
    return ckpt_dir


def _tensor_in_progress(root: Path, _mp) -> None:
    ckpt = staged_checkpoint(root / "results" / "checkpoints" / "tensor", 0)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    torch.save(torch.zeros(3), ckpt)


def _tensor_committed(root: Path, _mp) -> None:
    torch.save(torch.zeros(3), _copy_of_good(root, "tensor-eval") / "seed0.pt")


def _seed1_missing(root: Path, _mp) -> None:
    (_copy_of_good(root, "no-seed1") / "seed1.pt").unlink()


def _other_config_checkpoint(root: Path, _mp) -> None:
    ckpt_dir = _copy_of_good(root, "mixed")
    shutil.copy(root / "results" / "checkpoints" / "cq" / "seed0.pt", ckpt_dir / "seed0.pt")


def _metrics_file_blocked(root: Path, _mp) -> None:
    _copy_of_good(root, "unwritable")
    (root / "results" / "metrics" / "unwritable" / "eval-torch.json").mkdir(exist_ok=True)


def _no_cuda(_root: Path, mp: pytest.MonkeyPatch) -> None:
    mp.setattr(torch.cuda, "is_available", lambda: False)


LOST_WORK_CASES = {
    "bare tensor as an in-progress checkpoint": Case(
        "train.py",
        ["job=tensor", *EXAMPLE, "profile.seeds=[0]"],
        "seed0.pt holds a Tensor, not a qmlrepro checkpoint",
        setup=_tensor_in_progress,
    ),
    "bare tensor as a trained checkpoint": Case(
        "evaluate.py",
        ["job=tensor-eval", "backend=torch"],
        "tensor-eval/seed0.pt holds a Tensor, not a qmlrepro checkpoint",
        setup=_tensor_committed,
    ),
    "trained checkpoint missing": Case(
        "evaluate.py",
        ["job=no-seed1", "backend=torch"],
        "no-seed1/seed1.pt is missing; rerun the job's train stage",
        setup=_seed1_missing,
    ),
    "checkpoint of another config": Case(
        "evaluate.py",
        ["job=mixed", "backend=torch"],
        "mixed/seed0.pt was trained with config",
        setup=_other_config_checkpoint,
    ),
    "metrics file cannot be written": Case(
        "evaluate.py",
        ["job=unwritable", "backend=torch"],
        "unwritable/eval-torch.json: something other than a file is there",
        setup=_metrics_file_blocked,
    ),
    "cuda without a GPU at train": Case(
        "train.py",
        ["job=x", *EXAMPLE, "backend.device=cuda"],
        "backend.device=cuda but no CUDA device is visible",
        setup=_no_cuda,
    ),
    "cuda without a GPU at evaluate": Case(
        "evaluate.py",
        ["job=good", "backend=torch", "backend.device=cuda"],
        "backend.device=cuda but no CUDA device is visible",
        setup=_no_cuda,
    ),
}


def _tracked(root: Path) -> dict[str, tuple]:
    """Every run in the scratch store: status, metric names, error tag."""
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return {
        r.info.run_id: (r.info.status, sorted(r.data.metrics), r.data.tags.get("error"))
        for r in client.search_runs(experiments)
    }


@pytest.mark.parametrize("name", list(LOST_WORK_CASES))
def test_bad_checkpoint_or_device_stops_before_any_run_opens(
    name, finished_project, monkeypatch, capsys
):
    """The table's checks (one line, exit 2, results/ byte-identical), and no run is created,
    reopened or logged into."""
    root, _ = finished_project
    before = _tracked(root)
    monkeypatch.setitem(CASES, name, LOST_WORK_CASES[name])
    test_bad_input_is_one_error_line_and_earlier_outputs_survive(
        name, finished_project, monkeypatch, capsys
    )
    assert _tracked(root) == before
