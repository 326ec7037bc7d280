"""IBM Runtime jobs survive crashes: ids are on disk before waiting, finished jobs are fetched by id
on a rerun, failed ones are resubmitted with backoff, and nothing finished is dropped.

The real code path runs in qiskit-ibm-runtime's local mode on FakeParis; only the service that
looks jobs up by id (the cloud's job store) is a stand-in."""

import json
import subprocess
import sys

import numpy as np
import pytest
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobTimeoutError

from qmlrepro.errors import QmlreproError
from qmlrepro.quantum import ibm_runtime
from qmlrepro.quantum.ansatz import z_observables
from qmlrepro.quantum.ibm_runtime import IBMRuntime, JobLookupError
from qmlrepro.quantum.spec import make_spec
from qmlrepro.report.results import metrics_path

from .conftest import CONTEXTUAL_SMOKE, prepare_contextual_smoke, run_script, without_timings
from .test_torch_executor import ring_circuit


class JobService:
    """Looks jobs up by id, like QiskitRuntimeService.job."""

    def __init__(self) -> None:
        self.jobs: dict = {}

    def job(self, job_id: str):
        return self.jobs[job_id]


class FailedJob:
    """A job the device could not run (status ERROR, result raises)."""

    def __init__(self, job) -> None:
        self._job = job

    def job_id(self) -> str:
        return self._job.job_id()

    def status(self) -> str:
        return "ERROR"

    def result(self):
        raise RuntimeError("Job failed: calibration in progress")


class KilledWhileWaiting(BaseException):
    """Stands for the process being killed while it waits on a running job."""


class WaitedOn:
    def __init__(self, job) -> None:
        self._job = job

    def job_id(self) -> str:
        return self._job.job_id()

    def result(self):
        raise KilledWhileWaiting


class Unreachable:
    """``inner`` whose ``method`` raises ``error`` on its first ``times`` calls (a network blip,
    an outage, a wait that timed out), then answers as ``inner`` does."""

    def __init__(self, inner, method: str, error: Exception, times: int = 1) -> None:
        self._inner, self._method, self._error, self._left = inner, method, error, times

    def __getattr__(self, name: str):
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def call(*args, **kwargs):
            if self._left > 0:
                self._left -= 1
                raise self._error
            return attr(*args, **kwargs)

        return call


def _executor(service: JobService, submissions: list, wrap=None) -> IBMRuntime:
    executor = IBMRuntime("fake_paris", shots=200, local=True, seed=5)
    executor.service = service
    submit = executor._submit

    def tracked_submit(pubs, key, record, *options):
        job = submit(pubs, key, record, *options)
        submissions.append(job.job_id())
        seen = wrap(job, len(submissions)) if wrap else job
        # the cloud's view: a failed job stays failed; one we stopped waiting on runs to the end
        service.jobs[job.job_id()] = seen if isinstance(seen, FailedJob) else job
        return seen

    executor._submit = tracked_submit
    return executor


@pytest.fixture
def circuit():
    qc, x, w = ring_circuit(3)
    spec = make_spec(qc, x, w, observables=z_observables(3))
    inputs = np.random.default_rng(2).uniform(0, 3, (3, 3))
    return spec, inputs, np.linspace(-1, 1, len(w))


@pytest.fixture
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(ibm_runtime.time, "sleep", waited.append)
    return waited


def _records(project) -> list[dict]:
    root = project / "results" / "ibm_jobs" / "fake_paris"
    return [json.loads(p.read_text()) for p in sorted(root.glob("*.json"))]


def _died_waiting(circuit) -> tuple[JobService, list]:
    """A first run killed while it waited on its one job (which goes on to finish)."""
    spec, inputs, weights = circuit
    service, submissions = JobService(), []
    first = _executor(service, submissions, wrap=lambda job, n: WaitedOn(job))
    with pytest.raises(KilledWhileWaiting):
        first.values(spec, inputs, weights)
    return service, submissions


