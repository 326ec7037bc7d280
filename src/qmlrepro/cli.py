"""Entry-point wrapper: user errors become one line on stderr and exit status 2."""

import os
import sys
from collections.abc import Callable, Sequence

from qmlrepro.errors import QmlreproError


def debug_enabled() -> bool:
    return any(
        os.environ.get(v, "") not in ("", "0") for v in ("QMLREPRO_DEBUG", "HYDRA_FULL_ERROR")
    )


def run_cli(main: Callable[[Sequence[str]], object], argv: Sequence[str] | None = None) -> None:
    """Run ``main(overrides)``; a :class:`QmlreproError` prints ``error: <line>`` and exits 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        main(args)
    except QmlreproError as exc:
        if debug_enabled():
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(
            "interrupted: finished work is saved; rerun the same command to resume", file=sys.stderr
        )
        sys.exit(130)


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
