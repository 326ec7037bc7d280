"""DVC stage prepare_sequence: hypergraph-state measurement sequences -> data/sequence/."""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import compose_config
from qmlrepro.data.sequence import SequenceTaskSpec, prepare_sequences
from qmlrepro.paths import resolve


def main(overrides: Sequence[str]) -> None:
    ds = compose_config(["dataset=sequence", *overrides]).dataset
    specs = [
        SequenceTaskSpec(
            n=t.n,
            k=t.k,
            n_train_thetas=ds.n_train_thetas,
            n_test_thetas=ds.n_test_thetas,
            sequences_per_theta=ds.sequences_per_theta,
            theta_levels=ds.theta_levels,
        )
        for t in ds.tasks
    ]
    entries = prepare_sequences(resolve(ds.processed_dir), specs, ds.seed)
    for name, entry in entries.items():
        print(
            f"{name}: {entry['n_train_sequences']} train / "
            f"{entry['n_test_sequences']} test sequences"
        )


if __name__ == "__main__":
    run_cli(main)
