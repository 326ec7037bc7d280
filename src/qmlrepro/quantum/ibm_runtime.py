"""IBM Quantum hardware through qiskit-ibm-runtime (SamplerV2 in Batch mode), resumable.

Every submitted job's id is written to ``job_dir`` before waiting, and every finished result is
saved beside it under a key that is the same in every process (:func:`pubs_key`), so a crash loses
nothing: a rerun loads saved results, fetches finished jobs by id instead of resubmitting (a
lookup or wait that fails is retried, never answered with a new job), and resubmits with backoff
only jobs the service reports as failed or cancelled. ``local=True`` runs the same code path in
qiskit-ibm-runtime's local testing mode on a fake backend (no account needed).
"""

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Gate, Instruction, ParameterExpression

from qmlrepro.data.artifacts import atomic_write_bytes
from qmlrepro.errors import ConfigError, QmlreproError
from qmlrepro.quantum.qiskit_executors import (
    DeviceLayout,
    SamplingExecutor,
    fake_backend,
    packed_bits,
)

TOKEN_ENV, INSTANCE_ENV = "QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE"


class CredentialsError(QmlreproError):
    """IBM Quantum credentials are missing or were rejected."""


def require_credentials() -> None:
    """Raise unless a token is in the environment or an account is saved (no network call)."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    if not os.environ.get(TOKEN_ENV) and not QiskitRuntimeService.saved_accounts():
        raise CredentialsError(
            f"backend ibm_runtime needs IBM Quantum credentials: set {TOKEN_ENV} (and "
            f"{INSTANCE_ENV}) or run QiskitRuntimeService.save_account(...) once; "
            "or use backend=aer_noise / backend=ibm_runtime_local"
        )


def connect(channel: str, instance: str | None):
    """A QiskitRuntimeService from $QISKIT_IBM_TOKEN or a saved account; never logs the token."""
    from qiskit_ibm_runtime import QiskitRuntimeService

    require_credentials()
    token = os.environ.get(TOKEN_ENV)
    instance = instance or os.environ.get(INSTANCE_ENV)
    kwargs = {"channel": channel, "instance": instance}
    if token:
        kwargs["token"] = token
    try:
        return QiskitRuntimeService(**{k: v for k, v in kwargs.items() if v is not None})
    except Exception as exc:  # the runtime raises many types for bad tokens / no network
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        for secret in (token, instance):
            if secret:
                detail = detail.replace(secret, "***")
        raise CredentialsError(
            f"IBM Quantum did not accept the credentials or could not be reached "
            f"({type(exc).__name__}: {detail}); check {TOKEN_ENV} / the saved account"
        ) from exc


class JobStore:
    """Job ids and results on disk, keyed by a hash of the submitted PUBs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def record(self, key: str) -> dict | None:
        path = self.root / f"{key}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def save_record(self, key: str, record: dict) -> None:
        atomic_write_bytes(self.root / f"{key}.json", json.dumps(record, indent=2).encode())

    def result(self, key: str) -> list[np.ndarray] | None:
        path = self.root / f"{key}.npz"
        if not path.is_file():
            return None
        with np.load(path) as data:
            return [data[f"pub{i}"] for i in range(len(data.files))]

    def save_result(self, key: str, arrays: list[np.ndarray]) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{f"pub{i}": a for i, a in enumerate(arrays)})
        atomic_write_bytes(self.root / f"{key}.npz", buffer.getvalue())


def _feed(digest: "hashlib._Hash", tag: str, data: bytes) -> None:
    """One tagged, length-prefixed field: no two different streams of fields hash alike."""
    digest.update(f"{tag}{len(data)}:".encode())
    digest.update(data)


def _feed_value(digest: "hashlib._Hash", value: Any) -> None:
    """One instruction parameter, by what it is and not by object identity."""
    if isinstance(value, ParameterExpression):
        # Parameters print by name; their random UUIDs (what QPY stores) never enter the key.
        _feed(digest, "E", str(value).encode())
    elif isinstance(value, QuantumCircuit):
        _feed_circuit(digest, value)
    elif isinstance(value, np.ndarray):
        _feed(digest, "A", f"{value.dtype.str}{value.shape}".encode())
        _feed(digest, "B", np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (bool, int, np.integer)):
        _feed(digest, "I", str(int(value)).encode())
    elif isinstance(value, (float, np.floating)):
        _feed(digest, "F", float(value).hex().encode())
    elif isinstance(value, (complex, np.complexfloating)):
        _feed(digest, "C", f"{value.real.hex()},{value.imag.hex()}".encode())
    else:
        _feed(digest, "R", f"{type(value).__name__}:{value!r}".encode())


