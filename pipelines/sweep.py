"""Hydra multirun: seeds and grid points as parallel jobs (joblib here, Slurm on a cluster).

python pipelines/sweep.py -m paper=example model=example/mlp,example/logistic seed=0,1,2
python pipelines/sweep.py -m paper=contextual model=contextual/gru paper.sizes=[4],[16] \
    seed=0,1 launcher=slurm hydra.launcher.partition=<partition>

Each job is one train stage (checkpointed, resumable, tracked in MLflow) named after its
overrides; a rerun of the same sweep resumes every unfinished job.
"""

import hydra
from omegaconf import DictConfig

from qmlrepro.config.store import register_schemas
from qmlrepro.sweep import run_sweep_job

register_schemas()


@hydra.main(version_base="1.3", config_path="../conf", config_name="sweep")
def main(cfg: DictConfig) -> dict:
    return run_sweep_job(cfg)


if __name__ == "__main__":
    main()
