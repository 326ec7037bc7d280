"""IBM credentials come from the environment or the saved account and go nowhere else: not into
MLflow, metrics, checkpoints, job records, reports, logs or error messages."""

import uuid

import yaml

from .conftest import CONTEXTUAL_SMOKE, prepare_contextual_smoke, run_script


def test_a_fake_token_never_reaches_any_output_of_a_run(project):
    token = f"fake-token-{uuid.uuid4().hex}"
    instance = f"crn:v1:fake-instance-{uuid.uuid4().hex}"
    env = {"QISKIT_IBM_TOKEN": token, "QISKIT_IBM_INSTANCE": instance}
    prepare_contextual_smoke(project)
    train = ["job=contextual-quantum", *CONTEXTUAL_SMOKE]
    logs = []
    for script, args, expected_rc in (
        ("train.py", train, 0),
        # the hardware code path in local mode: job records, results, MLflow metrics
        ("evaluate.py", ["job=contextual-quantum", "backend=ibm_runtime_local"], 0),
        # real hardware with the fake token: the service refuses it (or cannot be reached)
        ("evaluate.py", ["job=contextual-quantum", "backend=ibm_runtime"], 2),
    ):
        proc = run_script(script, *args, cwd=project, env=env)
        assert proc.returncode == expected_rc, proc.stderr[-2000:]
        logs.append(proc.stdout + proc.stderr)
    assert "IBM Quantum did not accept the credentials or could not be reached" in logs[-1]
    assert (project / "results" / "ibm_jobs").is_dir()

    (project / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "profile": "smoke",
                "train": {"contextual-quantum": {"paper": "contextual"}},
                "evaluate": {
                    "cq-local": {
                        "job": "contextual-quantum",
                        "paper": "contextual",
                        "backend": "ibm_runtime_local",
                    }
                },
            }
        )
    )
    report = run_script("report.py", cwd=project, env=env)
    assert report.returncode == 0, report.stderr[-2000:]
    logs.append(report.stdout + report.stderr)

    written = [p for p in project.rglob("*") if p.is_file()]
    assert any(p.name == "mlflow.db" for p in written) and any(p.suffix == ".md" for p in written)
    for secret in (token, instance):
        leaks = [str(p) for p in written if secret.encode() in p.read_bytes()]
        assert leaks == [], f"credential found in {leaks}"
        assert all(secret not in log for log in logs)
