"""DVC stage prepare_sequence: hypergraph-state measurement sequences -> data/sequence/."""

from collections.abc import Sequence

from omegaconf import OmegaConf

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import compose_config
from qmlrepro.data.sequence import SequenceTaskSpec, prepare_sequences
from qmlrepro.paths import resolve


def main(overrides: Sequence[str]) -> None:
    ds = compose_config(["dataset=sequence", *overrides]).dataset
    schema = OmegaConf.to_object(ds)  # SequenceConfig: per-task values fall back to the dataset's
    specs = [
        SequenceTaskSpec(
            n=t.n,
            k=t.k,
            n_train_thetas=schema.task_value(t, "n_train_thetas"),
            n_test_thetas=schema.task_value(t, "n_test_thetas"),
            sequences_per_theta=ds.sequences_per_theta,
            theta_levels=schema.task_value(t, "theta_levels"),
        )
        for t in schema.tasks
    ]
    for spec in specs:  # every task checked before any is generated
        spec.validate()
    entries = prepare_sequences(resolve(ds.processed_dir), specs, ds.seed)
    for name, entry in entries.items():
        print(
            f"{name}: {entry['n_train_sequences']} train / "
            f"{entry['n_test_sequences']} test sequences"
        )


if __name__ == "__main__":
    run_cli(main)
