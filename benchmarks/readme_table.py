"""Render results/bench/executor.json as the executor table of README.md (between the
``<!-- bench:executor -->`` markers). `make bench` calls it after measuring; run it alone to
re-render from the committed JSON: ``python benchmarks/readme_table.py``."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:executor -->", "<!-- /bench:executor -->"


def _ms(cell: dict | None) -> str:
    if not cell:
        return "-"
    if "error" in cell:
        return "failed"
    return f"{cell['value']:,.0f}" if cell["value"] >= 100 else f"{cell['value']:.1f}"


def render(payload: dict) -> str:
    """Markdown for one ``executor`` benchmark payload (see benchmarks/bench_executor.py)."""
    r, machine = payload["results"], payload["machine"]
    lines = [
        f"Measured by `make bench` on {machine['cpu_count']} CPU cores"
        + (f" and {machine['cuda']}" if machine.get("cuda") else " (no GPU)")
        + f", torch {machine['torch']}, commit {payload.get('git_commit', '?')[:7]}"
        + " (`results/bench/executor.json`).",
        "",
        "| training step, forward + backward (ms, median) | ours | PennyLane backprop |"
        " gate-by-gate torch |",
        "|---|---|---|---|",
    ]
    for row in r["training_step"]:
        lines.append(
            f"| n = {row['n']}, batch {row['batch']} | {_ms(row['ours'])} | "
            f"{_ms(row.get('pennylane_backprop'))} | {_ms(row.get('gatewise_torch'))} |"
        )
    per_row = r.get("per_row_weights") or []
    if per_row:
        lines += [
            "",
            "| per-row weights (hypernet circuit, 17 qubits, D = 4, complex128) | B | single start"
            " (ms) | per row (ms) | per row / single | rows as inputs / single |",
            "|---|---|---|---|---|---|",
        ]
        for row in per_row:
            if "error" in row:
                lines.append(f"| {row.get('device', '?')} | | failed: {row['error'][:60]} | | | |")
                continue
            lines.append(
                f"| {row['device']} | {row['batch']} | {row['single_start_ms']} | "
                f"{row['per_row_ms_per_row']} | {row['per_row_over_single']} | "
                f"{row['elementwise_over_single']} |"
            )
    large = r.get("large_state") or []
    if large:
        lines += [
            "",
            "| large states, one step (1 thread) | glibc default: ms (system CPU s) |"
            " buffer reuse: ms (system CPU s) |",
            "|---|---|---|",
        ]
        for row in large:
            cells = []
            for key in ("default_malloc", "reuse"):
                cell = row.get(key, {})
                cells.append(
                    f"{_ms(cell)} ({cell.get('cpu_system_s_per_step', '-')})"
                    if "value" in cell
                    else "failed"
                )
            lines.append(f"| n = {row['n']}, batch {row['batch']} | {cells[0]} | {cells[1]} |")
    noisy = next((v for k, v in r.items() if k.startswith("aer_noise_fake_paris")), None)
    if noisy and "ms_per_input" in noisy:
        lines += [
            "",
            f"Noisy inference (qssl ring, 8 qubits, ibmq_paris noise, 100 shots, Aer): "
            f"{noisy['ms_per_input']} ms per input.",
        ]
    return "\n".join(lines)


def update_readme(payload: dict, readme: Path = ROOT / "README.md") -> None:
    """Replace the text between the markers of ``readme`` with :func:`render` of ``payload``."""
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{render(payload)}\n{END}{tail}")


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results" / "bench" / "executor.json"
    update_readme(json.loads(path.read_text()))
    print(f"README.md executor table from {path}")
