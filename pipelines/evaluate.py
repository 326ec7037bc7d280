"""DVC stage evaluate@<name>: a trained job's checkpoints on one backend.

python pipelines/evaluate.py job=example-mlp backend=torch [results_dir=...] [extra overrides]
"""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.errors import ConfigError
from qmlrepro.stages import evaluate


def main(args: Sequence[str]) -> None:
    own = ("job", "backend", "results_dir")
    named = {k: v for k, _, v in (a.partition("=") for a in args if a.split("=")[0] in own)}
    if not {"job", "backend"} <= set(named):
        raise ConfigError("evaluate needs job=<train job> and backend=<backend option>")
    extra = [a for a in args if a.split("=")[0] not in own]
    results_dir = named.get("results_dir", "results")
    print(f"wrote {evaluate(named['job'], named['backend'], extra, results_dir)}")


if __name__ == "__main__":
    run_cli(main)
