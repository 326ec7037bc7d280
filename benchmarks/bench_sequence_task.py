"""Throughput and memory of the exact hypergraph-state task generator vs qubit count.

The contextual paper's sweep needs n up to 9 (paper profile) with thousands of angle draws; this
shows where exact statevector labels stop being cheap. ``peak_rss_mb`` is the process's peak
resident memory after the case (cases run by growing n, so a jump belongs to its case): the
theta-blind labels once held classes x chunk x amplitudes (16.9 GB per chunk at n = 12, k = 3,
killed for memory); the closed form holds O(chunk 2^n).
"""

import math
import resource
import time

import torch

from qmlrepro.data.sequence import SequenceTaskSpec, sample_split


def run() -> dict:
    rows = []
    for n, k in [(4, 2), (6, 2), (8, 2), (8, 3), (10, 3), (12, 3)]:
        spec = SequenceTaskSpec(n, k, n_train_thetas=256, n_test_thetas=1, sequences_per_theta=4)
        gen = torch.Generator().manual_seed(0)
        thetas = (
            2 * math.pi * torch.rand((256, math.comb(n, k)), generator=gen, dtype=torch.float64)
        )
        start = time.perf_counter()
        sample_split(spec, thetas, gen)
        elapsed = time.perf_counter() - start
        rows.append(
            {
                "n": n,
                "k": k,
                "sequences": 1024,
                "seconds": round(elapsed, 3),
                "sequences_per_s": round(1024 / elapsed, 1),
                # One generator chunk holds 512 complex128 statevectors of 2^n amplitudes.
                "chunk_state_mb": round(512 * 2**n * 16 / 2**20, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    return {"generator": rows}
