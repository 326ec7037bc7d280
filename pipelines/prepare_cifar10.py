"""Optional stage: CIFAR-10's first classes -> data/cifar10/ (needs internet or an offline root).

Not in dvc.yaml's default graph, because it downloads; run `make data-cifar10` where that works.
"""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import compose_config
from qmlrepro.data.cifar10 import prepare_cifar10
from qmlrepro.paths import resolve


def main(overrides: Sequence[str]) -> None:
    ds = compose_config(["dataset=cifar10", *overrides]).dataset
    entries = prepare_cifar10(
        resolve(ds.processed_dir), resolve(ds.root), ds.classes, ds.download, ds.verify_checksums
    )
    entry = entries["cifar"]
    print(f"cifar: classes {entry['classes']}, {entry['n_train']} train / {entry['n_test']} test")


if __name__ == "__main__":
    run_cli(main)
