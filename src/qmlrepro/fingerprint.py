"""The source and config files that shape one paper's training, hashed for DVC.

A train stage depending on ``src/qmlrepro/papers/<id>/`` as a whole would retrain whenever that
paper's report module changes (35 minutes for contextual). Instead a cheap fingerprint stage
hashes exactly the files training can read: the shared package without the report machinery, the
paper's own package without its report modules (``report.py``, and ``claims.py``: the claims and
reference numbers its report judges by), and the config groups it composes. DVC reruns the
fingerprint on any code change, but the train stage only when the fingerprint's content changes.
"""

import hashlib
from pathlib import Path

SHARED_CONF = ("config.yaml", "profile", "backend", "dataset", "dataset_profile", "tracking")
PAPER_CONF = ("paper/{paper}.yaml", "model/{paper}", "paper_profile/{paper}")
REPORT_MODULES = ("report.py", "claims.py")  # a paper's report side: never read by training


def _files(root: Path, entry: str) -> list[Path]:
    path = root / entry
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def training_files(repo: Path, paper: str) -> list[Path]:
    """Every file the paper's train stage may read, besides its data and its own script."""
    package = repo / "src" / "qmlrepro"
    if not (package / "papers" / paper).is_dir():
        raise FileNotFoundError(f"no paper package {package / 'papers' / paper}")
    shared = [
        p
        for p in _files(package, ".")
        if p.suffix == ".py" and p.relative_to(package).parts[0] not in ("papers", "report")
    ]
    own = [
        p
        for p in _files(package / "papers", paper)
        if p.suffix == ".py" and p.name not in REPORT_MODULES
    ]
    conf = repo / "conf"
    configs = [f for e in SHARED_CONF for f in _files(conf, e)]
    configs += [f for e in PAPER_CONF for f in _files(conf, e.format(paper=paper))]
    return sorted({*shared, *own, package / "papers" / "__init__.py", *configs})


def fingerprint(repo: Path, paper: str) -> dict[str, str]:
    """``{path relative to the repo: sha256}`` of :func:`training_files`."""
    return {
        str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in training_files(repo, paper)
    }
