"""`make bench`: run every benchmarks/bench_*.py and write results/bench/<name>.json.

Each module exposes ``run() -> dict`` returning its measurements; this runner adds the machine and
code version so numbers from different machines are never compared by accident.
"""

import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

from qmlrepro.tracking.git import git_state

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "results" / "bench"


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
    }


def main(selected: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if selected and name not in selected:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        start = time.perf_counter()
        results = module.run()
        payload = {
            "benchmark": name,
            "wall_s": round(time.perf_counter() - start, 2),
            "machine": machine(),
            **git_state(HERE.parent),
            "results": results,
        }
        (OUT / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
        print(f"{name}: {json.dumps(results)}")
        if name == "executor":  # the README's executor table is rendered from this file
            from readme_table import update_readme

            update_readme(payload)


if __name__ == "__main__":
    main(sys.argv[1:])
