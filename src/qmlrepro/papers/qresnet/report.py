"""Report section: the gate-level checks, QSVT and residual-block fidelity against degree, the
operator-level resource tallies with fitted scaling, and the MNIST network's emulation."""

import math
from dataclasses import replace

from qmlrepro.papers.qresnet.claims import (
    BLOCK_FIDELITY,
    EMULATION_AGREEMENT,
    QRAM_REGIMES,
    QUERY_REFERENCE_NOTE,
    SUMMARY,
    ancillas_linear,
    primitives_exact,
    query_slope,
)
from qmlrepro.records import Table
from qmlrepro.report.claims import Verdict
from qmlrepro.report.results import PaperResults
from qmlrepro.report.section import PlotSink, ReportSection, SectionBody, register_section
from qmlrepro.report.stats import paired_interval, power_law_fit, summarize


def _mean(table: Table) -> float:
    """The mean over seeds of a selection with one record per seed."""
    return summarize(list(table.values().values())).mean


def _fmt(table: Table, digits: int = 4, scale: float = 1.0) -> str:
    """Mean ± sample std over seeds (the mean alone for one seed; "—" for none)."""
    values = list(table.values().values())
    if not values:
        return "—"
    s = summarize(values)
    return f"{s.mean * scale:.{digits}f}" + (f" ± {s.std * scale:.{digits}f}" if s.n > 1 else "")


def _primitive_size(record_dims: dict) -> str:
    """A primitive's size as the table shows it: ``n<qubits>`` or ``c<channels>_side<side>``."""
    if "n" in record_dims:
        return f"n{record_dims['n']}"
    return f"c{record_dims['channels']}_side{record_dims['side']}"


