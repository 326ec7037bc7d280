"""The executor call shape (issue 18): PUBs in, typed results out, per-call shots and seeds,
the same answer from every executor, and the evaluate stage's sweeps declared in config."""

import numpy as np
import pytest
import torch

from qmlrepro.config.compose import compose_config
from qmlrepro.errors import ConfigError, QmlreproError
from qmlrepro.quantum.ansatz import layered_ring_ansatz, z_observables
from qmlrepro.quantum.executor import CircuitPub, ExecutorResult, PubResult
from qmlrepro.quantum.qiskit_executors import AerDepolarizing, AerShots, AerStatevector
from qmlrepro.quantum.spec import make_spec
from qmlrepro.quantum.torch_executor import TorchStatevector
from qmlrepro.stages import evaluation_setting, sweep_points

RNG = np.random.default_rng(4)


def _spec(measured: bool = False):
    qc, x, w = layered_ring_ansatz(3, 1, rotations=("ry",), entangler="cx", encoding="ry")
    if measured:
        return make_spec(qc, x, w, measured=[0, 2]), len(w)
    return make_spec(qc, x, w, observables=z_observables(3)), len(w)


def test_run_takes_pubs_and_returns_typed_results_with_what_produced_them():
    spec, n_w = _spec()
    pubs = [
        (spec, RNG.random((4, 3)), RNG.random(n_w)),
        CircuitPub(spec, RNG.random((2, 3)), RNG.random((2, n_w))),
    ]
    exact = TorchStatevector(device="cpu", dtype="float64").run(pubs)
    aer = AerStatevector().run(pubs)
    assert isinstance(exact, ExecutorResult) and len(exact) == 2
    assert all(isinstance(r, PubResult) for r in aer)
    assert [r.values.shape for r in aer] == [(4, 3), (2, 3)]
    for a, b in zip(exact, aer, strict=True):
        assert a.values.dtype == np.float64
        np.testing.assert_allclose(a.values, b.values, atol=1e-12)
    assert aer[0].metadata["shots"] is None and aer[0].metadata["two_qubit_gates"] == 3
    assert exact.metadata["executor"] == "TorchStatevector"


def test_per_call_shots_and_seed_override_the_executors_own():
    spec, n_w = _spec(measured=True)
    pub = (spec, RNG.random((3, 3)), RNG.random(n_w))
    executor = AerShots(100, seed=1)
    own = executor.run([pub])[0]
    more = executor.run([pub], shots=5000)[0]
    assert own.metadata["shots"] == 100 and more.metadata["shots"] == 5000

    # 5000 shots resolve probabilities to multiples of 1/5000, 100 shots to 1/100
    def on_grid(values, shots):
        return np.allclose(values * shots, np.round(values * shots))

    assert on_grid(own.values, 100) and on_grid(more.values, 5000)
    assert not on_grid(more.values, 100)
    same = executor.run([pub], seed=7)[0].values
    np.testing.assert_array_equal(same, executor.run([pub], seed=7)[0].values)
    assert not np.array_equal(same, executor.run([pub], seed=8)[0].values)
    with pytest.raises(ConfigError, match="exact"):
        AerStatevector().run([pub], shots=10)


def test_per_row_weights_agree_between_torch_and_aer():
    spec, n_w = _spec()
    inputs, weights = RNG.random((1, 3)), RNG.random((5, n_w))
    torch_values = TorchStatevector(device="cpu", dtype="float64").values(spec, inputs, weights)
    aer_values = AerStatevector().values(spec, inputs, weights)
    assert torch_values.shape == (5, 3)
    np.testing.assert_allclose(torch_values, aer_values, atol=1e-12)
    for row in range(5):  # row b is the circuit with weights[b]
        single = AerStatevector().values(spec, inputs, weights[row])
        np.testing.assert_allclose(aer_values[row], single[0], atol=1e-12)


