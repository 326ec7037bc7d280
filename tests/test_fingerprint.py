"""A train stage's fingerprint covers what its training reads and nothing else."""

import shutil

import yaml

from qmlrepro.fingerprint import fingerprint

from .conftest import REPO


def _copy(tmp_path):
    for part in ("src", "conf"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_fingerprint_follows_training_code_not_reports_or_other_papers(tmp_path):
    repo = _copy(tmp_path)
    before = fingerprint(repo, "contextual")
    assert "src/qmlrepro/papers/contextual/experiment.py" in before
    assert "src/qmlrepro/quantum/torch_executor.py" in before
    assert "conf/model/contextual/quantum.yaml" in before and "conf/profile/default.yaml" in before
    assert not any("report" in path or "claims" in path or "/qssl/" in path for path in before)

    pkg = repo / "src" / "qmlrepro"
    for untouched in (
        pkg / "papers" / "contextual" / "report.py",  # the report section
        pkg / "papers" / "contextual" / "claims.py",  # the claims the report judges by
        pkg / "report" / "writer.py",  # the report machinery
        pkg / "papers" / "qssl" / "models.py",  # another paper
        repo / "conf" / "model" / "qssl" / "classical.yaml",
    ):
        untouched.write_text(untouched.read_text() + "\n# edited\n")
    assert fingerprint(repo, "contextual") == before

    for changed in (
        pkg / "papers" / "contextual" / "models.py",
        pkg / "training" / "loop.py",
        repo / "conf" / "paper_profile" / "contextual" / "default.yaml",
    ):
        text = changed.read_text()
        changed.write_text(text + "\n# edited\n")
        assert (
            fingerprint(repo, "contextual")[str(changed.relative_to(repo))]
            != before[str(changed.relative_to(repo))]
        )
        changed.write_text(text)


def test_every_paper_with_a_job_is_fingerprinted():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    with_jobs = {job["paper"] for job in params["train"].values()}
    assert with_jobs == set(params["papers"])