@register_section
class QresnetSection(ReportSection):
    paper_id = "qresnet"
    summary = SUMMARY
    title = "Fully coherent quantum ResNet inference (Rattew et al., arXiv 2510.07195)"
    claim = (
        "Residual blocks normalize(psi + erf(0.8 W psi)) with multi-filter convolutions, a "
        "QSVT activation, skips and normalisation can run fully coherently on amplitude-encoded "
        "vectors; with QRAM for inputs and weights, k blocks on an N-dim input cost "
        "O(polylog(N/eps)^k) (regime 1); quadratic / quartic speedups in regimes 3 / 2."
    )
    order = 50
    deviations = (
        "The paper has no simulations; this is a numerical verification of its constructions "
        "at sizes a CPU can simulate, built by us from its text.",
        "QSVT polynomial: the odd part of a Chebyshev interpolant of erf(0.8 alpha_W x) (a "
        "numerically fitted odd polynomial) instead of the paper's Bessel series; phases by the "
        "Dong-Meng-Whaley-Lin optimisation, converted to the reflection convention.",
        "Convolution block-encoding: an LCU over kernel offsets with alpha = sum_t ||K_t||_2, "
        "not the paper's C / (2 ||C||_2); the non-wrapping shift is an exact alpha = 1 LCU of "
        "the cyclic shift and a reflection, so no amplification step is needed.",
        "The activation's vector encoding applies the QSVT block to the uniform state (alpha = "
        "sqrt(N)); normalisation is post-selection at gate level and amplitude amplification "
        "in the tallies. QRAM is not modelled: regimes 1-3 cannot be tested, only our "
        "construction's own query, ancilla and success-probability scaling.",
        "Gate-level residual blocks run on 2x2 single-channel images (13 qubits); the MNIST "
        "network (8x8, digits 0-3, 4 channels, 2 blocks) is emulated at operator level: its "
        "circuit would need ~50 qubits. No Aer / IBM runs for this paper for that reason.",
        "Depth is not tallied (queries to the input's state preparation stand in for it).",
    )

    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody:
        # the verification's records carry ``study``; the MNIST networks' ``architecture``
        verify = results.select(stage="train")
        studies = verify.levels("study")
        network = results.select(architecture="qresnet")
        cnn = results.select(architecture="cnn")
        if not (studies or network or cnn):
            return SectionBody("No qresnet stage has run.", verdicts=[QRAM_REGIMES])
        lines: list[str] = []
        verdicts: list[Verdict] = []
        if studies:
            primitive_lines, primitive_verdicts = self._primitives(verify.select(study="primitive"))
            lines += primitive_lines
            verdicts += primitive_verdicts
            lines += self._qsvt(verify.select(study="qsvt"))
            block_lines, block_verdicts = self._block(verify.select(study="block"), plots)
            lines += block_lines
            verdicts += block_verdicts
            scaling_lines, scaling_verdicts = self._scaling(verify.select(study="scaling"), plots)
            lines += scaling_lines
            verdicts += scaling_verdicts
        else:
            verdicts.append(QRAM_REGIMES)
        if network or cnn:
            net_lines, net_verdicts = self._network(results, network, cnn)
            lines += net_lines
            verdicts += net_verdicts
        return SectionBody("\n".join(lines), verdicts=verdicts)

    @staticmethod
    def _primitives(records: Table) -> tuple[list[str], list[Verdict]]:
        """``records``: the study="primitive" records (``max_error`` per ``primitive`` and size;
        the convolution's ``alpha``, ``two_norm_x2`` and ``ancillas``)."""
        rows = ["| primitive | size | max abs error vs intended block |", "|---|---|---|"]
        errors = records.select("max_error")
        worst = max((r.value for r in errors), default=0.0)
        for name, table in errors.groups("primitive").items():
            sizes = {_primitive_size(r.dims): r.dims for r in table}
            for size, dims in sorted(sizes.items()):
                own = {k: dims[k] for k in ("n", "channels", "side") if k in dims}
                value = max(table.select(**own).values().values())
                rows.append(f"| {str(name).replace('_', ' ')} | {size} | {value:.1e} |")
        lines = ["### Gate-level primitives (Qiskit circuits vs their matrices)", "", *rows, ""]
        conv = records.select("alpha", primitive="convolution")
        if conv:
            lines += [
                "Convolution block-encodings: our alpha (sum of ||K_t||_2) vs the paper's "
                "2 ||C||_2, and ancillas:",
                "",
                "| size | alpha (ours) | 2 ||C||_2 | ancillas |",
                "|---|---|---|---|",
            ]
            shapes = {(r.dims["channels"], r.dims["side"]) for r in conv}
            for channels, side in sorted(shapes):
                at = records.select(primitive="convolution", channels=channels, side=side)
                lines.append(
                    f"| c{channels}_side{side} | {_fmt(at.select('alpha'), 2)} | "
                    f"{_fmt(at.select('two_norm_x2'), 2)} | "
                    f"{_mean(at.select('ancillas')):.0f} |"
                )
            lines.append("")
        lines.append(f"Worst error over all primitives and seeds: {worst:.1e} (test bound 1e-9).")
        return lines, [primitives_exact(worst)] if errors else []

    @staticmethod
    def _qsvt(records: Table) -> list[str]:
        """``records``: the study="qsvt" records, per QSVT ``degree``."""
        degrees = records.levels("degree")
        if not degrees:
            return []
        lines = [
            "",
            "### QSVT activation erf(0.8 x) on the amplitudes of a 3-qubit vector",
            "",
            "| degree | polynomial error | phases vs polynomial | circuit vs erf | success "
            "probability | bound sum erf(0.8 psi)^2 / N |",
            "|---|---|---|---|---|---|",
        ]
        for d, at in records.groups("degree").items():
            cells = [
                f"{_mean(at.select(m)):.1e}"
                for m in ("polynomial_error", "phase_error", "circuit_error")
            ]
            cells += [_fmt(at.select("success")), _fmt(at.select("success_bound"))]
            lines.append(f"| {d} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "The VE of erf(0.8 psi) on the uniform state has alpha = sqrt(N): its success "
            "probability is ||erf(0.8 psi)||^2 / N, about 0.64 / N for a unit psi.",
        ]
        return lines

    @staticmethod
    def _block(records: Table, plots: PlotSink) -> tuple[list[str], list[Verdict]]:
        """``records``: the study="block" records (gate-level residual block), per ``degree``."""
        degrees = records.levels("degree")
        if not degrees:
            return [], []
        lines = [
            "",
            "### One residual block at gate level: normalize(psi + erf(0.8 W psi))",
            "",
            "2x2 single-channel images, 3x3 kernels scaled to ||W||_2 = 1; fidelity of the "
            "post-selected output with the classical block (mean over inputs and seeds).",
            "",
            "| degree | qubits | fidelity | worst fidelity | polynomial error | success "
            "probability | alpha | seconds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        worst = {
            d: min(at.select("min_fidelity").values().values())
            for d, at in records.groups("degree").items()
        }
        for d, at in records.groups("degree").items():
            lines.append(
                f"| {d} | {_mean(at.select('qubits')):.0f} | "
                f"{_fmt(at.select('fidelity'), 6)} | {worst[d]:.6f} | "
                f"{_mean(at.select('polynomial_error')):.1e} | "
                f"{_fmt(at.select('success_probability'), 3)} | "
                f"{_fmt(at.select('alpha'), 2)} | "
                f"{_mean(at.select('seconds')):.0f} |"
            )
        reached = [d for d in degrees if worst[d] >= BLOCK_FIDELITY.threshold]
        figure = plots.curves(
            "fidelity_vs_degree",
            "residual block fidelity vs degree",
            {
                "mean over inputs (gate level)": records.select("fidelity"),
                "worst input": records.select("min_fidelity"),
            },
            "degree",
            y="fidelity",
            bounds=(0.0, 1.0),
            xlabel="QSVT degree",
            ylabel="fidelity with the classical block",
            references={
                f"threshold {BLOCK_FIDELITY.threshold:g}": (
                    [degrees[0], degrees[-1]],
                    [BLOCK_FIDELITY.threshold] * 2,
                )
            },
        )
        lines += [
            "",
            f"Every input of every seed reaches fidelity >= {BLOCK_FIDELITY.threshold:g} "
            + (f"from degree {reached[0]} on." if reached else "at no degree run."),
            "",
            figure,
        ]
        top = degrees[-1]
        claim = replace(BLOCK_FIDELITY, statement=f"{BLOCK_FIDELITY.statement} (degree {top})")
        return lines, [claim.evaluate(records.select("min_fidelity", degree=top).values())]

    @staticmethod
    def _scaling(records: Table, plots: PlotSink) -> tuple[list[str], list[Verdict]]:
        """``records``: the study="scaling" records (operator-level tallies), per input
        dimension ``N`` and number of ``blocks``."""
        points = sorted({(r.dims["N"], r.dims["blocks"]) for r in records.select("queries")})
        if not points:
            return [], [QRAM_REGIMES]

        def mean(name: str, n, k) -> float:
            return _mean(records.select(name, N=n, blocks=k))

        lines = [
            "",
            "### Multi-block networks at operator level (our construction)",
            "",
            "| N | blocks k | degree | queries to the input | ancillas | success without "
            "amplification | fidelity vs exact |",
            "|---|---|---|---|---|---|---|",
        ]
        for n, k in points:
            lines.append(
                f"| {n} | {k} | {mean('degree', n, k):.0f} | {mean('queries', n, k):.3g} | "
                f"{mean('ancillas', n, k):.0f} | {mean('success', n, k):.2e} | "
                f"{mean('fidelity', n, k):.6f} |"
            )
        blocks = sorted({k for _, k in points})
        sizes = sorted({n for n, _ in points})
        fits, verdicts = [], [QRAM_REGIMES]
        for k in blocks:
            ns = [n for n in sizes if (n, k) in points]
            if len(ns) > 1:
                fit = power_law_fit(ns, [mean("queries", n, k) for n in ns])
                fits.append(
                    f"k = {k}: mean queries ~ N^{fit.slope.estimate:.2f} (k/2 = {k / 2:.1f})"
                )
                per_seed = [records.select("queries", N=n, blocks=k).values() for n in ns]
                seeds = sorted(set.intersection(*(set(v) for v in per_seed)))
                curves = [[v[seed] for v in per_seed] for seed in seeds]
                verdict = query_slope(k).evaluate(ns, curves)
                verdicts.append(
                    replace(verdict, reason=f"{verdict.reason}; {QUERY_REFERENCE_NOTE}")
                )
        smallest = sizes[0]
        ancillas = [mean("ancillas", smallest, k) for k in blocks if (smallest, k) in points]
        if ancillas:
            verdicts.append(ancillas_linear(ancillas))
        per_block = []
        for n in sizes:
            ks = [k for k in blocks if (n, k) in points]
            if len(ks) > 1:
                q = [mean("queries", n, k) for k in ks]
                base = math.exp((math.log(q[-1]) - math.log(q[0])) / (ks[-1] - ks[0]))
                per_block.append(f"N = {n}: x{base:.3g} per block")
        figure = plots.curves(
            "queries_vs_size",
            "queries vs N and k",
            {f"k = {k}": records.select("queries", blocks=k) for k in blocks},
            "N",
            y="queries",
            bounds=(0.0, None),
            xlabel="N (amplitudes)",
            ylabel="queries to the input",
            logx=True,
            logy=True,
        )
        lines += [
            "",
            "Fitted query growth with N at fixed k (log-log slope): " + "; ".join(fits) + ".",
            "Growth per added block: " + "; ".join(per_block) + ".",
            "Ancillas grow linearly in k here (a copy register, the convolution's LCU, a "
            "signal and an LCU qubit per block), not as 2^k.",
            "",
            figure,
            "",
            "In our construction the queries grow polynomially in N and, at fixed N, by a fixed "
            "factor per added block (a factor that itself grows with N), i.e. exponentially in k "
            "as the paper states, but not polylogarithmically in N (which needs QRAM).",
        ]
        return lines, verdicts

    @staticmethod
    def _parameters(results: PaperResults, records: Table) -> str:
        """The parameter count the training job behind ``records`` describes."""
        return str(results.describe(records).get("n_params", "—"))

    @staticmethod
    def _network(
        results: PaperResults, network: Table, cnn: Table
    ) -> tuple[list[str], list[Verdict]]:
        """``network`` / ``cnn``: the architecture="qresnet" / "cnn" records; ``inference``
        tells the classical forward pass from the coherent emulation (per ``degree``), sampled
        labels (per ``shots``) and the linearised network."""
        lines = ["", "### Quantum-implementable network on MNIST (8x8, digits 0-3)", ""]
        lines += ["| model | parameters | test accuracy (%) |", "|---|---|---|"]
        for label, records in (
            ("QResNet (erf blocks, pooled-square)", network),
            ("matched CNN", cnn),
        ):
            if not records:
                lines.append(f"| {label} | — | not run |")
                continue
            accuracy = records.select("accuracy", inference="classical")
            lines.append(
                f"| {label} | {QresnetSection._parameters(results, records)} | "
                f"{_fmt(accuracy, 1, 100.0)} |"
            )
        if not network:
            return lines, []
        coherent = network.select(inference="coherent")
        degrees = coherent.levels("degree")
        lines += [
            "",
            "Coherent emulation (operator level, degree-d QSVT polynomial in every block) vs the "
            "classical forward pass on the test set:",
            "",
            "| degree | label agreement (%) | mean l2 distance of final states | accuracy (%) |",
            "|---|---|---|---|",
        ]
        for d, at in coherent.groups("degree").items():
            lines.append(
                f"| {d} | {_fmt(at.select('label_agreement'), 1, 100.0)} | "
                f"{_fmt(at.select('l2_distance'), 4)} | "
                f"{_fmt(at.select('accuracy'), 1, 100.0)} |"
            )
        lines += [
            "",
            "Finite shots on the exact output distribution (label = most frequent class bin):",
            "",
            "| shots | label agreement (%) | accuracy (%) |",
            "|---|---|---|",
        ]
        for s, at in network.select(inference="sampled").groups("shots").items():
            lines.append(
                f"| {s:,} | {_fmt(at.select('label_agreement'), 1, 100.0)} | "
                f"{_fmt(at.select('accuracy'), 1, 100.0)} |"
            )
        lines += ["", "How non-linear is erf(0.8 x) on the actual pre-activations W psi:", ""]
        for block, at in network.select("linearity_gap").groups("block").items():
            lines.append(
                f"- block{block}: ||erf(0.8 z) - (1.6/sqrt(pi)) z|| / ||erf(0.8 z)|| = "
                f"{_fmt(at, 4)}; max |z| = "
                f"{_fmt(network.select('max_abs_preactivation', block=block), 3)}"
            )
        linearised = network.select(inference="linearised")
        lines.append(
            "- the trained network with erf replaced by its linearisation: accuracy "
            f"{_fmt(linearised.select('accuracy'), 1, 100.0)}%, label agreement "
            f"{_fmt(linearised.select('label_agreement'), 1, 100.0)}%"
        )
        verdicts = []
        if degrees:
            top = degrees[-1]
            agreement = {
                seed: 100.0 * v
                for seed, v in coherent.select("label_agreement", degree=top).values().items()
            }
            claim = replace(
                EMULATION_AGREEMENT, statement=f"{EMULATION_AGREEMENT.statement} (degree {top})"
            )
            verdicts.append(claim.evaluate(agreement))
        ours = network.select("accuracy", inference="classical").values()
        theirs = cnn.select("accuracy", inference="classical").values()
        if set(ours) & set(theirs):
            gap = paired_interval(
                {s: 100.0 * v for s, v in ours.items()}, {s: 100.0 * v for s, v in theirs.items()}
            )
            lines += [
                "",
                "Not a claim of the paper: the quantum-implementable network minus the matched "
                f"CNN in test accuracy, paired over seeds: {gap.format(1, signed=True)} points "
                f"(n={gap.n}, {gap.method}).",
            ]
        return lines, verdicts
