"""An exact m-bit classical memory probe for the binary hypergraph-state measurement task.

The task (Anschuetz & Gao, arXiv 2402.08606, in the form of :mod:`qmlrepro.data.sequence`): n
qubits, the C = C(n, k) hyperedges of the complete k-uniform hypergraph in lexicographic order; a
binary hypergraph is an integer h in [0, N), N = 2^C, whose bit e switches hyperedge e on (theta_e
= pi) or off (theta_e = 0). Its state |H_h> = prod_{e in h} CZ_e |+>^n is measured in a setting b
of {X, Y, Z}^n (all 3^n settings equally likely), giving the outcome law P_h^b on 2^n outcomes.

A classical model that keeps m bits of part A is a partition of the N hypergraphs into at most
K = 2^m cells; its best prediction for a cell S is the mixture Q_S^b = mean_{h in S} P_h^b, and its
KL per outcome (by the chain rule, the sum of the n sequential conditional KLs is the KL of the
joint outcome law, whatever the measurement order) is

    KL(partition) = sum_S cost(S) / (N 3^n n),  cost(S) = sum_b sum_{h in S} KL(P_h^b || Q_S^b).

KL*(m) is its minimum over partitions into <= 2^m cells. :func:`memory_bounds` brackets KL*(m)
for every m = 0..C:

* upper bounds from explicit partitions: keep-m-edge-bits (nested blocks of the index), Bregman
  k-means refinements of them, and at m = C - 1 a minimum-weight perfect matching. The matching
  is NOT KL*(C - 1) in general: with N/2 cells a partition may hold singletons and a cell of >= 3
  (on n = 3, k = 2 that is strictly better, see the tests), so it is only an upper bound;
* a rigorous lower bound from nearest-neighbour pair costs (see :func:`nearest_lower_bounds`).

Conventions: settings are indexed s = sum_j b_j 3^j with b_j indexing ``sequence.BASES`` for qubit
j; outcomes are little-endian basis indices, as in ``sequence.rotate_to_bases``. All costs are in
nats; "per outcome" values divide by N 3^n n.
"""

import math
import time
from dataclasses import dataclass
from itertools import combinations, permutations

import networkx as nx
import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from tqdm.auto import tqdm

from qmlrepro.data.sequence import basis_bits, hyperedges
from qmlrepro.training.seeding import torch_generator

MAX_HYPEREDGES = 20
# JS(p, q) >= ln 2 * (1 - sum sqrt(p q)): the pointwise f-divergence inequality
# f_JS(t) >= ln 2 * (sqrt t - 1)^2 / 2 (equality at t = 0, 1, inf). Proof (review of issue 20):
# both generators satisfy t f(1/t) = f(t), so take t = s^2, s in [0, 1]; twice the difference is
# g(s) = 2 s ln 2 + 2 s^2 ln s - (1 + s^2) ln(1 + s^2), g(0) = g(1) = 0; g'(s) = 2 [ln 2 +
# s ln(s^2 / (1 + s^2))], g'(0) > 0, g'(1) = 0; g''(s) = 2 [ln v + 2 (1 - v)], v = s^2/(1 + s^2)
# in [0, 1/2], increasing in v, so g'' changes sign once (- to +): g rises then falls between
# its zeros, g >= 0. Terms with q = 0 have limits ln 2 / 2 vs 1/2. Also checked on a dense grid
# in the tests. Scaled down by 1e-9 so rounding never makes it exceed w.
_HELLINGER_JS = math.log(2) * (1 - 1e-9)
_LOG_FLOOR = -700.0  # log of a zero mixture probability in the k-means assignment GEMM only


def _check_task(n: int, k: int) -> int:
    if not 1 <= k <= n:
        raise ValueError(f"the probe needs 1 <= k <= n, got n={n}, k={k}")
    c = math.comb(n, k)
    if c > MAX_HYPEREDGES:
        raise ValueError(
            f"n={n}, k={k} has C={c} hyperedges: 2^C hypergraphs are too many to enumerate "
            f"(the probe supports C <= {MAX_HYPEREDGES})"
        )
    return c