def test_a_pub_must_name_a_circuit_spec():
    with pytest.raises(QmlreproError, match="a PUB is a CircuitPub"):
        AerStatevector().run([("not a spec", None, None)])


@pytest.mark.parametrize(
    "inputs,weights,message",
    [
        ((5, 3), (3, None), "inputs have 5 rows and weights 3"),
        ((5, 3), (1, None), "inputs have 5 rows and weights 1"),
        ((2, 3), (None,), None),  # weights of the wrong length: the message names the shape
        ((2, 3), "none", "give them in the PUB"),
        ((2, 4), (None,), "PUB inputs must be (B, 3)"),
        ((2, 3), (2, 2, None), None),
    ],
)
def test_every_executor_refuses_the_same_malformed_pubs(inputs, weights, message):
    spec, n_w = _spec()
    x = RNG.random(inputs)
    if weights == "none":
        w = None
    else:
        w = RNG.random(
            tuple(n_w + 1 if d is None and len(weights) == 1 else d or n_w for d in weights)
        )
    expected = message or "PUB weights must be"
    for executor in (TorchStatevector(device="cpu"), AerStatevector(), AerShots(10, seed=0)):
        with pytest.raises(QmlreproError) as err:
            executor.run([(spec, x, w)])
        assert expected in str(err.value), (type(executor).__name__, str(err.value))


def test_torch_layers_carry_gradients_and_qiskit_layers_do_not():
    spec, n_w = _spec()
    init = torch.zeros(n_w, dtype=torch.float64)
    torch_layer = TorchStatevector(device="cpu", dtype="float64").layer(spec, init)
    aer_layer = AerDepolarizing(0.0, 0.0, shots=10, seed=0).layer(spec, init)
    assert torch_layer.weights.requires_grad and not aer_layer.weights.requires_grad


def test_sweeps_expand_into_one_validated_point_per_value():
    cfg = compose_config(
        ["backend=aer_depolarizing", "+evaluation.aer_depolarizing={sweep:{scale:[0.5,2.0]}}"]
    )
    points = sweep_points(cfg, evaluation_setting(cfg, "aer_depolarizing"))
    assert [(label, point) for label, point, _ in points] == [
        ("scale0.5/", {"scale": 0.5}),
        ("scale2/", {"scale": 2.0}),
    ]
    assert points[0][2] == ["backend.executor.scale=0.5"]
    shots = compose_config(["backend=aer_shots", "+evaluation.aer_shots={sweep:{shots:[10,20]}}"])
    (label, _, overrides), _ = sweep_points(shots, evaluation_setting(shots, "aer_shots"))
    assert label == "shots10/" and overrides == ["backend.shots=10"]  # the executor reads it
    plain = compose_config(["backend=aer_shots"])
    assert sweep_points(plain, evaluation_setting(plain, "aer_shots")) == [("", {}, [])]


def test_evaluation_settings_are_checked_when_composed():
    with pytest.raises(ConfigError, match="unknown key"):
        compose_config(["+evaluation.aer_shots={sweeps:{shots:[1]}}"])
    with pytest.raises(ConfigError, match="not a non-empty list"):
        compose_config(["+evaluation.aer_shots={sweep:{shots:[]}}"])
    with pytest.raises(ConfigError, match=r"evaluation\.<backend>\.inputs=0"):
        compose_config(["+evaluation.aer_shots={inputs:0}"])


def test_reusing_freed_memory_leaves_numbers_unchanged():
    from qmlrepro.training.memory import reuse_freed_memory

    spec, n_w = _spec()
    inputs, weights = RNG.random((4, 3)), RNG.random(n_w)
    before = TorchStatevector(device="cpu", dtype="float64").values(spec, inputs, weights)
    import platform

    applied = reuse_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert applied  # the setting the stages rely on is in effect
    after = TorchStatevector(device="cpu", dtype="float64").values(spec, inputs, weights)
    np.testing.assert_array_equal(before, after)