def _feed_circuit(digest: "hashlib._Hash", circuit: QuantumCircuit) -> None:
    """A circuit's registers, parameter order and instructions (operands as indices)."""
    registers = [(r.name, r.size) for r in circuit.cregs]
    names = [p.name for p in circuit.parameters]  # the column order of a PUB's values
    _feed(digest, "Q", f"{circuit.num_qubits}|{circuit.num_clbits}|{registers}|{names}".encode())
    _feed_value(digest, circuit.global_phase)
    for instruction in circuit.data:
        op = instruction.operation
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        clbits = [circuit.find_bit(c).index for c in instruction.clbits]
        cls = type(op)
        ctrl = getattr(op, "ctrl_state", None)
        head = f"{cls.__qualname__}:{op.name}:{ctrl}:{qubits}:{clbits}:{len(op.params)}"
        _feed(digest, "O", head.encode())
        for value in op.params:
            _feed_value(digest, value)
        if cls in (Gate, Instruction) and op.definition is not None:
            # a to_gate()/to_instruction() block: only its body says what it does
            _feed_circuit(digest, op.definition)


def pubs_key(pubs: list[tuple[QuantumCircuit, np.ndarray]], shots: int, backend: str) -> str:
    """A job's identity on disk: the same PUBs, shots and backend give the same key in every
    process.

    The key hashes a canonical form of each logical circuit (instruction classes and names,
    qubit and clbit indices, parameters by NAME, floats exactly, arrays by bytes, blocks and
    custom gate bodies recursively) and its parameter values with their shape. It used to hash
    the QPY dump, which holds every Parameter's random UUID (and the Qiskit version): a rerun in
    a new process never found its saved result and paid for the job again.
    """
    digest = hashlib.sha256()
    _feed(digest, "K", f"{backend}:{shots}".encode())
    for circuit, values in pubs:
        _feed_circuit(digest, circuit)
        array = np.ascontiguousarray(values, dtype=np.float64)
        _feed(digest, "V", str(array.shape).encode())
        _feed(digest, "B", array.tobytes())
    return digest.hexdigest()[:24]


class JobLookupError(QmlreproError):
    """A submitted job could not be looked up or waited on; it was not resubmitted."""


FAILED_STATES = ("ERROR", "CANCELLED")  # what the service reports for a job that will not finish


def _failure_errors() -> tuple[type[Exception], ...]:
    """What ``RuntimeJobV2.result()`` raises when the service reports the job failed (a cancelled
    job raises RuntimeInvalidStateError, which has other uses: its status decides)."""
    from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError, RuntimeJobMaxTimeoutError

    return RuntimeJobFailureError, RuntimeJobMaxTimeoutError


