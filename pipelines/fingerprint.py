"""DVC stage fingerprint@<paper>: the hashes of the files that shape the paper's training.

python pipelines/fingerprint.py <paper id>   -> results/fingerprints/<paper>.json
"""

from collections.abc import Sequence

from qmlrepro.cli import run_cli
from qmlrepro.data.artifacts import write_json
from qmlrepro.errors import ConfigError
from qmlrepro.fingerprint import fingerprint
from qmlrepro.papers import paper_ids
from qmlrepro.paths import project_root, resolve


def main(args: Sequence[str]) -> None:
    if len(args) != 1 or args[0] not in paper_ids():
        raise ConfigError(f"usage: fingerprint.py <paper>, one of {', '.join(paper_ids())}")
    out = resolve(f"results/fingerprints/{args[0]}.json")
    write_json(out, fingerprint(project_root(), args[0]))
    print(f"wrote {out}")


if __name__ == "__main__":
    run_cli(main)
