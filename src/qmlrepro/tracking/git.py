"""The code version a run was produced by, for the ``git_commit`` tag."""

import subprocess
from pathlib import Path


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


# What the pipeline itself rewrites while it runs; changes there do not make the code dirty.
PIPELINE_OUTPUTS = ("dvc.lock", "results", "data")


def git_state(cwd: Path) -> dict[str, str]:
    """Commit hash and whether tracked code or config differ from it ("unknown" outside git)."""
    commit = _git(["rev-parse", "HEAD"], cwd)
    if not commit:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    excluded = [f":(exclude){path}" for path in PIPELINE_OUTPUTS]
    dirty = _git(["status", "--porcelain", "--untracked-files=no", "--", ".", *excluded], cwd)
    return {"git_commit": commit, "git_dirty": str(bool(dirty)).lower()}
