"""Set ``profile:`` in params.yaml (smoke | default | paper) so `dvc repro` runs that profile.

DVC sees the change as a params change and reruns exactly the stages that depend on it; its run
cache brings back earlier results of a profile without recomputing them.
"""

import re
import sys

from qmlrepro.cli import run_cli
from qmlrepro.config.compose import group_options
from qmlrepro.errors import ConfigError
from qmlrepro.paths import project_root


def main(args: list[str]) -> None:
    choices = group_options("profile")
    if len(args) != 1 or args[0] not in choices:
        raise ConfigError(
            f"usage: use_profile.py <profile>, with profile one of {', '.join(choices)}"
        )
    path = project_root() / "params.yaml"
    text, count = re.subn(r"(?m)^profile:\s*\S+", f"profile: {args[0]}", path.read_text())
    if count != 1:
        raise ConfigError(f"{path} has no top-level 'profile:' line to set")
    path.write_text(text)
    print(f"params.yaml: profile = {args[0]}", file=sys.stderr)


if __name__ == "__main__":
    run_cli(main)
