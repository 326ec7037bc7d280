"""DVC stage evaluate@<name>: a trained job's checkpoints on one backend.

python pipelines/evaluate.py job=example-mlp backend=torch [results_dir=...] [extra overrides]
"""

from collections.abc import Sequence

from qmlrepro.cli import run_cli, split_named
from qmlrepro.config.schema import require_job_name
from qmlrepro.errors import ConfigError
from qmlrepro.stages import evaluate

# what an evaluation may change (the backend, tracking, how it is evaluated); the rest is trained
EVALUATION_KEYS = ("backend.", "tracking.", "evaluation.")


def main(args: Sequence[str]) -> None:
    named, extra = split_named(args, ("job", "backend", "results_dir"))
    if not {"job", "backend"} <= set(named):
        raise ConfigError("evaluate needs job=<train job> and backend=<backend option>")
    for override in extra:
        if not override.lstrip("+~").startswith(EVALUATION_KEYS):
            raise ConfigError(
                f"evaluate takes backend.*, evaluation.* and tracking.* overrides only, not "
                f"{override}: the "
                "model, paper, data, seeds and threads are the trained job's (retrain to change "
                "them)"
            )
    require_job_name(named["job"])  # it names folders under results/: no way out of them
    results_dir = named.get("results_dir", "results")
    print(f"wrote {evaluate(named['job'], named['backend'], extra, results_dir)}")


if __name__ == "__main__":
    run_cli(main)
