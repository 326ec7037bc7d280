"""Report section: each task's enumerated landscape against the authors' numbers, P_opt vs depth,
the trained circuits against classical searches with the same budget, and depolarising noise."""

import math

from scipy import stats

from qmlrepro.config.compose import compose_config
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink, ReportSection, SectionBody, register_section
from qmlrepro.report.stats import summarize

TASKS = (
    ("mnist01", "MNIST 0 vs 1, 4x4 logistic, {-3,+1} (the authors' cost file)"),
    ("mnist01-pm1", "MNIST 0 vs 1, 4x4 logistic, {-1,+1} (as the paper describes)"),
    ("gaussian", "2D Gaussian, 2-4-1 MLP + activation bit"),
    ("mnist37", "MNIST 3 vs 7, 4x4 logistic + 2 alphabet bits"),
)
# The authors' numbers (../shared/papers/hypernet.md), per task: landscape facts.
PAPER_LANDSCAPE = {
    "mnist01": {
        "cost_min": "0.32685269",
        "cost_mean": "1.39",
        "cost_max": "2.54",
        "n_optimal": "4 within 7e-7",
        "best_test_accuracy": "—",
        "random_test_accuracy": "—",
        "choice": "—",
    },
    "gaussian": {
        "cost_min": "—",
        "cost_mean": "—",
        "cost_max": "—",
        "n_optimal": "24 (hidden-unit permutations)",
        "best_test_accuracy": "100% (train)",
        "random_test_accuracy": "—",
        "choice": "ReLU",
    },
    "mnist37": {
        "cost_min": "0.6036",
        "cost_mean": "—",
        "cost_max": "—",
        "n_optimal": "—",
        "best_test_accuracy": "75.5% (train 76.9%)",
        "random_test_accuracy": "54.5%",
        "choice": "{0,1}",
    },
}
PAPER_NOISE = {0.2: 0.76, 2.0: 0.56}  # fraction of 100,000 samples in the near-optimal set, D = 4


def _job(results: PaperResults, task: str, strategy: str, stage: str = "train"):
    result = results.get(f"hypernet-{task}-{strategy}", stage)
    return result if result is not None and result.runs else None


def _landscape(results: PaperResults, task: str) -> dict | None:
    for strategy in ("circuit", "random", "annealing"):
        result = results.get(f"hypernet-{task}-{strategy}")
        if result is not None and result.describe.get("landscape_cost_min") is not None:
            return result.describe
    return None


def _mean_se(values: list[float], digits: int = 3, scale: float = 1.0, fmt: str = "f") -> str:
    """Mean ± standard error; ``fmt="e"`` for quantities spanning decades (excess costs)."""
    if not values:
        return "—"
    m = sum(values) / len(values) * scale
    if len(values) < 2:
        return f"{m:.{digits}{fmt}}"
    s = summarize(values)
    return f"{m:.{digits}{fmt}} ± {s.std * scale / math.sqrt(s.n):.{digits}{fmt}}"


def _welch(a: list[float], b: list[float]) -> tuple[float, float, float] | None:
    """Mean difference a - b with its Welch 95% CI (starts at different depths are unpaired)."""
    if len(a) < 2 or len(b) < 2:
        return None
    sa, sb = summarize(a), summarize(b)
    va, vb = sa.std**2 / sa.n, sb.std**2 / sb.n
    diff = sa.mean - sb.mean
    if va + vb == 0:
        return diff, diff, diff
    dof = (va + vb) ** 2 / (va**2 / (sa.n - 1) + vb**2 / (sb.n - 1))
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    return diff, diff - half, diff + half


def _depths(result: JobResult) -> list[int]:
    keys = result.runs[0]["metrics"]
    return sorted({int(k.split("/")[0][1:]) for k in keys if k.endswith("/p_opt")})


