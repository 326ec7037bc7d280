"""Entry-point wrapper: user errors become one line on stderr and exit status 2; SIGTERM
(Slurm's preemption, ``dvc queue kill``) unwinds like Ctrl-C, so open MLflow runs are closed."""

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from qmlrepro.errors import QmlreproError, output_error

SECRET_ENV = ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE")


def debug_enabled() -> bool:
    return any(
        os.environ.get(v, "") not in ("", "0") for v in ("QMLREPRO_DEBUG", "HYDRA_FULL_ERROR")
    )


def user_error(exc: BaseException) -> QmlreproError | None:
    """The :class:`QmlreproError` behind ``exc``, if any: Hydra's ``instantiate`` wraps what a
    constructor raises (an executor refusing credentials) in its own exception type."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, QmlreproError):
            return seen
        seen = seen.__cause__
    return None


def storage_error(exc: BaseException) -> QmlreproError | None:
    """One line for an OS error on a named file (a full disk, a read-only mount) raised by a
    writer outside :mod:`qmlrepro.data.artifacts` (MLflow's artifact copy, a library's cache)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and (mapped := output_error(seen, action="use")) is not None:
            return mapped
        seen = seen.__cause__ or seen.__context__
    return None


def redact(text: str) -> str:
    """``text`` without the IBM token or instance, should a library have echoed them."""
    for name in SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= 8:
            text = text.replace(value, "***")
    return text


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so that every ``with`` block unwinds: the
    training stage's MLflow runs end KILLED (or stay FINISHED) instead of staying RUNNING."""

    exit_status = 128 + signal.SIGTERM


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` once; a second SIGTERM while that
    unwinds is ignored, so the cleanup itself is not cut short (Slurm sends SIGKILL after its
    grace period anyway). The previous handler is restored on exit. Outside the main thread,
    where Python cannot install handlers, SIGTERM keeps its default."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, _frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_IGN)
        raise Terminated(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_cli(main: Callable[[Sequence[str]], object], argv: Sequence[str] | None = None) -> None:
    """Run ``main(overrides)``; a :class:`QmlreproError` prints ``error: <line>`` and exits 2.

    Ctrl-C exits 130 and SIGTERM 143, both after the open runs are closed."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with sigterm_unwinds():
            main(args)
    except Exception as exc:
        cause = user_error(exc) or storage_error(exc)
        if cause is None or debug_enabled():
            raise
        print(redact(f"error: {cause}"), file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        print(
            "interrupted: finished work is saved; rerun the same command to resume", file=sys.stderr
        )
        sys.exit(getattr(exc, "exit_status", 130))


def split_named(args: Sequence[str], names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Split ``key=value`` arguments a script handles itself (``names``) from the Hydra overrides
    it passes on."""
    named, rest = {}, []
    for arg in args:
        key, _, value = arg.partition("=")
        if key in names:
            named[key] = value
        else:
            rest.append(arg)
    return named, rest
