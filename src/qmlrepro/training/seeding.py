"""Reproducible randomness: one run seed, one independent stream per component.

Every consumer of randomness derives its own seed from the run's seed and a tuple of keys naming
it (``derive_seed(seed, "init", "trunk")``, ``derive_seed(seed, "data_order", epoch)``), through
NumPy's :class:`numpy.random.SeedSequence` spawn keys. Streams of different keys are statistically
independent, and no component's draws depend on how much randomness another consumed: a classical
and a quantum model with the same run seed start from the same trunk weights and see the same
batches, whatever their representation networks draw (the pairing of paired comparisons).

Bit-reproducibility also needs a fixed thread count (floating-point reductions are split by
thread) and deterministic kernels: :func:`configure_determinism` sets both, and the thread count
is part of every run's config (``torch_threads``, fixed per profile).
"""

import hashlib
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

SEED_BITS = 63  # derived seeds fit a signed 64-bit integer (torch.Generator, Aer, Qiskit)


def _key_word(key: str | int) -> int:
    """A non-negative integer naming ``key``: ints as they are, strings by their SHA-256 (stable
    across processes and Python versions, unlike ``hash``)."""
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"seed keys are str or int, not {type(key).__name__}")
    if isinstance(key, int):
        if key < 0:
            raise ValueError(f"integer seed keys must be >= 0, got {key}")
        return key
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def derive_seed(seed: int, *keys: str | int) -> int:
    """The seed of the random stream named ``keys`` under run seed ``seed``.

    ``SeedSequence(entropy=seed, spawn_key=keys)`` is NumPy's construction for independent child
    streams; its first 64 output bits, masked to 63, are the derived seed. Deterministic across
    processes and platforms.

    Args:
        seed: the run seed, an int >= 0.
        keys: what consumes the stream, e.g. ``("init", "trunk")`` or ``("data_order", 3)``;
            strings and non-negative ints.

    Returns:
        An int in [0, 2**63).

    Raises:
        ValueError: a negative seed or integer key. TypeError: a key of another type.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    sequence = np.random.SeedSequence(seed, spawn_key=tuple(_key_word(k) for k in keys))
    return int(sequence.generate_state(1, np.uint64)[0]) & ((1 << SEED_BITS) - 1)


def torch_generator(seed: int, *keys: str | int, device: str | torch.device = "cpu"):
    """A fresh :class:`torch.Generator` on ``device`` seeded with ``derive_seed(seed, *keys)``."""
    return torch.Generator(device=device).manual_seed(derive_seed(seed, *keys))


def numpy_generator(seed: int, *keys: str | int) -> np.random.Generator:
    """A fresh :class:`numpy.random.Generator` seeded with ``derive_seed(seed, *keys)``."""
    return np.random.default_rng(derive_seed(seed, *keys))


@contextmanager
def seeded(seed: int, *keys: str | int) -> Iterator[None]:
    """Run the body with torch's global generator seeded by ``derive_seed(seed, *keys)``, and
    restore the global state afterwards: for code that draws from the global generator and takes
    no ``generator=`` (``nn.Linear``'s initialisation, torchvision models). What the body draws
    neither depends on nor changes the draws of code outside it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, *keys))
        yield


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators from ``seed`` (each its own derived
    stream), for code that draws from them without an explicit generator."""
    random.seed(derive_seed(seed, "global", "python"))
    np.random.seed(derive_seed(seed, "global", "numpy") % 2**32)
    torch.manual_seed(derive_seed(seed, "global", "torch"))


def configure_determinism(threads: int) -> None:
    """Fix the CPU thread count of torch and of the BLAS/OpenMP libraries NumPy and SciPy use,
    and ask torch for deterministic kernels (cuDNN without autotuning, a fixed cuBLAS workspace;
    ``use_deterministic_algorithms`` in warn-only mode: an op with no deterministic
    implementation warns and runs, so no paper stops on a GPU for lack of one).

    Args:
        threads: threads per process, >= 1 (the run config's ``torch_threads``).
    """
    torch.set_num_threads(threads)
    # cuBLAS is deterministic only with a fixed workspace (CUDA docs, "Reproducibility").
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def rng_state() -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
