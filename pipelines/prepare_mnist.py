"""DVC stage prepare_mnist: MNIST (download or offline root) -> data/mnist/ variants + manifest."""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import compose_config
from qmlrepro.data.mnist import VariantSpec, prepare_mnist
from qmlrepro.paths import resolve


def main(overrides: Sequence[str]) -> None:
    ds = compose_config(["dataset=mnist", *overrides]).dataset
    variants = {
        name: VariantSpec(v.size, v.resize, tuple(v.digits) if v.digits else None)
        for name, v in ds.variants.items()
    }
    entries = prepare_mnist(
        resolve(ds.processed_dir),
        variants,
        root=ds.root,
        download=ds.download,
        verify_checksums=ds.verify_checksums,
        download_root=resolve(ds.download_root),
    )
    for name, entry in entries.items():
        print(
            f"{name}: {entry['n_train']} train / {entry['n_test']} test, "
            f"{entry['size']}x{entry['size']}"
        )


if __name__ == "__main__":
    run_cli(main)
