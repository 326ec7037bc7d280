"""IBM Quantum hardware through qiskit-ibm-runtime (SamplerV2 in Batch mode), resumable.

Every submitted job's id is written to ``job_dir`` before waiting, and every finished result is
saved beside it, so a crash loses nothing: a rerun loads saved results, fetches finished jobs by id
instead of resubmitting, and resubmits failed ones with backoff. ``local=True`` runs the same code
path in qiskit-ibm-runtime's local testing mode on a fake backend (no account needed).
"""

import hashlib
import io
import json
import os
import time
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit, qpy

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


def pubs_key(pubs: list[tuple[QuantumCircuit, np.ndarray]], shots: int, backend: str) -> str:
    digest = hashlib.sha256(f"{backend}:{shots}".encode())
    for circuit, values in pubs:
        buffer = io.BytesIO()
        qpy.dump(circuit, buffer)
        digest.update(buffer.getvalue())
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()[:24]


class IBMRuntime(SamplingExecutor):
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
    ) -> None:
        super().__init__(shots, seed)
        from qmlrepro.paths import resolve

        if max_retries < 0:
            raise ConfigError(f"backend.executor.max_retries={max_retries} must be >= 0")
        self.local, self.max_retries = local, max_retries
        self.optimization_level = optimization_level
        self.service = None if local else connect(channel, instance)
        self.backend = fake_backend(device) if local else self.service.backend(device)
        self.layout = DeviceLayout(self.backend, optimization_level)
        self.store = JobStore(resolve(job_dir) / self.backend.name)
        self.submitted = 0  # jobs sent in this process (a rerun that reuses results sends none)

    def _transpile(self, circuit: QuantumCircuit) -> QuantumCircuit:
        return self.layout.run(circuit)

    def _sample(self, pubs, logical):
        # Keyed on the logical PUBs: transpilation (VF2 layout has time limits) may differ
        # between runs, and a rerun must still find its job.
        key = pubs_key(logical, self.shots, f"{self.backend.name}:o{self.optimization_level}")
        saved = self.store.result(key)
        if saved is not None:
            return saved
        record = self.store.record(key) or {"attempts": []}
        job = self._fetch(record)
        for attempt in range(self.max_retries + 1):
            if job is None:
                job = self._submit(pubs, key, record)
            try:
                result = job.result()
                break
            except Exception as exc:  # a failed or cancelled job: resubmit with backoff
                record["attempts"][-1]["error"] = f"{type(exc).__name__}: {exc}"[:500]
                self.store.save_record(key, record)
                if attempt == self.max_retries:
                    raise QmlreproError(
                        f"IBM job {job.job_id()} failed {attempt + 1} times "
                        f"({type(exc).__name__}); "
                        f"its record is in {self.store.root}"
                    ) from exc
                time.sleep(min(60, 2**attempt))
                job = None
        arrays = packed_bits(result, self.shots)
        self.store.save_result(key, arrays)
        record["status"] = "DONE"
        self.store.save_record(key, record)
        return arrays

    def _fetch(self, record: dict):
        """The last submitted job, if it can be retrieved and has not failed."""
        if self.service is None or not record["attempts"]:
            return None
        job_id = record["attempts"][-1]["job_id"]
        try:
            job = self.service.job(job_id)
        except Exception:
            return None
        status = str(job.status())
        return None if any(s in status for s in ("ERROR", "CANCELLED")) else job

    def _submit(self, pubs, key: str, record: dict):
        from qiskit_ibm_runtime import Batch, SamplerV2

        with Batch(backend=self.backend) as batch:
            sampler = SamplerV2(mode=batch)
            sampler.options.default_shots = self.shots
            job = sampler.run(pubs)
        self.submitted += 1
        record["attempts"].append({"job_id": job.job_id(), "submitted": time.time()})
        self.store.save_record(key, record)  # before waiting: a crash must not lose the job
        return job
