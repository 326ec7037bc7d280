"""Where the pipeline reads and writes, relative to the directory a stage runs in.

DVC runs every stage from the repository root, so all paths resolve against the current working
directory; ``QMLREPRO_ROOT`` overrides it for tools that run elsewhere (e.g. notebooks).
"""

import os
from pathlib import Path


def project_root() -> Path:
    return Path(os.environ.get("QMLREPRO_ROOT", Path.cwd())).resolve()


def resolve(path: str | os.PathLike[str]) -> Path:
    """Absolute path; relative paths are taken from the project root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else project_root() / p