def test_a_job_running_when_the_process_died_is_fetched_by_id_not_resubmitted(
    project, circuit, sleeps
):
    spec, inputs, weights = circuit
    service, submissions = _died_waiting(circuit)
    (record,) = _records(project)  # written before waiting
    assert [a["job_id"] for a in record["attempts"]] == submissions and "status" not in record

    rerun = _executor(service, submissions)
    out = rerun.values(spec, inputs, weights)
    assert rerun.submitted == 0 and len(submissions) == 1  # the same job, fetched by its id
    assert out.shape == (3, 3) and np.all(np.abs(out) <= 1)
    (record,) = _records(project)
    assert record["status"] == "DONE"
    assert sleeps == []


def test_failed_jobs_are_resubmitted_with_backoff_and_every_attempt_is_recorded(
    project, circuit, sleeps
):
    spec, inputs, weights = circuit
    service, submissions = JobService(), []
    failing_first_two = _executor(
        service, submissions, wrap=lambda job, n: FailedJob(job) if n <= 2 else job
    )
    out = failing_first_two.values(spec, inputs, weights)
    assert failing_first_two.submitted == 3 and sleeps == [1, 2]  # exponential backoff
    (record,) = _records(project)
    assert [a["job_id"] for a in record["attempts"]] == submissions
    assert [("error" in a) for a in record["attempts"]] == [True, True, False]
    assert "calibration in progress" in record["attempts"][0]["error"]
    reference = _executor(JobService(), [])
    reference.store = failing_first_two.store  # a rerun: results come from disk
    assert np.array_equal(reference.values(spec, inputs, weights), out) and reference.submitted == 0


def test_a_rerun_resubmits_a_job_that_failed_while_nobody_waited(project, circuit, sleeps):
    spec, inputs, weights = circuit
    service, submissions = _died_waiting(circuit)
    service.jobs[submissions[0]] = FailedJob(service.jobs[submissions[0]])  # failed meanwhile
    rerun = _executor(service, submissions)
    rerun.values(spec, inputs, weights)
    assert rerun.submitted == 1 and len(submissions) == 2


def test_giving_up_names_the_record_and_keeps_finished_results(project, circuit, sleeps):
    """Two circuits' worth of jobs: the first finishes, the second keeps failing. The error says
    where the record is; the first result stays on disk and a later rerun does not redo it."""
    spec, inputs, weights = circuit
    service, submissions = JobService(), []
    ok = _executor(service, submissions)
    ok.values(spec, inputs[:1], weights)
    broken = _executor(service, submissions, wrap=lambda job, n: FailedJob(job))
    broken.max_retries = 2
    with pytest.raises(QmlreproError, match=r"failed 3 times .* its record is in .*fake_paris"):
        broken.values(spec, inputs[1:], weights)
    assert sleeps == [1, 2]
    records = _records(project)
    assert sorted(len(r["attempts"]) for r in records) == [1, 3]
    assert sum(r.get("status") == "DONE" for r in records) == 1

    recovered = _executor(service, submissions)
    recovered.values(spec, inputs[:1], weights)
    assert recovered.submitted == 0  # the finished circuit came back from disk
    recovered.values(spec, inputs[1:], weights)
    assert recovered.submitted == 1


def _lookup_fails(service: JobService, job_id: str, times: int = 1):
    return Unreachable(service, "job", ConnectionError("Max retries exceeded with url"), times)


def _result_times_out(service: JobService, job_id: str):
    timeout = RuntimeJobTimeoutError("Timed out waiting for job to complete after 600 secs.")
    service.jobs[job_id] = Unreachable(service.jobs[job_id], "result", timeout)
    return service


def _status_fails(service: JobService, job_id: str):
    service.jobs[job_id] = Unreachable(service.jobs[job_id], "status", IBMRuntimeError("502"))
    return service


BLIPS = {"lookup": _lookup_fails, "result-timeout": _result_times_out, "status": _status_fails}


@pytest.mark.parametrize("blip", BLIPS.values(), ids=BLIPS)
def test_a_lookup_error_or_a_timed_out_wait_is_retried_and_nothing_is_resubmitted(
    project, circuit, sleeps, blip
):
    """The job finished on the device; the rerun's first lookup (or wait) fails once. It must
    ask again, not pay for a new job."""
    spec, inputs, weights = circuit
    service, submissions = _died_waiting(circuit)
    rerun = _executor(blip(service, submissions[0]), submissions)
    out = rerun.values(spec, inputs, weights)
    assert rerun.submitted == 0 and len(submissions) == 1 and sleeps == [1]
    assert out.shape == (3, 3) and np.all(np.abs(out) <= 1)
    (record,) = _records(project)
    assert record["status"] == "DONE" and "error" not in record["attempts"][0]