class IBMRuntime(SamplingExecutor):
    """SamplerV2 jobs on an IBM device (or its fake backend with ``local=True``), resumable.

    ``max_retries``: how often a job the service reports as failed or cancelled is resubmitted.
    ``lookup_retries``: how often looking a job up, or waiting for its result, is retried after
    an error that is not such a report (a network blip, a wait that timed out), with backoff
    1, 2, 4, ... s (at most 60). Past that, :class:`JobLookupError` names the job; it is never
    resubmitted for it, since it may have finished (and been paid for) on the device.
    """

    def __init__(
        self,
        device: str,
        shots: int,
        job_dir: str = "results/ibm_jobs",
        optimization_level: int = 1,
        seed: int | None = None,
        channel: str = "ibm_quantum_platform",
        instance: str | None = None,
        local: bool = False,
        max_retries: int = 3,
        lookup_retries: int = 6,
    ) -> None:
        super().__init__(shots, seed)
        from qmlrepro.paths import resolve

        for name, value in (("max_retries", max_retries), ("lookup_retries", lookup_retries)):
            if value < 0:
                raise ConfigError(f"backend.executor.{name}={value} must be >= 0")
        self.local, self.max_retries, self.lookup_retries = local, max_retries, lookup_retries
        self.optimization_level = optimization_level
        self.service = None if local else connect(channel, instance)
        self.backend = fake_backend(device) if local else self.service.backend(device)
        self.layout = DeviceLayout(self.backend, optimization_level)
        self.store = JobStore(resolve(job_dir) / self.backend.name)
        self.submitted = 0  # jobs sent in this process (a rerun that reuses results sends none)
        self._job_ids: list[str] = []  # the jobs behind the last sampling (metadata)

    def _transpile(self, circuit: QuantumCircuit) -> QuantumCircuit:
        return self.layout.run(circuit)

    def _begin_call(self) -> None:
        self._job_ids = []

    def _job_metadata(self) -> dict:
        """The jobs behind this call (every measurement setting's); on hardware the sampling is
        the device's, so no seed is reported."""
        return {"job_ids": list(self._job_ids), **({} if self.local else {"seed": None})}

    def _sample(self, pubs, logical, shots, seed):
        # Keyed on the logical PUBs: transpilation (VF2 layout has time limits) may differ
        # between runs, and a rerun must still find its job.
        # Local mode samples Aer with the seed, so its results are the seed's; hardware's are not.
        where = f"{self.backend.name}:o{self.optimization_level}"
        if self.local and seed is not None:
            where += f":s{seed}"
        key = pubs_key(logical, shots, where)
        saved = self.store.result(key)
        if saved is not None:
            self._job_ids += [
                a["job_id"] for a in (self.store.record(key) or {}).get("attempts", [])
            ]
            return saved
        record = self.store.record(key) or {"attempts": []}
        job = self._fetch(key, record)
        for attempt in range(self.max_retries + 1):
            if job is None:
                job = self._submit(pubs, key, record, shots, seed)
            result, failure = self._patiently(key, job.job_id(), lambda j=job: self._outcome(j))
            if failure is None:
                break
            # the service reported the job failed or cancelled: resubmit with backoff
            record["attempts"][-1]["error"] = f"{type(failure).__name__}: {failure}"[:500]
            self.store.save_record(key, record)
            if attempt == self.max_retries:
                raise QmlreproError(
                    f"IBM job {job.job_id()} failed {attempt + 1} times "
                    f"({type(failure).__name__}); its record is in {self.store.root}"
                ) from failure
            time.sleep(min(60, 2**attempt))
            job = None
        self._job_ids += [a["job_id"] for a in record["attempts"]]
        arrays = packed_bits(result, shots, pubs)
        self.store.save_result(key, arrays)
        record["status"] = "DONE"
        self.store.save_record(key, record)
        return arrays

    def _fetch(self, key: str, record: dict):
        """The last submitted job, looked up by id; None if there is none (local mode keeps no
        jobs across processes) or the service reports it failed or cancelled."""
        if self.service is None or not record["attempts"]:
            return None
        attempt = record["attempts"][-1]

        def lookup():
            job = self.service.job(attempt["job_id"])
            return job, str(job.status())

        job, status = self._patiently(key, attempt["job_id"], lookup)
        if any(s in status for s in FAILED_STATES):
            attempt.setdefault("error", f"the service reports {status}")
            self.store.save_record(key, record)
            return None
        return job

    def _outcome(self, job) -> tuple[Any, Exception | None]:
        """``(result, None)``, or ``(None, error)`` when the service reports the job failed or
        cancelled; any other error (the job may still be running or done) is raised."""
        try:
            return job.result(), None
        except _failure_errors() as exc:
            return None, exc
        except Exception as exc:
            try:
                status = str(job.status())
            except Exception:
                raise exc from None
            if any(s in status for s in FAILED_STATES):
                return None, exc
            raise

    def _patiently(self, key: str, job_id: str, action):
        """``action()``, retried with backoff ``lookup_retries`` times on any error."""
        for lookup in range(self.lookup_retries + 1):
            try:
                return action()
            except Exception as exc:
                error = exc
            if lookup < self.lookup_retries:
                time.sleep(min(60, 2**lookup))
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise JobLookupError(
            f"IBM job {job_id} could not be looked up or waited on {self.lookup_retries + 1} "
            f"times ({type(error).__name__}: {detail}); it was NOT resubmitted: rerun later to "
            f"fetch its result (if the job is gone for good, delete "
            f"{self.store.root / f'{key}.json'} to resubmit)"
        ) from error

    def _submit(self, pubs, key: str, record: dict, shots: int, seed: int | None):
        from qiskit_ibm_runtime import Batch, SamplerV2

        with Batch(backend=self.backend) as batch:
            sampler = SamplerV2(mode=batch)
            sampler.options.default_shots = shots
            seed = seed if self.local else None
            if seed is not None:
                # Local mode simulates the fake device with Aer: seed its shots like aer_noise.
                sampler.options.simulator.seed_simulator = seed
            job = sampler.run(pubs)
        self.submitted += 1
        record["attempts"].append({"job_id": job.job_id(), "submitted": time.time()})
        self.store.save_record(key, record)  # before waiting: a crash must not lose the job
        return job
