"""Keep large tensor buffers in the process instead of mapping fresh pages for each.

glibc serves every allocation above its mmap threshold (at most 32 MiB on 64-bit) with a fresh
``mmap`` and returns it with ``munmap`` when freed; the next state of that size is page-faulted
in again, and the kernel zeroes every page. Statevectors of 18+ qubits at batch 32 are such
buffers: measured here (n = 18, batch 32, complex64, forward + backward of the issue-3 ansatz,
1 thread) 2.2 s of CPU per step of which 1.3 s system time, and with the setting below 0.75 s
(system ~0.02 s), peak RSS 1.3 -> 2.0 GB (freed buffers stay mapped for reuse). Numbers are
unchanged: only where the bytes live changes. ``make bench`` has the row (``large_state``).
"""

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # mallopt(3) parameter numbers (malloc.h)
OPT_OUT = "QMLREPRO_MALLOC"  # set to "default" to keep glibc's own behaviour


def reuse_freed_memory() -> bool:
    """Ask glibc to serve large allocations from the heap (``M_MMAP_MAX = 0``) and never give
    freed heap memory back (``M_TRIM_THRESHOLD`` at its maximum), so buffers are reused at memory
    speed. Idempotent; applies to the whole process from the call on.

    Returns:
        True if applied; False on a C library without ``mallopt`` (macOS, musl) or when
        ``$QMLREPRO_MALLOC=default``.
    """
    if os.environ.get(OPT_OUT, "").lower() == "default":
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
