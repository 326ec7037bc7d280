"""Qubit and gate counts of the attention circuit, against the claimed O(log2 N) qubits and
O(log2 d) parameterised gates. The amplitude encoding is counted too (after transpiling a real
image's StatePreparation to CX + 1-qubit gates): that is where the O(N) classical cost moves."""

import numpy as np
from qiskit import transpile

from qmlrepro.papers.hqvit.circuit import AttentionLayout, attention_spec
from qmlrepro.quantum.encoding import bind_amplitudes
from qmlrepro.training.seeding import derive_seed, numpy_generator

MAX_TRANSPILED_PIXELS = 4096  # transpiling StatePreparation grows ~4x per qubit


def circuit_resources(layout: AttentionLayout, layers: int, seed: int = 0) -> dict[str, int]:
    """Counts for T tokens of d pixels; ``cx_*`` only up to MAX_TRANSPILED_PIXELS."""
    spec = attention_spec(layout, layers)
    qc = spec.circuit
    out = {
        "n_pixels": layout.n_pixels,
        "token_dim": layout.token_dim,
        "n_qubits": qc.num_qubits,
        "param_gates": sum(1 for inst in qc.data if inst.operation.params),
        "classical_qk_macs": layout.n_tokens**2 * layout.token_dim,  # what Q K^T would cost
        "cswap": qc.count_ops().get("cswap", 0),
    }
    if layout.n_pixels <= MAX_TRANSPILED_PIXELS:
        image = numpy_generator(seed, "resource_image").random(layout.n_pixels)
        bound = bind_amplitudes(qc, image)
        weights = np.zeros(len(spec.weights))
        bound = bound.assign_parameters(dict(zip(spec.weights, weights, strict=True)))
        flat = transpile(
            bound,
            basis_gates=["cx", "u"],
            optimization_level=1,
            seed_transpiler=derive_seed(seed, "transpiler"),
        )
        ops = flat.count_ops()
        out.update(cx_total=int(ops.get("cx", 0)), depth_total=flat.depth())
    return out


def scaling_sweep(
    sides: list[int], patches: list[int], layers: int
) -> list[tuple[int, int, dict[str, int]]]:
    """(N pixels, token dimension d, resource counts of :func:`circuit_resources`) for every
    (image side, patch) that tiles the image into more than one patch."""
    out = []
    for side in sides:
        for patch in patches:
            if side % patch or side == patch:
                continue
            layout = AttentionLayout((side // patch) ** 2, patch * patch)
            counts = circuit_resources(layout, layers)
            kept = {k: v for k, v in counts.items() if k not in ("n_pixels", "token_dim")}
            out.append((layout.n_pixels, layout.token_dim, kept))
    return out
