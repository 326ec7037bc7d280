"""DVC stage prepare_gaussian: the hypernet paper's 2D Gaussian mixture -> data/gaussian/."""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import compose_config
from qmlrepro.data.gaussian import prepare_gaussian
from qmlrepro.paths import resolve


def main(overrides: Sequence[str]) -> None:
    ds = compose_config(["dataset=gaussian", *overrides]).dataset
    entries = prepare_gaussian(
        resolve(ds.processed_dir), ds.n_points_train, ds.n_points_test, ds.seed
    )
    for split, entry in entries.items():
        print(f"{split}: {entry['n']} points, class counts {entry['class_counts']}")


if __name__ == "__main__":
    run_cli(main)
