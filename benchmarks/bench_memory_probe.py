"""Time and memory of the contextual paper's exact m-bit memory probe per binary task.

The default profile's contextual stages must fit 8 minutes on 2 cores (issue 20); the probe
enumerates 2^C(n,k) hypergraphs x 3^n settings x 2^n outcomes, so its cost grows steeply with
C(n, k): n = 6, k = 2 (2^15 hypergraphs) is the largest default task. ``peak_rss_mb`` is the
process's peak resident memory after the task (tasks run by growing C, so a jump is its task's).
"""

import resource
import time

from qmlrepro.papers.contextual.probe import memory_bounds

TASKS = [(4, 3), (4, 2), (5, 2), (5, 3), (6, 2)]


def run() -> dict:
    rows = []
    for n, k in TASKS:
        start = time.perf_counter()
        bounds = memory_bounds(n, k, seed=0, progress=False)
        rows.append(
            {
                "n": n,
                "k": k,
                "hyperedges": bounds.hyperedges,
                "hypergraphs": 2**bounds.hyperedges,
                "seconds": round(time.perf_counter() - start, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "m_star_0.01": list(bounds.m_star(0.01)),
            }
        )
    return {"probe": rows}