def setting_bases(n: int) -> torch.Tensor:
    """(3^n, n) long: row s is the setting with basis index (s // 3^j) % 3 on qubit j."""
    s = torch.arange(3**n)
    return torch.stack([(s // 3**j) % 3 for j in range(n)], dim=1)


def outcome_laws(n: int, k: int, hypergraphs: torch.Tensor) -> torch.Tensor:
    """Outcome laws P_h^b of binary hypergraph states in every Pauli setting.

    Args:
        n, k: the task; hyperedges are ``sequence.hyperedges(n, k)``.
        hypergraphs: (B,) integer indices in [0, 2^C); bit e switches hyperedge e on.

    Returns:
        (B, 3^n, 2^n) float64: entry [i, s, x] = |<x| U_s |H_h>|^2 for setting s (see
        :func:`setting_bases`) and little-endian outcome x; equal to ``sequence.rotate_to_bases``
        applied to ``sequence.hypergraph_states(pi * bits, n, k)``.

    Raises:
        ValueError: bad n, k (k < 1, k > n, C > 20).

    The basis changes are applied qubit by qubit to all settings at once (a tree: settings that
    share a prefix share the work); the amplitudes stay Gaussian integers until the final scale,
    so the result is exact to rounding.
    """
    c = _check_task(n, k)
    idx = torch.as_tensor(hypergraphs, dtype=torch.long).reshape(-1)
    b = len(idx)
    bits = ((idx.unsqueeze(1) >> torch.arange(c)) & 1).double()
    xb = basis_bits(n)
    on_edge = torch.stack([xb[:, list(e)].all(dim=1) for e in hyperedges(n, k)], dim=1).double()
    re = (1 - 2 * torch.remainder(bits @ on_edge.T, 2)).reshape(b, 1, 2**n)
    im = torch.zeros_like(re)
    settings = 1
    for j in range(n - 1):
        hi, lo = 2 ** (n - 1 - j), 2**j
        re = re.reshape(b, settings, hi, 2, lo)
        im = im.reshape(b, settings, hi, 2, lo)
        ar, br, ai, bi = re[:, :, :, 0], re[:, :, :, 1], im[:, :, :, 0], im[:, :, :, 1]
        new_re = torch.empty((b, 3, settings, hi, 2, lo), dtype=torch.float64)
        new_im = torch.empty_like(new_re)
        # unnormalised rows of BASIS_ROTATIONS: X (1, 1), (1, -1); Y (1, -i), (1, i); Z identity
        torch.add(ar, br, out=new_re[:, 0, :, :, 0])
        torch.sub(ar, br, out=new_re[:, 0, :, :, 1])
        torch.add(ai, bi, out=new_im[:, 0, :, :, 0])
        torch.sub(ai, bi, out=new_im[:, 0, :, :, 1])
        torch.add(ar, bi, out=new_re[:, 1, :, :, 0])
        torch.sub(ar, bi, out=new_re[:, 1, :, :, 1])
        torch.sub(ai, br, out=new_im[:, 1, :, :, 0])
        torch.add(ai, br, out=new_im[:, 1, :, :, 1])
        new_re[:, 2] = re
        new_im[:, 2] = im
        settings *= 3
        re, im = new_re.reshape(b, settings, 2**n), new_im.reshape(b, settings, 2**n)
    # the last qubit straight to probabilities: |a +- b|^2 = |a|^2 + |b|^2 +- 2 Re(a conj b),
    # |a -+ i b|^2 = |a|^2 + |b|^2 +- 2 Im(a conj b), Z: |a|^2, |b|^2
    half = 2 ** (n - 1)
    ar, br, ai, bi = re[..., :half], re[..., half:], im[..., :half], im[..., half:]
    out = torch.empty((b, 3, settings, 2, half), dtype=torch.float64)
    za, zb = out[:, 2, :, 0], out[:, 2, :, 1]
    torch.addcmul(ar * ar, ai, ai, out=za)
    torch.addcmul(br * br, bi, bi, out=zb)
    total = za + zb
    cross = torch.addcmul(ar * br, ai, bi).mul_(2)
    torch.add(total, cross, out=out[:, 0, :, 0])
    torch.sub(total, cross, out=out[:, 0, :, 1])
    torch.addcmul(ar * bi, ai, br, value=-1, out=cross).mul_(2)
    torch.add(total, cross, out=out[:, 1, :, 0])
    torch.sub(total, cross, out=out[:, 1, :, 1])
    settings *= 3
    rotated = (setting_bases(n) != 2).sum(dim=1)
    scale = torch.pow(2.0, -(rotated + n).double())
    return out.reshape(b, settings, 2**n) * scale[:, None]


def _kl_rows(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """sum over the last axis of p log(p / q) (nats), with 0 log 0 = 0; q > 0 wherever p > 0."""
    return torch.special.xlogy(p, p / q.clamp_min(1e-300)).sum(dim=-1)


def pair_costs(laws_a: torch.Tensor, laws_b: torch.Tensor) -> torch.Tensor:
    """w(a, b) = cost({a, b}) = min_Q [KL(P_a || Q) + KL(P_b || Q)] = 2 JS(P_a, P_b), summed
    over settings.

    Args:
        laws_a, laws_b: broadcastable (..., S, O) float64 outcome laws.

    Returns:
        (...) float64, nats (not per outcome).
    """
    mean = (laws_a + laws_b) / 2
    return (_kl_rows(laws_a, mean) + _kl_rows(laws_b, mean)).sum(dim=-1)


def _outcome_bits(laws: torch.Tensor) -> int:
    o = laws.shape[-1]
    bits = o.bit_length() - 1
    if o != 2**bits or bits < 1:
        raise ValueError(f"laws need 2^n >= 2 outcomes on the last axis, got {o}")
    return bits


def partition_cost(laws: torch.Tensor, labels: torch.Tensor) -> float:
    """KL per outcome of the partition ``labels`` (nats).

    Args:
        laws: (N, S, 2^n) float64 outcome laws (S settings, equally likely).
        labels: (N,) integer cell of each element.

    Returns:
        sum_S sum_{h in S} sum_b KL(P_h^b || Q_S^b) / (N S n), Q_S the cell's mean law.

    Raises:
        ValueError: the last axis of ``laws`` is not a power of two >= 2.
    """
    n = _outcome_bits(laws)
    labels = torch.as_tensor(labels, dtype=torch.long)
    _, cell = torch.unique(labels, return_inverse=True)
    cells = int(cell.max()) + 1
    sums = torch.zeros((cells, *laws.shape[1:]), dtype=torch.float64).index_add_(0, cell, laws)
    means = sums / torch.bincount(cell, minlength=cells).double()[:, None, None]
    total = _kl_rows(laws, means[cell]).sum()
    return float(total) / (laws.shape[0] * laws.shape[1] * n)


def pair_cost_matrix(laws: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """(N, N) float64 matrix of w(h, h') (nats; diagonal 0) for small N: N^2 S 2^n work."""
    n_items = laws.shape[0]
    out = torch.zeros((n_items, n_items), dtype=torch.float64)
    for start in range(0, n_items, chunk):
        part = laws[start : start + chunk]
        out[start : start + chunk] = pair_costs(part[:, None], laws[None])
    return out


def nearest_pair_costs(laws: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """d_h = min_{h' != h} w(h, h') by all pairs: (N,) float64 nats; N >= 2."""
    if laws.shape[0] < 2:
        raise ValueError("nearest pair costs need at least 2 laws")
    w = pair_cost_matrix(laws, chunk)
    w.fill_diagonal_(math.inf)
    return w.min(dim=1).values


def cells_lower_bound(d: torch.Tensor, cells: int) -> float:
    """Counting lower bound (nats, total) on the cost of any partition of the N elements into
    <= ``cells`` cells, from nearest-neighbour pair costs d (N,) float64.

    Argument: in a cell S with |S| >= 2 and per-element terms t_h = sum_b KL(P_h^b || Q_S^b),
    any two h, h' in S have t_h + t_h' >= min_Q [KL(P_h||Q) + KL(P_h'||Q)] = w(h, h') >=
    max(d_h, d_h'); summing round a cycle through S (each element in two consecutive pairs) gives
    2 sum_S t_h >= sum_S d_h; singletons cost 0. With K < N cells at least one cell is not a
    singleton, so there are at most K - 1 singletons and at least N - K + 1 elements in
    non-singleton cells: cost >= (1/2) (sum of the N - K + 1 smallest d_h).

    (The bound max(N - K + 1, 2 (N - K)) of the original brief is wrong: N - u elements in K - u
    cells of size >= 2 gives u >= 2K - N, a lower, not an upper, limit on the singletons u; K - 1
    singletons and one large cell is a valid partition.)
    """
    n_items = d.shape[0]
    if cells >= n_items:
        return 0.0
    used = n_items - cells + 1
    return 0.5 * float(torch.sort(d).values[:used].sum())


def size_lower_bound(
    rows: torch.Tensor, weights: torch.Tensor, cells: int, lambdas: int = 64
) -> float:
    """Lagrangian lower bound (nats, total) on any partition into <= ``cells`` cells.

    Args:
        rows: (R, M) float64, row r a lower bound on w(h_r, h') for every h' != h_r (M = N - 1
            entries, any order); rows may stand for whole symmetry orbits.
        weights: (R,) how many elements each row stands for (they sum to N).
        cells: K.

    Argument: in a cell S of size s >= 2, summing t_h + t_h' >= w(h, h') over all pairs of S
    gives (s - 1) sum_S t_h >= sum_{pairs} w >= (1/2) sum_{h in S} D_h(s - 1), D_h(j) the sum of
    the j smallest lower-bound entries of h's row, so cost(S) >= sum_{h in S} g_h(s) with
    g_h(s) = D_h(s - 1) / (2 (s - 1)), g_h(1) = 0. Any partition into <= K cells gives each
    element a size s_h with sum_h 1/s_h = (number of cells) <= K, so for every lambda >= 0
    (weak duality) cost >= sum_h min_s [g_h(s) + lambda / s] - lambda K. The maximum over a
    geometric grid of lambda is returned.
    """
    return size_lower_bounds(rows, weights, [cells], lambdas)[0]


def size_lower_bounds(
    rows: torch.Tensor, weights: torch.Tensor, cells: list[int], lambdas: int = 64
) -> list[float]:
    """:func:`size_lower_bound` for several K at once (the inner minima do not depend on K)."""
    n_items = int(weights.sum())
    sizes = torch.arange(2, rows.shape[1] + 2, dtype=torch.float64)
    g = torch.cumsum(torch.sort(rows, dim=1).values, dim=1) / (2 * (sizes - 1))
    scale = float(g[:, 0].max().clamp_min(1e-12))
    grid = scale * torch.logspace(-2, 2 + math.log10(n_items), lambdas, dtype=torch.float64)
    dual = torch.empty(lambdas, dtype=torch.float64)
    for i, lam in enumerate(grid):
        per = torch.minimum((g + lam / sizes).min(dim=1).values, lam)
        dual[i] = (per * weights).sum()
    return [0.0 if k >= n_items else max(0.0, float((dual - grid * k).max())) for k in cells]


def _pairing_from_weights(w: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Minimum-weight perfect matching of the complete graph with weights w (N, N), networkx."""
    n_items = w.shape[0]
    wn = w.numpy()
    graph = nx.Graph()
    graph.add_weighted_edges_from(
        (i, j, float(wn[i, j])) for i in range(n_items) for j in range(i + 1, n_items)
    )
    matching = nx.min_weight_matching(graph)
    labels = torch.empty(n_items, dtype=torch.long)
    total = 0.0
    for cell, (i, j) in enumerate(sorted(tuple(sorted(p)) for p in matching)):
        labels[i] = labels[j] = cell
        total += float(wn[i, j])
    return total, labels


def improve_pairing(laws: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Greedy local improvement of a perfect pairing at the same number of cells: two pairs
    {a, b}, {c, d} become a singleton and a triple when that lowers the cost (a perfect matching
    is not optimal among partitions into N/2 cells). Disjoint best moves first, one round.

    Args:
        laws: (N, S, O) float64; labels: (N,) long, every cell a pair.

    Returns:
        (N,) long labels, never costlier than ``labels``.
    """
    pairs = [torch.nonzero(labels == c).flatten().tolist() for c in torch.unique(labels).tolist()]
    if any(len(p) != 2 for p in pairs) or len(pairs) < 2:
        return labels
    w = {tuple(p): float(pair_costs(laws[p[0]], laws[p[1]])) for p in pairs}
    moves = []
    for i, j in combinations(range(len(pairs)), 2):
        four = pairs[i] + pairs[j]
        triples = torch.tensor([[x for x in four if x != single] for single in four])
        part = laws[triples]  # (4, 3, S, O)
        mean = part.mean(dim=1, keepdim=True)
        cost = _kl_rows(part, mean.expand_as(part)).sum(dim=(1, 2))
        best = int(cost.argmin())
        gain = w[tuple(pairs[i])] + w[tuple(pairs[j])] - float(cost[best])
        if gain > 0:
            moves.append((gain, i, j, four[best]))
    new = labels.clone()
    used: set[int] = set()
    for _, i, j, single in sorted(moves, reverse=True):
        if i in used or j in used:
            continue
        used.update((i, j))
        for x in pairs[i] + pairs[j]:
            new[x] = labels[pairs[i][0]]
        new[single] = labels[pairs[j][0]]
    return new


def random_start(laws: torch.Tensor, cells: int, generator: torch.Generator) -> torch.Tensor:
    """(N,) long labels in [0, cells): each element joins the nearest (in KL) of ``cells``
    distinct random elements, whose laws are mixed half-half with the overall mean (no zeros)."""
    flat = laws.reshape(laws.shape[0], -1)
    centres = torch.randperm(flat.shape[0], generator=generator)[:cells]
    q = 0.5 * flat[centres] + 0.5 * flat.mean(dim=0, keepdim=True)
    labels = (flat @ torch.log(q).clamp_min(_LOG_FLOOR).T).argmax(dim=1)
    _, labels = torch.unique(labels, return_inverse=True)
    return labels


def bregman_kmeans(
    laws: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator,
    max_iter: int = 25,
    tolerance: float = 1e-5,
) -> torch.Tensor:
    """Lloyd's algorithm for the KL (Bregman) partition cost, from ``labels``.

    Args:
        laws: (N, S, O) float64. labels: (N,) long initial cells in [0, K).
        generator: draws the element that re-seeds a cell that went empty (among the 8 worst).

    Returns:
        (N,) long labels of the best partition seen (never worse than the start): assignment
        h -> argmax_c sum_b <P_h^b, log Q_c^b> (a GEMM), then Q_c = cell means, until the cost
        decreases by less than ``tolerance`` (relative) or after ``max_iter`` rounds.
    """
    flat = laws.reshape(laws.shape[0], -1)
    cells = int(labels.max()) + 1
    best_labels, best_cost = labels.clone(), math.inf
    neg_entropy = torch.special.xlogy(flat, flat).sum(dim=1)
    for _ in range(max_iter):
        counts = torch.bincount(labels, minlength=cells).double()
        means = torch.zeros((cells, flat.shape[1]), dtype=torch.float64).index_add_(0, labels, flat)
        means /= counts.clamp_min(1)[:, None]
        score = flat @ torch.log(means).clamp_min(_LOG_FLOOR).T
        # KL(P_h || Q_own): Q_own > 0 wherever P_h > 0, so the clamp never touches it
        per_item = neg_entropy - score.gather(1, labels[:, None]).squeeze(1)
        cost = float(per_item.sum())
        if cost >= best_cost * (1 - tolerance):
            if cost < best_cost:
                best_cost, best_labels = cost, labels.clone()
            break
        best_cost, best_labels = cost, labels.clone()
        score[:, counts == 0] = -math.inf
        labels = score.argmax(dim=1)
        empty = torch.nonzero(torch.bincount(labels, minlength=cells) == 0).flatten()
        if len(empty):
            worst = torch.argsort(per_item, descending=True)[: 8 * len(empty)]
            pick = worst[torch.randperm(len(worst), generator=generator)[: len(empty)]]
            labels[pick] = empty[: len(pick)]
    return best_labels


@dataclass(frozen=True)
class MemoryBounds:
    """Bounds on KL*(m), m = 0..C, nats per outcome (see the module docstring)."""

    n: int
    k: int
    hyperedges: int  # C
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    upper_method: tuple[str, ...]
    exact: tuple[bool, ...]  # lower[m] == upper[m] to 1e-12 (always m = 0 and m = C)
    seconds: float

    def m_star(self, eps: float) -> tuple[int, int]:
        """(smallest m with lower(m) <= eps, smallest m with upper(m) <= eps): the smallest m
        with KL*(m) <= eps lies in this bracket.

        Raises:
            ValueError: eps < 0."""
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        low = next(m for m, v in enumerate(self.lower) if v <= eps)
        high = next(m for m, v in enumerate(self.upper) if v <= eps)
        return low, high


def _finish(
    n: int,
    k: int,
    levels: int,
    lower: list[float],
    upper: list[float],
    methods: list[str],
    started: float,
) -> MemoryBounds:
    for m in range(1, levels + 1):  # more cells never hurt
        if upper[m - 1] < upper[m]:
            upper[m], methods[m] = upper[m - 1], methods[m - 1]
    for m in range(levels - 1, -1, -1):  # fewer cells never help
        lower[m] = max(lower[m], lower[m + 1])
    for m in range(levels + 1):
        if lower[m] > upper[m] * (1 + 1e-12) + 1e-15:
            raise RuntimeError(
                f"probe bug: lower bound {lower[m]} exceeds upper bound {upper[m]} at m={m}"
            )
        lower[m] = min(lower[m], upper[m])
    exact = tuple(upper[m] <= lower[m] * (1 + 1e-12) + 1e-15 for m in range(levels + 1))
    return MemoryBounds(
        n, k, levels, tuple(lower), tuple(upper), tuple(methods), exact, time.time() - started
    )


def partition_bounds(
    laws: torch.Tensor,
    *,
    seed: int = 0,
    matching_max_nodes: int = 256,
    kmeans_max_ops: float = 2e9,
) -> MemoryBounds:
    """The bounds of :func:`memory_bounds` for any small set of laws (all pairs computed).

    Args:
        laws: (N, S, 2^n) float64, element h's laws in S equally likely settings.

    Returns:
        MemoryBounds with n = outcome bits, k = 0, hyperedges = ceil(log2 N); level m allows
        min(2^m, N) cells; keep-edges cells are the index blocks h >> (levels - m).
    """
    started = time.time()
    n_items, settings = laws.shape[:2]
    n = _outcome_bits(laws)
    levels = max(1, (n_items - 1).bit_length())
    norm = n_items * settings * n
    w = pair_cost_matrix(laws)
    rows = torch.stack([torch.cat([w[i, :i], w[i, i + 1 :]]) for i in range(n_items)])
    d = rows.min(dim=1).values
    ones = torch.ones(n_items, dtype=torch.float64)
    gen = torch_generator(seed, "probe", "partition", n_items)
    index = torch.arange(n_items)
    sized = size_lower_bounds(rows, ones, [min(2**m, n_items) for m in range(levels + 1)])
    lower, upper, methods = [], [], []
    for m in range(levels + 1):
        cells = min(2**m, n_items)
        lo = max(cells_lower_bound(d, cells), sized[m])
        lower.append(lo / norm)
        labels = index >> (levels - m)
        best, method = partition_cost(laws, labels), "keep-edges"
        if m > 0 and n_items * laws[0].numel() * cells <= kmeans_max_ops:
            _, start = torch.unique(labels, return_inverse=True)
            for init in (start, random_start(laws, cells, gen)):
                refined = partition_cost(laws, bregman_kmeans(laws, init, gen))
                if refined < best:
                    best, method = refined, "kmeans"
        if 2 * cells == n_items and n_items <= matching_max_nodes:
            _, pairing = _pairing_from_weights(w)
            for labels_c, name in (
                (pairing, "matching"),
                (improve_pairing(laws, pairing), "matching+triples"),
            ):
                value = partition_cost(laws, labels_c)
                if value < best:
                    best, method = value, name
        upper.append(best)
        methods.append(method)
    lower[0] = upper[0]
    return _finish(n, 0, levels, lower, upper, methods, started)


def edge_permutations(n: int, k: int) -> torch.Tensor:
    """(n!, C) long: row p maps hyperedge e to the position of its image under the p-th vertex
    permutation (itertools order; row 0 is the identity)."""
    edges = hyperedges(n, k)
    position = {e: i for i, e in enumerate(edges)}
    rows = [
        [position[tuple(sorted(perm[v] for v in e))] for e in edges]
        for perm in permutations(range(n))
    ]
    return torch.tensor(rows, dtype=torch.long)


def permute_hypergraphs(hypergraphs: torch.Tensor, edge_perm: torch.Tensor) -> torch.Tensor:
    """Relabel hypergraph indices (B,) by an edge permutation (C,): bit e moves to edge_perm[e]."""
    c = edge_perm.shape[0]
    bits = (hypergraphs.unsqueeze(1) >> torch.arange(c)) & 1
    return (bits << edge_perm).sum(dim=1)


def hypergraph_orbits(n: int, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """S_n orbits of the 2^C hypergraphs (qubit permutations act on hyperedges).

    Returns:
        canonical (N,) long: the orbit's smallest index; perm (N,) long: the row p of
        :func:`edge_permutations` with permute(h, row p) = canonical[h]; reps (R,) long: the
        sorted canonical indices. w(h, h') = w(sigma h, sigma h') for any qubit permutation
        sigma, because the uniform average over settings is permutation symmetric.
    """
    c = _check_task(n, k)
    table = edge_permutations(n, k)
    index = torch.arange(2**c)
    bits = basis_bits(c).long()
    canonical, perm = index.clone(), torch.zeros_like(index)
    for p in range(1, table.shape[0]):
        image = (bits << table[p]).sum(dim=1)
        better = image < canonical
        canonical[better], perm[better] = image[better], p
    return canonical, perm, torch.unique(canonical)


def _block_size(n_items: int, width: int, budget_bytes: float = 1.5e8) -> int:
    block = 1
    while block * 2 <= n_items and block * 2 * width * 8 <= budget_bytes:
        block *= 2
    return block


def memory_bounds(
    n: int,
    k: int,
    *,
    seed: int = 0,
    matching_max_nodes: int = 256,
    kmeans_max_ops: float = 2e9,
    kmeans_max_bytes: float = 1.2e9,
    lower: str = "nearest",
    progress: bool = True,
) -> MemoryBounds:
    """Bounds on KL*(m) (nats per outcome), m = 0..C, for the binary task (n, k).

    Args:
        n, k: the task. seed: names the k-means generator stream (``"probe"``, n, k).
        matching_max_nodes: at m = C - 1, the exact minimum-weight perfect matching of all
            pairs (networkx) plus :func:`improve_pairing` when N <= this, and then also exact
            all-pairs rows for the size bound; above it, the minimum-weight perfect matching of
            the single-edge-flip (hypercube, bipartite) graph. Either is an upper bound only.
        kmeans_max_ops: k-means refines level m when N * 3^n 2^n * 2^m <= this (per iteration);
            it also needs all laws in memory (N * 3^n 2^n * 8 <= ``kmeans_max_bytes``).
        lower: "nearest" (exact d_h by branch and bound over orbit representatives, plus the
            Lagrangian size bound) or "none" (lower = 0 except the exact floor at m = 0).
        progress: tqdm bars (``disable=None``: only on a terminal).

    Returns:
        :class:`MemoryBounds`. upper[0] = lower[0] = the theta-blind floor; upper[C] = 0.

    Raises:
        ValueError: bad n, k (k < 1, k > n, C > 20) or an unknown ``lower``.

    Lower bounds: :func:`cells_lower_bound` and :func:`size_lower_bound`. The rows fed to the
    latter are, for each orbit representative r, max(Hellinger bound, exact w) against every h':
    JS(p, q) >= ln 2 (1 - sum sqrt(p q)) gives w(r, h') >= 2 ln 2 (3^n - <sqrt P_r, sqrt P_h'>),
    one GEMM over the flattened laws. d_r = min_h' w(r, h') is exact by branch and bound: exact w
    for the single-edge flips first, then for candidates in increasing order of the Hellinger
    bound until that bound reaches the best exact w.
    """
    started = time.time()
    c = _check_task(n, k)
    if lower not in ("nearest", "none"):
        raise ValueError(f"lower must be 'nearest' or 'none', got {lower!r}")
    n_items, settings, width = 2**c, 3**n, 3**n * 2**n
    norm = n_items * settings * n
    bar = None if progress else True
    canonical, perm, reps = hypergraph_orbits(n, k)
    table = edge_permutations(n, k)
    rep_of = torch.searchsorted(reps, canonical)
    orbit_sizes = torch.bincount(rep_of, minlength=len(reps)).double()
    want_lower = lower == "nearest"
    sqrt_reps = outcome_laws(n, k, reps).reshape(len(reps), -1).sqrt() if want_lower else None
    overlap = torch.empty((len(reps), n_items), dtype=torch.float64) if want_lower else None
    keep_all = n_items * width * 8 <= kmeans_max_bytes
    stored = torch.empty((n_items, width), dtype=torch.float64) if keep_all else None

    # one pass over the laws: keep-edges merge costs inside each block, overlaps with the reps
    increments = [0.0] * c  # increments[m]: cost(level m) - cost(level m + 1), nats
    block = _block_size(n_items, width)
    inner = block.bit_length() - 1
    means = torch.empty((n_items // block, width), dtype=torch.float64)
    for b0 in tqdm(range(0, n_items, block), desc=f"probe n={n} k={k} laws", disable=bar):
        cur = outcome_laws(n, k, torch.arange(b0, b0 + block)).reshape(block, width)
        if keep_all:
            stored[b0 : b0 + block] = cur
        if want_lower:
            overlap[:, b0 : b0 + block] = sqrt_reps @ cur.sqrt().T
        for m in range(c - 1, c - 1 - inner, -1):
            cur = _merge_pairs(cur, increments, m, 2 ** (c - m - 1))
        means[b0 // block] = cur[0]
    cur = means
    for m in range(c - 1 - inner, -1, -1):
        cur = _merge_pairs(cur, increments, m, 2 ** (c - m - 1))
    upper = [sum(increments[m:]) / norm for m in range(c)] + [0.0]
    methods = ["keep-edges"] * c + ["identity"]

    if keep_all:
        gen = torch_generator(seed, "probe", n, k)
        laws3 = stored.reshape(n_items, settings, 2**n)
        index = torch.arange(n_items)
        for m in tqdm(range(1, c), desc="k-means", disable=bar):
            if n_items * width * 2**m > kmeans_max_ops:
                break
            for start in (index >> (c - m), random_start(laws3, 2**m, gen)):
                value = partition_cost(laws3, bregman_kmeans(laws3, start, gen))
                if value < upper[m]:
                    upper[m], methods[m] = value, "kmeans"

    flips = torch.tensor([[1 << e for e in range(c)]]) ^ reps[:, None]  # (R, C)
    flip_w = torch.stack(
        [
            pair_costs(outcome_laws(n, k, reps[i : i + 1]), outcome_laws(n, k, flips[i]))
            for i in range(len(reps))
        ]
    )
    if n_items <= matching_max_nodes:
        laws_all = stored.reshape(n_items, settings, 2**n) if keep_all else None
        if laws_all is None:
            laws_all = outcome_laws(n, k, torch.arange(n_items))
        all_pairs = pair_cost_matrix(laws_all)
        total, pairing = _pairing_from_weights(all_pairs)
        method = "matching"
        improved = improve_pairing(laws_all, pairing)
        value = partition_cost(laws_all, improved) * norm
        if value < total:
            total, method = value, "matching+triples"
    else:
        total = _hypercube_pairing(flip_w, rep_of, perm, table)
        method = "flip-matching"
    if total / norm < upper[c - 1]:
        upper[c - 1], methods[c - 1] = total / norm, method

    lows = [0.0] * (c + 1)
    if want_lower:
        rows, d_reps = _nearest_by_orbits(n, k, reps, overlap, flip_w, settings, bar)
        if n_items <= matching_max_nodes:  # exact rows are at hand: a tighter size bound
            rows = all_pairs[reps].clone()
            rows[torch.arange(len(reps)), reps] = math.inf
        d = d_reps[rep_of]
        sized = size_lower_bounds(rows, orbit_sizes, [2**m for m in range(c + 1)])
        for m in range(1, c):
            lows[m] = max(cells_lower_bound(d, 2**m), sized[m]) / norm
    lows[0] = upper[0]
    return _finish(n, k, c, lows, upper, methods, started)


def _merge_pairs(cur: torch.Tensor, increments: list[float], m: int, half: int) -> torch.Tensor:
    """Merge adjacent rows (cells of ``half`` elements each) into level-m cells; add the cost
    |A| [KL(Q_A || Q_S) + KL(Q_B || Q_S)] (the compensation identity) to increments[m]."""
    a, b = cur[0::2], cur[1::2]
    mean = (a + b) / 2
    increments[m] += half * float((_kl_rows(a, mean) + _kl_rows(b, mean)).sum())
    return mean


def _hypercube_pairing(
    flip_w: torch.Tensor, rep_of: torch.Tensor, perm: torch.Tensor, table: torch.Tensor
) -> float:
    """Minimum-weight perfect matching restricted to single-edge flips (h, h ^ 2^e): bipartite
    by the parity of the number of hyperedges, solved by scipy; w(h, h ^ 2^e) =
    w(r, r ^ 2^sigma(e)) with sigma the permutation taking h to its representative r."""
    n_items, c = rep_of.shape[0], table.shape[1]
    index = torch.arange(n_items)
    parity = torch.tensor([bin(i).count("1") & 1 for i in range(n_items)])
    rank = torch.empty(n_items, dtype=torch.long)
    even, odd = index[parity == 0], index[parity == 1]
    rank[even], rank[odd] = torch.arange(len(even)), torch.arange(len(odd))
    moved = table[perm[even]]  # (E, C): image of each edge under h's canonicalising permutation
    weights = flip_w[rep_of[even][:, None], moved]
    partners = even[:, None] ^ (1 << torch.arange(c))[None]
    rows = rank[even][:, None].expand(-1, c).reshape(-1).numpy()
    cols = rank[partners].reshape(-1).numpy()
    # integer-valued weights: scipy's LAPJVsp can cycle forever on float ties (seen on n=5, k=3);
    # the matching is then scored with the exact weights, so it stays a valid upper bound
    ranked = np.round(weights.reshape(-1).numpy() * 1e6) + 1
    graph = coo_matrix((ranked, (rows, cols)), shape=(len(even), len(odd)))
    row_ind, col_ind = min_weight_full_bipartite_matching(graph.tocsr())
    exact = dict(
        zip(
            zip(rows.tolist(), cols.tolist(), strict=False),
            weights.reshape(-1).tolist(),
            strict=False,
        )
    )
    return sum(exact[pair] for pair in zip(row_ind.tolist(), col_ind.tolist(), strict=False))


def _nearest_by_orbits(
    n: int,
    k: int,
    reps: torch.Tensor,
    overlap: torch.Tensor,
    flip_w: torch.Tensor,
    settings: int,
    bar: bool | None,
    batch: int = 32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per representative r: lower-bound rows max(Hellinger, exact) over all h' (self = inf)
    and the exact d_r by branch and bound. Returns (rows (R, N), d (R,))."""
    c = flip_w.shape[1]
    rows = (2 * _HELLINGER_JS * (settings - overlap)).clamp_min(0.0)
    d = torch.empty(len(reps), dtype=torch.float64)
    for i in tqdm(range(len(reps)), desc=f"nearest n={n} k={k}", disable=bar):
        r = int(reps[i])
        row = rows[i]
        row[r] = math.inf
        flips = r ^ (1 << torch.arange(c))
        row[flips] = torch.maximum(row[flips], flip_w[i])
        best = float(flip_w[i].min())
        done = torch.zeros_like(row, dtype=torch.bool)
        done[flips] = True
        done[r] = True
        bound, order = torch.sort(row)  # ascending; later exact patches do not reorder it
        laws_r = outcome_laws(n, k, reps[i : i + 1])
        for start in range(0, len(order), batch):
            if float(bound[start]) >= best:  # every later h' has w >= its bound >= best
                break
            cand = order[start : start + batch]
            cand = cand[(~done[cand]) & (bound[start : start + batch] < best)]
            if len(cand) == 0:
                continue
            exact = pair_costs(laws_r, outcome_laws(n, k, cand))
            row[cand] = torch.maximum(row[cand], exact)
            done[cand] = True
            best = min(best, float(exact.min()))
        d[i] = best
    return rows, d


def orbit_nearest_pair_costs(n: int, k: int, progress: bool = False) -> torch.Tensor:
    """d_h = min_{h' != h} w(h, h') for all N hypergraphs of task (n, k), (N,) float64 nats:
    exact by branch and bound on one representative per S_n orbit, broadcast to the orbit
    (the same routine :func:`memory_bounds` runs inside its single pass over the laws)."""
    c = _check_task(n, k)
    n_items = 2**c
    _, _, reps = hypergraph_orbits(n, k)
    canonical, _, _ = hypergraph_orbits(n, k)
    sqrt_reps = outcome_laws(n, k, reps).reshape(len(reps), -1).sqrt()
    block = _block_size(n_items, 3**n * 2**n)
    overlap = torch.cat(
        [
            sqrt_reps @ outcome_laws(n, k, torch.arange(b0, b0 + block)).reshape(block, -1).sqrt().T
            for b0 in range(0, n_items, block)
        ],
        dim=1,
    )
    flips = torch.tensor([[1 << e for e in range(c)]]) ^ reps[:, None]
    flip_w = torch.stack(
        [
            pair_costs(outcome_laws(n, k, reps[i : i + 1]), outcome_laws(n, k, flips[i]))
            for i in range(len(reps))
        ]
    )
    _, d = _nearest_by_orbits(n, k, reps, overlap, flip_w, 3**n, None if progress else True)
    return d[torch.searchsorted(reps, canonical)]