def test_a_lookup_that_keeps_failing_names_the_job_and_a_later_rerun_fetches_it(
    project, circuit, sleeps
):
    spec, inputs, weights = circuit
    service, submissions = _died_waiting(circuit)
    during_outage = _executor(_lookup_fails(service, submissions[0], times=3), submissions)
    during_outage.lookup_retries = 2
    with pytest.raises(JobLookupError, match=rf"IBM job {submissions[0]} .* NOT resubmitted"):
        during_outage.values(spec, inputs, weights)
    assert during_outage.submitted == 0 and sleeps == [1, 2]
    after = _executor(service, submissions)
    after.values(spec, inputs, weights)
    assert after.submitted == 0 and len(submissions) == 1


KEYS_OF_MODEL_PUBS = """
import json, sys
import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qmlrepro.papers.contextual.circuit import khrnn_spec
from qmlrepro.quantum.encoding import AmplitudeEncoding, bind_amplitudes
from qmlrepro.quantum.ibm_runtime import pubs_key
from qmlrepro.quantum.measurement import probability_circuit
from qmlrepro.quantum.qiskit_executors import AerShots

weight = float(sys.argv[1])
spec = khrnn_spec(4, 2)
inputs = np.random.default_rng(0).uniform(0, 3, (3, len(spec.inputs)))
logical = AerShots(100)._pubs(probability_circuit(spec), spec, inputs, np.array([weight, 0.3]))
amplitude = QuantumCircuit(2, 2)
amplitude.append(AmplitudeEncoding(2), [0, 1])
amplitude.ry(Parameter("w") * weight, 0)
amplitude.measure([0, 1], [0, 1])
bound = [(bind_amplitudes(amplitude, np.array([0.1, 0.2, 0.3, 0.4])), np.array([[weight]]))]
print(json.dumps([pubs_key(logical, 100, "fake_paris:o1"), pubs_key(bound, 100, "fake_paris:o1")]))
"""


def _keys_in_a_new_process(weight: float) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", KEYS_OF_MODEL_PUBS, str(weight)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout)


def test_the_same_pubs_get_the_same_job_key_in_every_process():
    """Parameters get new random UUIDs (and sets new hash seeds) in every process: the key must
    not see them. The contextual k-HRNN PUB is the issue's example; the amplitude-encoded one
    covers StatePreparation's array parameters."""
    first, second = _keys_in_a_new_process(0.7), _keys_in_a_new_process(0.7)
    assert first == second and first[0] != first[1]
    assert set(_keys_in_a_new_process(0.8)).isdisjoint(first)  # another weight, another job


def _job_files(project) -> dict[str, int]:
    """Saved results, and submissions counted from every job record's attempts."""
    root = project / "results" / "ibm_jobs" / "fake_paris"
    records = [json.loads(p.read_text()) for p in root.glob("*.json")]
    return {
        "results": len(list(root.glob("*.npz"))),
        "submitted": sum(len(r["attempts"]) for r in records),
    }


def test_a_rerun_of_a_local_hardware_evaluation_in_a_new_process_submits_nothing(project):
    """evaluate.py job=contextual-quantum backend=ibm_runtime_local, twice: the second process
    finds every saved result (it used to submit each job again: twice the saved results)."""
    from qmlrepro.stages import train

    prepare_contextual_smoke(project)
    train(["job=cq", *CONTEXTUAL_SMOKE])
    metrics, files = [], []
    for _ in range(2):
        proc = run_script("evaluate.py", "job=cq", "backend=ibm_runtime_local", cwd=project)
        assert proc.returncode == 0, proc.stderr[-2000:]
        record = json.loads(
            metrics_path(project / "results", "cq", "evaluate", "ibm_runtime_local").read_text()
        )
        metrics.append(without_timings(record["runs"][0]["metrics"]))
        files.append(_job_files(project))
    assert files[0]["results"] > 0 and files[0]["submitted"] == files[0]["results"]
    assert files[1] == files[0] and metrics[1] == metrics[0]
