"""Every option of every backend config on every paper's model circuit: it runs and agrees with
the exact answer (see ``executors`` for the tolerances; with a device's noise, valid outputs, and
the same transpiled circuits without the noise within shot tolerance), or the config is refused
before any work.

The circuits come from the papers' own builders, at sizes below the smoke profiles (hypernet's
smoke task alone has 17 qubits) so that the whole matrix stays under a minute: the faults this
guards against depend on the circuits' structure (diagonal last layers, multi-controlled phases,
amplitude encoding, controlled rotations), not on their width.
"""

import numpy as np
import pytest
from omegaconf import OmegaConf

from qmlrepro.config.compose import compose_config
from qmlrepro.errors import ConfigError
from qmlrepro.papers.contextual.circuit import khrnn_spec
from qmlrepro.papers.hqvit.circuit import AttentionLayout, attention_spec
from qmlrepro.papers.hypernet.circuit import hypernetwork_spec
from qmlrepro.quantum.ansatz import all_to_all_ansatz, layered_ring_ansatz, z_observables
from qmlrepro.quantum.qiskit_executors import AerNoise
from qmlrepro.quantum.spec import CircuitSpec, make_spec

from .conftest import REPO
from .executors import DEVICE_NOISE, assert_agrees, backends_fixture, exact

SHOTS = 1000
LEVELS = (0, 1, 2, 3)
# What aer_depolarizing (rates 0.002 / 0.0075) does to these outputs, with margin.
NOISE = 0.1


def _qssl(circuit) -> CircuitSpec:
    qc, inputs, weights = circuit
    return make_spec(qc, inputs, weights, observables=z_observables(qc.num_qubits))


PAPER_CIRCUITS = {
    "qssl_ring": lambda: _qssl(layered_ring_ansatz(4, 2, ("ry",), "crx", "rx")),
    "qssl_all_to_all": lambda: _qssl(all_to_all_ansatz(4, 3, "rx")),
    "contextual_khrnn": lambda: khrnn_spec(4, 2),
    "hypernet": lambda: hypernetwork_spec(4, 2),  # RZ last: levels 2-3 drop it (and its angle)
    "hqvit_attention": lambda: attention_spec(AttentionLayout(2, 4), 1),
}
# (backend, optimisation level); the device backends run every level on every circuit
# (aer_noise) or one level per circuit, every level over the five (ibm_runtime_local, whose
# transpilation is aer_noise's DeviceLayout; its local sampler costs ~1 s a job).
SETTINGS = [
    ("torch", 1),
    ("torch_float32", 1),
    ("torch_shots", 1),
    ("aer_statevector", 1),
    ("aer_shots", 1),
    ("aer_depolarizing", 1),
    ("aer_noise_trajectories", 1),
    *(("aer_noise", level) for level in LEVELS),
    *(("aer_noise_ideal", level) for level in LEVELS),
]


backends = backends_fixture(SHOTS)


def _inputs(spec: CircuitSpec) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    inputs = rng.uniform(0.1, 3.0, (1, spec.n_amplitude_inputs + len(spec.inputs)))
    return inputs, rng.normal(size=len(spec.weights))


@pytest.mark.parametrize("index, paper_circuit", list(enumerate(PAPER_CIRCUITS)))
def test_every_backend_option_runs_every_paper_circuit(backends, index, paper_circuit):
    spec = PAPER_CIRCUITS[paper_circuit]()
    inputs, weights = _inputs(spec)
    expected = exact(spec, inputs, weights)
    settings = [*SETTINGS, ("ibm_runtime_local", LEVELS[index % len(LEVELS)])]
    for backend, level in settings:
        got = backends.run(backend, level)(spec, inputs, weights)
        assert_agrees(f"{backend}/o{level}", spec, got, expected, SHOTS, NOISE)


def test_the_backends_checked_only_for_valid_outputs_are_run_as_named():
    """A renamed device backend would otherwise be held to exact bounds, or skip its checks."""
    assert set(DEVICE_NOISE) <= {s[0] for s in SETTINGS} | {"ibm_runtime_local"}


def test_the_matrix_covers_every_option_the_backend_configs_expose():
    """A new option in conf/backend/*.yaml must join the matrix above (or this list, with the
    reason it needs no run)."""
    exercised = {
        "shots",  # every sampled setting
        "seed",  # every setting (executors.SEED)
        "optimization_level",  # LEVELS
        "noise_backend",  # fake_paris
        "device",  # fake_paris (ibm_runtime_local); torch device: CPU here, CUDA in the bench
        "dtype",  # torch / torch_float32
        "one_qubit",  # aer_depolarizing
        "two_qubit",
        "scale",
        "local",  # ibm_runtime_local
        "job_dir",  # ibm_runtime_local (a temporary folder)
        "max_retries",  # failure handling, tested in test_ibm_jobs
        "lookup_retries",
        "channel",  # real hardware only (credentials)
        "instance",
    }
    exposed = set()
    for path in (REPO / "conf" / "backend").glob("*.yaml"):
        node = OmegaConf.load(path)
        exposed |= {k for k in node if k not in ("defaults", "name", "executor")}
        exposed |= {k for k in node.get("executor") or {} if k != "_target_"}
    assert exposed <= exercised, sorted(exposed - exercised)


@pytest.mark.parametrize(
    "override, message",
    [
        ("backend.executor.optimization_level=4", "optimization_level=4 must be between 0 and 3"),
        ("backend.shots=0", "backend.shots=0 must be a positive integer"),
    ],
)
def test_an_option_out_of_range_is_refused_when_the_config_is_composed(override, message):
    with pytest.raises(ConfigError, match=message):
        compose_config(["backend=aer_noise", override])


def test_density_matrix_qubits_out_of_range_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="density_matrix_qubits=-1 must be >= 0"):
        AerNoise("fake_paris", shots=10, density_matrix_qubits=-1)
