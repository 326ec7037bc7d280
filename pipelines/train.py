"""DVC stage train@<job>: every seed of the profile for one job (paper, model, overrides).

python pipelines/train.py job=example-mlp paper=example model=example/mlp profile=smoke
"""

from qmlrepro.cli import run_cli
from qmlrepro.stages import train

if __name__ == "__main__":
    run_cli(lambda overrides: print(f"wrote {train(overrides)}"))
