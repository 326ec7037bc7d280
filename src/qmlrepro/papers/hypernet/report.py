"""Report section: each task's enumerated landscape against the authors' numbers, P_opt vs depth,
the trained circuits against classical searches with the same budget, and depolarising noise."""

from dataclasses import replace

from scipy import stats

from qmlrepro.config.compose import compose_config
from qmlrepro.papers.hypernet.claims import (
    HIGH_PROBABILITY,
    NOISE,
    NOISE_DEPTH,
    ONE_LOOP,
    SHORT,
    intermediate_depth,
)
from qmlrepro.report.claims import Threshold, Verdict, not_testable
from qmlrepro.report.results import JobResult, PaperResults
from qmlrepro.report.section import PlotSink, ReportSection, SectionBody, register_section
from qmlrepro.report.stats import paired_interval, welch_interval

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
PAPER_NOISE = {p: c.paper_value for p, c in NOISE.items()}  # best run, 100,000 samples, D = 4


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
    return f"{m:.{digits}{fmt}} ± {_se(values) * scale:.{digits}{fmt}}"


def _se(values: list[float]) -> float:
    """Standard error of the mean (scipy's sem, ddof 1); 0 for one value."""
    return float(stats.sem(values)) if len(values) > 1 else 0.0


def _depths(result: JobResult) -> list[int]:
    keys = result.runs[0]["metrics"]
    return sorted({int(k.split("/")[0][1:]) for k in keys if k.endswith("/p_opt")})


def _common(result: JobResult, depths: list[int]) -> list[int]:
    """The starts (seeds) that logged P_opt at every depth, sorted."""
    seeds = [set(result.values(f"d{d}/p_opt")) for d in depths]
    return sorted(set.intersection(*seeds)) if seeds else []


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
        depth_md, verdicts, best_depths = self._depth_tables(results, circuits, plots)
        md += depth_md
        md += self._budget_table(results, circuits, best_depths)
        noise_md, noise_verdicts = self._noise_table(results)
        md += noise_md
        deviations = self._run_deviations(results, circuits, profile)
        verdicts = [*verdicts, *noise_verdicts, ONE_LOOP]
        return SectionBody("\n".join(md), deviations=deviations, verdicts=verdicts)

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
    ) -> tuple[list[str], list[Verdict], dict[str, int]]:
        md: list[str] = []
        verdicts: list[Verdict] = []
        best_depths: dict[str, int] = {}
        curves: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for task, label in TASKS:
            result = circuits[task]
            if result is None:
                if results.get(f"hypernet-{task}-circuit") is not None:
                    md += [f"{label}: circuit search runs in the `paper` profile only.", ""]
                    verdicts.append(
                        not_testable(
                            f"trained circuit finds optimal BNNs; P_opt by depth ({SHORT[task]})",
                            "the circuit search on this task runs in the `paper` profile only",
                        )
                    )
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
                ses.append(_se(p_opt))
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
            md += [*lines, "", self._choices(result, best), self._welch_line(result, depths, best)]
            md += [""]
            verdicts.append(self._depth_verdict(result, depths, task))
            verdicts.append(self._high_probability_verdict(result, best, task))
        if curves:
            md += [self._depth_plot(curves, plots), ""]
        if not any(results.get(f"hypernet-{t}-circuit") is not None for t, _ in TASKS):
            verdicts.append(
                not_testable(
                    "trained circuit finds optimal BNNs; an intermediate depth maximises P_opt",
                    "no circuit search ran in this profile",
                )
            )
        return md, verdicts, best_depths

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
    def _welch_line(result: JobResult, depths: list[int], best: int) -> str:
        """P_opt at the best depth minus the shallowest / deepest, Welch 95% CI (the starts at
        different depths are independent draws, so unpaired)."""
        parts = []
        for other in dict.fromkeys((depths[0], depths[-1])):
            a, b = _values(result, f"d{best}/p_opt"), _values(result, f"d{other}/p_opt")
            if other == best or not a or not b:
                continue
            parts.append(f"vs D = {other}: {welch_interval(a, b).format(3, signed=True)}")
        if not parts:
            return ""
        return f"P_opt at D = {best} minus (Welch t): " + "; ".join(parts) + "."

    @staticmethod
    def _depth_verdict(result: JobResult, depths: list[int], task: str) -> Verdict:
        """The argmax over depths of mean P_opt, with a bootstrap interval over starts, lies
        inside the grid. The paper gives no position, so the verdict carries no paper value."""
        claim = intermediate_depth(task, depths)
        if claim is None:
            return not_testable(
                f"an intermediate circuit depth maximises P_opt ({SHORT[task]})",
                f"depths {depths} have no interior point",
            )
        curves = [
            [result.values(f"d{d}/p_opt")[s] for d in depths] for s in _common(result, depths)
        ]
        verdict = claim.evaluate(depths, curves)
        return replace(
            verdict,
            paper_value=None,
            paper_spread=None,
            reason=verdict.reason.replace("the paper's position", "the interior depths")
            + "; the paper shows a peak at a small depth but gives no position",
        )

    @staticmethod
    def _high_probability_verdict(result: JobResult, depth: int, task: str) -> Verdict:
        """'Yields optimal BNNs with high probability': P_opt > 1/2 at the best depth. The depth
        is picked on the same starts, which favours the claim."""
        verdict = HIGH_PROBABILITY[task].evaluate(result.values(f"d{depth}/p_opt"))
        return replace(
            verdict,
            reason=f"{verdict.reason} (D = {depth}, the depth with the highest mean P_opt on the "
            "same starts, which favours the claim)",
        )

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
    def _noise_table(results: PaperResults) -> tuple[list[str], list[Verdict]]:
        noisy = _job(results, "mnist01", "circuit", "eval-aer_depolarizing")
        sweep = _noise_sweep(noisy) if noisy is not None else {}
        if not sweep:
            return [], [
                not_testable(c.statement, "no depolarising evaluation ran in this profile")
                for c in NOISE.values()
            ]
        ideal = _job(results, "mnist01", "circuit", "eval-aer_shots")
        lines: list[str] = []
        verdicts: dict[float, Verdict] = {}
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
                claim = NOISE.get(round(p, 1))
                if claim is not None and depth == NOISE_DEPTH:
                    verdicts[round(p, 1)] = _noise_verdict(
                        claim,
                        noisy.values(prefix + "p_opt"),
                        ideal.values(f"d{depth}/p_opt") if ideal is not None else {},
                    )
            lines.append("")
        missing = [
            not_testable(
                c.statement,
                f"no depolarising run at D = {NOISE_DEPTH}, p = {p:g} in this profile "
                f"(noise ran at D = {', '.join(map(str, sweep))})",
            )
            for p, c in NOISE.items()
            if p not in verdicts
        ]
        return lines, [*verdicts.values(), *missing]

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


def _noise_verdict(claim: Threshold, noisy: dict[int, float], ideal: dict[int, float]) -> Verdict:
    """The noise claim on the noisy sampled P_opt; the reason adds what the noise itself costs
    (noisy - noise-free, paired by start), since the noise-free P_opt bounds the noisy one."""
    verdict = claim.evaluate(noisy)
    if not set(noisy) & set(ideal):
        return verdict
    drop = paired_interval(noisy, ideal)
    ideal_mean = sum(ideal.values()) / len(ideal)
    return replace(
        verdict,
        reason=f"{verdict.reason}; noise-free, the same starts sample an optimum w.p. "
        f"{ideal_mean:.3f}, and the noise changes that by {drop.format(3, signed=True)} "
        f"({drop.n_label()}, {drop.method}); the paper's number is its best run, ours the mean "
        "over starts",
    )
