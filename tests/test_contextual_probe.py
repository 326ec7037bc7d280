"""The exact m-bit memory probe: bounds against brute force on toy instances, the floor against
``sequence.theta_blind_probabilities``, the orbit reduction against all pairs."""

import math
from itertools import combinations

import numpy as np
import pytest
import torch

from qmlrepro.data import sequence
from qmlrepro.papers.contextual import probe


def _set_partitions(items: list[int], max_cells: int):
    """All set partitions of ``items`` into <= max_cells cells, as lists of bitmasks."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest, max_cells):
        for i in range(len(part)):
            yield [*part[:i], part[i] | 1 << first, *part[i + 1 :]]
        if len(part) < max_cells:
            yield [*part, 1 << first]


def _brute_force_optimum(laws: torch.Tensor, max_cells: int) -> float:
    n_items = laws.shape[0]
    norm = n_items * laws.shape[1] * (laws.shape[2].bit_length() - 1)
    cost = {}
    for mask in range(1, 2**n_items):
        members = [i for i in range(n_items) if mask >> i & 1]
        part = laws[members]
        mean = part.mean(dim=0, keepdim=True)
        cost[mask] = float(torch.special.xlogy(part, part / mean.clamp_min(1e-300)).sum())
    best = min(
        sum(cost[m] for m in part) for part in _set_partitions(list(range(n_items)), max_cells)
    )
    return best / norm


def _random_laws(n_items: int, settings: int, outcomes: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    raw = torch.rand((n_items, settings, outcomes), generator=gen, dtype=torch.float64) ** 3
    raw[raw < 0.05] = 0.0  # zero probabilities, as in hypergraph-state laws
    raw[..., 0] += 1e-3
    return raw / raw.sum(dim=-1, keepdim=True)


def _check_against_brute_force(bounds: probe.MemoryBounds, laws: torch.Tensor) -> None:
    for m in range(bounds.hyperedges + 1):
        optimum = _brute_force_optimum(laws, min(2**m, laws.shape[0]))
        assert bounds.lower[m] <= optimum * (1 + 1e-12) + 1e-15, m
        assert optimum <= bounds.upper[m] * (1 + 1e-12) + 1e-15, m


def test_outcome_laws_match_sequence_generator():
    n, k = 4, 2
    hypergraphs = torch.tensor([0, 5, 37, 63])
    laws = probe.outcome_laws(n, k, hypergraphs)
    bits = ((hypergraphs.unsqueeze(1) >> torch.arange(math.comb(n, k))) & 1).double()
    states = sequence.hypergraph_states(math.pi * bits, n, k)
    settings = probe.setting_bases(n)
    rotated = sequence.rotate_to_bases(
        states.repeat_interleave(len(settings), dim=0), settings.repeat(len(hypergraphs), 1), n
    )
    expected = (rotated.abs() ** 2).reshape(len(hypergraphs), len(settings), 2**n)
    torch.testing.assert_close(laws, expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize(("n", "k"), [(3, 0), (3, 4), (7, 3), (7, 2)])
def test_bad_tasks_raise(n, k):
    with pytest.raises(ValueError, match="probe"):
        probe.outcome_laws(n, k, torch.tensor([0]))


def test_hellinger_bound_on_js_holds_pointwise():
    # the f-divergence inequality behind the pruning bound: f_JS(t) >= ln 2 (sqrt t - 1)^2 / 2
    t = np.exp(np.linspace(-50, 50, 400001))
    f_js = 0.5 * t * np.log(2 * t / (1 + t)) + 0.5 * np.log(2 / (1 + t))
    f_h = 0.5 * (np.sqrt(t) - 1) ** 2
    assert np.all(f_js - probe._HELLINGER_JS * f_h >= -1e-15 * (1 + t))


def test_toy_task_brackets_brute_force_optimum():
    laws = probe.outcome_laws(3, 2, torch.arange(8))
    bounds = probe.memory_bounds(3, 2, progress=False)
    _check_against_brute_force(bounds, laws)
    _check_against_brute_force(probe.partition_bounds(laws), laws)


@pytest.mark.parametrize("n_items", [7, 8])
def test_synthetic_laws_bracket_brute_force_optimum(n_items):
    laws = _random_laws(n_items, settings=5, outcomes=4, seed=n_items)
    bounds = probe.partition_bounds(laws, seed=3)
    _check_against_brute_force(bounds, laws)
    assert bounds.upper[-1] == 0.0 and bounds.lower[-1] == 0.0


def test_matching_is_the_best_pairing_and_bounds_the_optimum():
    laws = probe.outcome_laws(3, 2, torch.arange(8))
    w = probe.pair_cost_matrix(laws)
    total, labels = probe._pairing_from_weights(w)
    norm = 8 * 27 * 3

    def pairings(items):
        if not items:
            yield 0.0
            return
        a = items[0]
        for b in items[1:]:
            rest = [i for i in items if i not in (a, b)]
            for value in pairings(rest):
                yield float(w[a, b]) + value

    assert total == pytest.approx(min(pairings(list(range(8)))), rel=1e-12)
    assert probe.partition_cost(laws, labels) == pytest.approx(total / norm, rel=1e-12)
    # the optimum over <= N/2 cells may use singletons and a larger cell, and on this toy it
    # does: the perfect matching is an upper bound at m = C - 1, not KL*(C - 1)
    optimum = _brute_force_optimum(laws, 4)
    assert optimum < total / norm * (1 - 1e-3)


@pytest.mark.parametrize(("n", "k"), [(4, 2), (4, 3)])
def test_bounds_are_ordered_and_pinned(n, k):
    bounds = probe.memory_bounds(n, k, progress=False)
    c = math.comb(n, k)
    assert bounds.hyperedges == c and len(bounds.lower) == len(bounds.upper) == c + 1
    assert all(lo <= up * (1 + 1e-12) for lo, up in zip(bounds.lower, bounds.upper, strict=False))
    assert bounds.lower[c] == bounds.upper[c] == 0.0
    assert bounds.lower[0] == bounds.upper[0] > 0
    assert bounds.exact[0] and bounds.exact[c]
    assert all(a >= b for a, b in zip(bounds.upper, bounds.upper[1:], strict=False))
    assert all(a >= b for a, b in zip(bounds.lower, bounds.lower[1:], strict=False))
    low, high = bounds.m_star(bounds.upper[c - 1])
    assert low <= high <= c - 1


@pytest.mark.parametrize(("n", "k"), [(4, 2), (4, 3)])
def test_floor_equals_theta_blind_predictor(n, k):
    c = math.comb(n, k)
    laws = probe.outcome_laws(n, k, torch.arange(2**c))
    blind = sequence.theta_blind_probabilities(probe.setting_bases(n), n, k)
    kl = torch.special.xlogy(laws, laws / blind[None].clamp_min(1e-300)).sum(dim=-1)
    floor = float(kl.mean()) / n
    bounds = probe.memory_bounds(n, k, progress=False)
    assert bounds.upper[0] == pytest.approx(floor, rel=1e-10)


@pytest.mark.parametrize(("n", "k"), [(4, 2), (4, 3)])
def test_orbit_nearest_costs_match_all_pairs(n, k):
    laws = probe.outcome_laws(n, k, torch.arange(2 ** math.comb(n, k)))
    direct = probe.nearest_pair_costs(laws)
    torch.testing.assert_close(probe.orbit_nearest_pair_costs(n, k), direct, rtol=1e-10, atol=0)


def test_orbits_respect_pair_costs():
    n, k = 4, 2
    canonical, perm, _reps = probe.hypergraph_orbits(n, k)
    table = probe.edge_permutations(n, k)
    h = torch.tensor([3, 17, 42])
    images = torch.stack(
        [probe.permute_hypergraphs(h[i : i + 1], table[perm[h[i]]]) for i in range(3)]
    )
    assert images.flatten().tolist() == canonical[h].tolist()
    pairs = torch.tensor(list(combinations(range(2 ** math.comb(n, k)), 2))[:40])
    sigma = table[5]
    w = probe.pair_costs(
        probe.outcome_laws(n, k, pairs[:, 0]), probe.outcome_laws(n, k, pairs[:, 1])
    )
    moved = probe.pair_costs(
        probe.outcome_laws(n, k, probe.permute_hypergraphs(pairs[:, 0], sigma)),
        probe.outcome_laws(n, k, probe.permute_hypergraphs(pairs[:, 1], sigma)),
    )
    torch.testing.assert_close(w, moved, rtol=1e-12, atol=1e-12)


def test_same_seed_same_bounds():
    first = probe.memory_bounds(4, 2, seed=5, progress=False)
    second = probe.memory_bounds(4, 2, seed=5, progress=False)
    assert (first.lower, first.upper, first.upper_method) == (
        second.lower,
        second.upper,
        second.upper_method,
    )


def test_bad_arguments_raise():
    bounds = probe.memory_bounds(3, 2, progress=False)
    with pytest.raises(ValueError, match="eps"):
        bounds.m_star(-1.0)
    with pytest.raises(ValueError, match="lower"):
        probe.memory_bounds(3, 2, lower="exact", progress=False)
    blind = probe.memory_bounds(3, 2, lower="none", progress=False)
    assert blind.lower[1:] == (0.0,) * 3 and blind.upper == bounds.upper