def _noise_sweep(result: JobResult) -> dict[int, list[tuple[float, str]]]:
    """The depolarising evaluation's points, read from its keys ``scale<p>/d<D>/<metric>`` (the
    evaluate stage's sweep prefix, then the depth): depth -> [(p, key prefix ``scale<p>``)] by p.
    Empty when no key has that form."""
    found: dict[int, dict[float, str]] = {}
    for key in result.runs[0]["metrics"]:
        parts = key.split("/")
        if (
            len(parts) == 3
            and parts[0].startswith("scale")
            and parts[1][:1] == "d"
            and parts[2] == "p_opt"
        ):
            found.setdefault(int(parts[1][1:]), {})[float(parts[0][5:])] = parts[0]
    return {d: sorted(found[d].items()) for d in sorted(found)}


def _values(result: JobResult | None, metric: str) -> list[float]:
    return list(result.values(metric).values()) if result is not None else []


@register_section
class HypernetSection(ReportSection):
    paper_id = "hypernet"
    order = 20
    title = (
        "hypernet: Quantum hypernetworks for binary neural networks "
        "(Carrasquilla et al., arXiv 2301.08292)"
    )
    claim = (
        "A variational circuit with one qubit per bit of a binary neural network (weights, "
        "hyperparameters, architecture), trained to minimise the expected loss sum_x p(x) C(x), "
        "yields optimal BNNs with high probability when measured; there is an optimal circuit "
        "depth that maximises the probability of finding performant BNNs."
    )
    deviations = (
        "MNIST 0 vs 1 uses the weight alphabet {-3, +1}: the authors' notebook maps bits to "
        "+-1 twice (2 (2b - 1) - 1), so their cost file Cop_4x4.txt (C_min 0.32685269) holds "
        "{-3, +1} networks; our enumeration matches that file to 3.4e-8 (float32 resizing). The "
        "{-1, +1} alphabet the paper describes is enumerated too (landscape row 'mnist01-pm1').",
        "Optimiser: torch's L-BFGS (history 8, strong-Wolfe line search) stopping on the largest "
        "gradient component <= 1e-6 or after max_iter iterations (1.25 max_iter evaluations), "
        "complex128 statevector; the authors used OptimKit's LBFGS on an MPS simulation (PastaQ) "
        "with the gradient's 2-norm.",
        "Noise: Qiskit's depolarizing_error(lambda) with lambda = 0.001 p after every 1-qubit gate "
        "and 0.00375 p after every CX, applied to the noise-free trained D = 4 circuits (as the "
        "authors' 'resilience' runs), 1,000 shots per circuit and p; PastaQ's depolarising "
        "parameter may be the Pauli-error probability, which would make their channel 4/3 (1q) "
        "and 16/15 (2q) as strong as ours at the same p.",
        "Classical baselines (ours; the paper has none): random search and simulated annealing "
        "with the same number of cost evaluations as samples drawn from the circuit (budget). "
        "The circuit's exact training reads the whole enumerated cost vector, i.e. it already "
        "costs more than exhaustive search; the comparison is per sample, not per total cost.",
        "The Gaussian mixture is one fixed draw (seed 2023) of 10,000 train and 10,000 test "
        "points; the authors fixed no seed. Test accuracies are thresholded (p > 1/2).",
    )

    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody:
        any_job = next(iter(results.jobs.values()), None)
        profile = any_job.profile if any_job else "?"
        md = [
            f"Setup ({profile} profile). Landscapes (exhaustive enumeration of all 2^N BNNs):",
            "",
        ]
        md += self._landscape_table(results)
        circuits = {t: _job(results, t, "circuit") for t, _ in TASKS}
        depth_md, verdict, best_depths = self._depth_tables(results, circuits, plots)
        md += depth_md
        md += self._budget_table(results, circuits, best_depths)
        md += self._noise_table(results)
        deviations = self._run_deviations(results, circuits, profile)
        return SectionBody("\n".join(md), verdict, deviations)

    @staticmethod
    def _landscape_table(results: PaperResults) -> list[str]:
        lines = [
            "| task | N | C_min ours / paper | C mean, max ours / paper | optima (tol) ours / "
            "paper | optimum test acc. ours / paper | random BNN test acc. ours / paper | "
            "optimum's choice ours / paper | enumeration |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for task, label in TASKS:
            d = _landscape(results, task)
            key = task.replace("-", "_")
            paper = PAPER_LANDSCAPE.get(key, {})
            if d is None:
                lines.append(f"| {label} | — | not run | | | | | | |")
                continue
            bits = d.get("landscape_best_bits", "{}")
            choice = "—"
            if '"activation"' in bits:
                choice = "sigmoid" if '"activation": [1]' in bits else "ReLU"
            elif '"alphabet"' in bits:
                code = bits.split('"alphabet": [')[1].split("]")[0].replace(", ", "")
                choice = ["{0,1}", "{-1,1}", "{-2,1}", "{-3,1}"][int(code, 2)]
            lines.append(
                f"| {label} | {d['landscape_n_bits']} | {d['landscape_cost_min']:.8f} / "
                f"{paper.get('cost_min', '—')} | {d['landscape_cost_mean']:.4f}, "
                f"{d['landscape_cost_max']:.4f} / {paper.get('cost_mean', '—')}, "
                f"{paper.get('cost_max', '—')} | {d['landscape_n_optimal']} "
                f"({d['landscape_optimal_tolerance']:g}) / {paper.get('n_optimal', '—')} | "
                f"{100 * d['landscape_best_test_accuracy']:.1f}% (train "
                f"{100 * d['landscape_best_train_accuracy']:.1f}%) / "
                f"{paper.get('best_test_accuracy', '—')} | "
                f"{100 * d['landscape_random_test_accuracy']:.1f}% / "
                f"{paper.get('random_test_accuracy', '—')} | {choice} / "
                f"{paper.get('choice', '—')} | {d['landscape_seconds']:.0f} s |"
            )
        return [
            *lines,
            "",
            "Random BNN accuracy: the mean over all 2^N networks (the exact expectation for a "
            "uniformly drawn BNN).",
            "",
        ]

    def _depth_tables(
        self, results: PaperResults, circuits: dict, plots: PlotSink
    ) -> tuple[list[str], str, dict[str, int]]:
        md: list[str] = []
        verdicts: list[str] = []
        best_depths: dict[str, int] = {}
        curves: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for task, label in TASKS:
            result = circuits[task]
            if result is None:
                if results.get(f"hypernet-{task}-circuit") is not None:
                    md += [f"{label}: circuit search runs in the `paper` profile only.", ""]
                continue
            sampled = _job(results, task, "circuit", "eval-aer_shots")
            depths = _depths(result)
            n_starts = len(result.runs)
            lines = [
                f"{label}: P_opt and <C> - C_min by depth, mean ± standard error over "
                f"{n_starts} random starts (exact p_theta; 'sampled' = fraction of 1,000 Aer shots "
                "in the optimal set):",
                "",
                "| D | angles | P_opt | starts with P_opt > 0.5 | <C> - C_min | sampled P_opt | "
                "E[test acc.] of sampled BNNs | L-BFGS iterations | seconds per start |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            means, ses = [], []
            for depth in depths:
                p_opt = _values(result, f"d{depth}/p_opt")
                means.append(sum(p_opt) / len(p_opt))
                ses.append(summarize(p_opt).std / math.sqrt(len(p_opt)) if len(p_opt) > 1 else 0.0)
                hits = sum(v > 0.5 for v in p_opt)
                lines.append(
                    f"| {depth} | {result.describe.get(f'd{depth}_parameters', '?')} | "
                    f"{_mean_se(p_opt)} | {hits}/{len(p_opt)} | "
                    f"{_mean_se(_values(result, f'd{depth}/excess_cost'), 1, fmt='e')} | "
                    f"{_mean_se(_values(sampled, f'd{depth}/p_opt'))} | "
                    f"{_mean_se(_values(result, f'd{depth}/expected_test_accuracy'), 1, 100)}% | "
                    f"{_mean_se(_values(result, f'd{depth}/iterations'), 0)} | "
                    f"{_mean_se(_values(result, f'd{depth}/seconds'), 1)} |"
                )
            best = depths[max(range(len(depths)), key=lambda i: means[i])]
            best_depths[task] = best
            curves[label] = (depths, means, ses)
            md += [*lines, "", self._choices(result, best), ""]
            verdicts.append(self._depth_verdict(result, depths, best, label))
            verdicts.append(self._high_probability_verdict(result, best, label))
        if curves:
            md += [self._depth_plot(curves, plots), ""]
        if not verdicts:
            verdicts = ["**not tested**: no circuit search ran in this profile"]
        return md, "\n".join(f"\n- {v}" for v in verdicts), best_depths

    @staticmethod
    def _choices(result: JobResult, depth: int) -> str:
        keys = sorted(k for k in result.runs[0]["metrics"] if k.startswith(f"d{depth}/choice/"))
        if not keys:
            return f"Best depth D = {depth} (highest mean P_opt)."
        parts = [f"{k.split('/')[-1]} {_mean_se(_values(result, k), 3)}" for k in keys]
        name = keys[0].split("/")[2]
        return (
            f"Best depth D = {depth}. Probability the trained circuit puts on each {name} "
            f"choice (mean ± SE over starts): " + "; ".join(parts) + "."
        )

    @staticmethod
    def _depth_verdict(result: JobResult, depths: list[int], best: int, label: str) -> str:
        p = {d: _values(result, f"d{d}/p_opt") for d in depths}
        claim = f"an intermediate depth maximises P_opt ({label})"
        vs_first = _welch(p[best], p[depths[0]])
        vs_last = _welch(p[best], p[depths[-1]])

        def fmt(w, other):
            if w is None:
                return f"vs D = {other}: n/a"
            return f"vs D = {other}: {w[0]:+.3f} [{w[1]:+.3f}, {w[2]:+.3f}]"

        detail = (
            f"best D = {best}; P_opt difference (Welch 95% CI) {fmt(vs_first, depths[0])}, "
            f"{fmt(vs_last, depths[-1])}"
        )
        if best in (depths[0], depths[-1]):
            return f"**not reproduced**: {claim}; the maximum is at the edge of the range; {detail}"
        if vs_first and vs_last and vs_first[1] > 0 and vs_last[1] > 0:
            return f"**reproduced**: {claim}; {detail}"
        return f"**not reproduced (inconclusive)**: {claim}; {detail}"

    @staticmethod
    def _high_probability_verdict(result: JobResult, depth: int, label: str) -> str:
        """'Yields optimal BNNs with high probability': P_opt > 1/2 at the best depth, with the
        starts' 95% CI above 1/2."""
        p_opt = _values(result, f"d{depth}/p_opt")
        claim = (
            "the trained circuit yields an optimal BNN with probability > 1/2 "
            f"({label}, D = {depth})"
        )
        if len(p_opt) < 2:
            return f"**inconclusive**: {claim}; one start only"
        s = summarize(p_opt)
        detail = f"P_opt {s.mean:.3f}, 95% CI [{s.ci_low:.3f}, {s.ci_high:.3f}] over {s.n} starts"
        if s.ci_low > 0.5:
            return f"**reproduced**: {claim}; {detail}"
        if s.ci_high < 0.5:
            return f"**not reproduced**: {claim}; {detail}"
        return f"**not reproduced (inconclusive)**: {claim}; {detail}"

    @staticmethod
    def _depth_plot(curves: dict, plots: PlotSink) -> str:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.2))
        for label, (depths, means, ses) in curves.items():
            ax.errorbar(depths, means, yerr=ses, fmt="o-", capsize=3, label=label)
        ax.set_xlabel("circuit depth D")
        ax.set_ylabel("P_opt (mean ± SE over starts)")
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=6)
        return plots.save(fig, "p_opt_vs_depth", "success probability vs depth")

    @staticmethod
    def _budget_table(results: PaperResults, circuits: dict, best_depths: dict) -> list[str]:
        lines = [
            "Search with a budget of K cost evaluations (classical) or K samples from the trained "
            "circuit: probability that the best of K is optimal, and its mean excess cost "
            "(circuit: exact over p_theta, averaged over starts; classical: 1,000 runs per seed, "
            "averaged over seeds):",
            "",
            "| task | K | circuit (best D) hit | circuit excess | random search hit | random "
            "excess | annealing hit | annealing excess |",
            "|---|---|---|---|---|---|---|---|",
        ]
        rows = 0
        for task, label in TASKS:
            rnd, ann = _job(results, task, "random"), _job(results, task, "annealing")
            if rnd is None and ann is None:
                continue
            circuit, depth = circuits.get(task), best_depths.get(task)
            k = next((int(r.runs[0]["metrics"]["budget"]) for r in (rnd, ann) if r), 0)
            q_hit = _values(circuit, f"d{depth}/hit_within_budget") if depth else []
            q_exc = _values(circuit, f"d{depth}/best_of_budget_excess") if depth else []
            lines.append(
                f"| {label} | {k} | {_mean_se(q_hit)} | {_mean_se(q_exc, 1, fmt='e')} | "
                f"{_mean_se(_values(rnd, 'hit_within_budget'))} | "
                f"{_mean_se(_values(rnd, 'best_of_budget_excess'), 1, fmt='e')} | "
                f"{_mean_se(_values(ann, 'hit_within_budget'))} | "
                f"{_mean_se(_values(ann, 'best_of_budget_excess'), 1, fmt='e')} |"
            )
            rows += 1
        return [*lines, ""] if rows else []

    @staticmethod
    def _noise_table(results: PaperResults) -> list[str]:
        noisy = _job(results, "mnist01", "circuit", "eval-aer_depolarizing")
        sweep = _noise_sweep(noisy) if noisy is not None else {}
        if not sweep:
            return []
        ideal = _job(results, "mnist01", "circuit", "eval-aer_shots")
        lines: list[str] = []
        for depth, scales in sweep.items():
            lines += [
                f"Depolarising noise on the trained MNIST 0/1 circuits at D = {depth} (1,000 shots "
                "each; fraction of samples in the optimal set, mean ± SE over starts):",
                "",
                "| p | 1q / 2q depolarising | sampled P_opt | <C> - C_min of samples | paper (best "
                "run, 100,000 samples) | seconds per circuit |",
                "|---|---|---|---|---|---|",
                f"| 0 (ideal) | 0 / 0 | {_mean_se(_values(ideal, f'd{depth}/p_opt'))} | "
                f"{_mean_se(_values(ideal, f'd{depth}/excess_cost'), 1, fmt='e')} | — | "
                f"{_mean_se(_values(ideal, f'd{depth}/seconds'), 1)} |",
            ]
            for p, label in scales:
                prefix = f"{label}/d{depth}/"
                paper = PAPER_NOISE.get(round(p, 1))
                lines.append(
                    f"| {p:g} | {0.001 * p:.4f} / {0.00375 * p:.5f} | "
                    f"{_mean_se(_values(noisy, prefix + 'p_opt'))} | "
                    f"{_mean_se(_values(noisy, prefix + 'excess_cost'), 1, fmt='e')} | "
                    f"{f'{paper:.2f}' if paper else '—'} | "
                    f"{_mean_se(_values(noisy, prefix + 'seconds'), 1)} |"
                )
            lines.append("")
        return lines

    @staticmethod
    def _run_deviations(results: PaperResults, circuits: dict, profile: str) -> list[str]:
        try:
            max_iter = compose_config(["paper=hypernet", f"profile={profile}"]).paper.lbfgs.max_iter
        except Exception:  # the report must not fail on a profile it cannot compose
            max_iter = "?"
        out = []
        for task, result in circuits.items():
            if result is None:
                continue
            its = _values(result, f"d{_depths(result)[-1]}/iterations")
            out.append(
                f"{task}: {len(result.runs)} random starts per depth (the paper: 10); L-BFGS "
                f"max_iter {max_iter} (the paper: 500); at the deepest circuit the starts used "
                f"{min(its):.0f} to {max(its):.0f} iterations."
            )
        return out
