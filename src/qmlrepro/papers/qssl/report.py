"""Report section: every representation network and control x both probes, the learning-rate
selection, paired differences, random-initialisation rows, ibmq_paris-noise inference and the
width ablation."""

from dataclasses import replace

from qmlrepro.config.compose import compose_config
from qmlrepro.errors import DataError
from qmlrepro.papers.qssl.claims import (
    DIFFERENCE_BOUNDS,
    NOISE_MARGIN,
    NOISY_AS_ACCURATE_AS_CLASSICAL,
    NOISY_MATCHES_EXACT,
    PAPER_ABLATION,
    PAPER_ACCURACY,
    PAPER_DEVICE_ACCURACY_QUOTE,
    PAPER_GAP,
    PAPER_GAP_SPREAD,
    QUANTUM_BEATS_BEST_CONTROL,
    QUANTUM_EXACT_BEATS_CLASSICAL,
    QUANTUM_SHOTS_BEATS_CLASSICAL,
    SUMMARY,
)
from qmlrepro.papers.qssl.experiment import best_lr
from qmlrepro.records import Table
from qmlrepro.report.claims import Status, Verdict
from qmlrepro.report.results import PaperResults
from qmlrepro.report.section import (
    PlotSink,
    ReportSection,
    Row,
    SectionBody,
    Series,
    register_section,
    summary_table,
)
from qmlrepro.report.stats import PERCENT, Interval, mean_interval, paired_interval, summarize

# key -> (label, the records' model and training backend, family). The paper's four networks
# (keys of claims.PAPER_ACCURACY) and the classical controls, all at W = 8.
MODELS = {
    "classical": ("classical, LeakyReLU (the paper's)", "qssl/classical", "torch", "classical"),
    "classical-tanh": ("classical, tanh", "qssl/classical_tanh", "torch", "classical"),
    "classical-cos": ("classical, cos", "qssl/classical_cos", "torch", "classical"),
    "identity": ("identity (no representation network)", "qssl/identity", "torch", "classical"),
    "quantum-ring": ("quantum ring, exact", "qssl/quantum_ring", "torch", "quantum"),
    "quantum-ring-shots": (
        "quantum ring, 100 shots",
        "qssl/quantum_ring",
        "torch_shots",
        "quantum",
    ),
    "quantum-all-to-all": (
        "quantum all-to-all, 3 layers, exact",
        "qssl/quantum_all_to_all",
        "torch",
        "quantum",
    ),
}
CONTROLS = [k for k, (*_, family) in MODELS.items() if family == "classical"]
MAIN_WIDTH = 8
ABLATION_MODELS = {"quantum-ring": "qssl/quantum_ring", "classical": "qssl/classical"}
CONVERGED = "converged_test_accuracy"
PROBE_NAMES = {"converged": "converged probe", "paper": "the paper's probe"}


def _percent(table: Table) -> dict[int, float]:
    """seed -> value in percent; empty when the job did not run."""
    return {s: 100 * v for s, v in table.values("seed").items()}


def _paired(a: Table, b: Table) -> Interval | None:
    """a - b in points, paired by seed (scipy's paired t), clipped to [-100, 100]."""
    ours, control = _percent(a), _percent(b)
    if len(set(ours) & set(control)) < 1:
        return None
    return paired_interval(ours, control).clip(*DIFFERENCE_BOUNDS)


def _pct(i: Interval | None) -> str:
    if i is None:
        return "n/a"
    return f"{i.format(2, signed=True)} (n={i.n})"


def _mean_std(table: Table, scale: float = 100.0, digits: int = 1) -> str:
    values = [scale * v for v in table.values("seed").values()]
    if not values:
        return "—"
    s = summarize(values)
    return f"{s.mean:.{digits}f}" + (f" ± {s.std:.{digits}f}" if s.n > 1 else "")


def _runs(table: Table, shown: int = 3) -> str:
    """The first ``shown`` MLflow run ids (8 characters) and how many more."""
    ids = table.run_ids()
    more = f" (+{len(ids) - shown})" if len(ids) > shown else ""
    return ", ".join(f"`{r[:8]}`" for r in ids[:shown]) + more


def _range(table: Table) -> str:
    values = [100 * v for v in table.values("seed").values()]
    return f"{min(values):.1f}–{max(values):.1f}" if values else "—"


class Select:
    """Records of one model and role at W = 8 and the profile's horizon (random-init jobs:
    ``steps`` 0; the paper-profile width ablation, also at W = 8, has other ``steps``)."""

    def __init__(self, results: PaperResults, steps: int | None) -> None:
        self.results, self.steps = results, steps

    def __call__(self, key: str, name: str, role: str = "comparison", **dims) -> Table:
        _, model, backend, _ = MODELS[key]
        if role == "random_init":
            dims["steps"] = 0
        elif self.steps is not None:  # None: the profile did not compose; no horizon filter
            dims["steps"] = self.steps
        return self.results.select(
            name, model=model, train_backend=backend, width=MAIN_WIDTH, role=role, **dims
        )

    def converged(self, key: str, role: str = "comparison", features: str = "representation"):
        return self(key, CONVERGED, role, features=features, stage="train")

    def ran(self, key: str, role: str = "comparison") -> bool:
        return bool(self.converged(key, role))


def _compose(profile: str):
    try:
        return compose_config(["paper=qssl", f"profile={profile}"])
    except Exception:  # the report must not fail on a profile it cannot compose
        return None


def _constant_loss(profile: str) -> float | None:
    """NT-Xent of a constant embedding, ln(2B - 1) for batch size B: every one of the 2B - 1
    other views is equally similar."""
    import math

    cfg = _compose(profile)
    return None if cfg is None else math.log(2 * int(cfg.paper.batch_size) - 1)


def _steps(profile: str) -> int | None:
    """The profile's SimCLR horizon (paper.steps), from the config the runs composed."""
    cfg = _compose(profile)
    return None if cfg is None else int(cfg.paper.steps)


def _settings(profile: str) -> str:
    """This profile's horizon and probe protocol, read from the same config the runs composed."""
    cfg = _compose(profile)
    if cfg is None:
        return f"profile {profile}"
    paper = cfg.paper
    probe = paper.probe
    views = "fresh augmented views each epoch" if probe.augment else "cached un-augmented features"
    return (
        f"{paper.steps} batches of {paper.batch_size} ({paper.steps * paper.batch_size:,} image "
        f"pairs), projection head output {paper.projection_dim or paper.width}; probes read "
        f"{probe.n_train or 'all but the last'} {'' if probe.n_train else f'{probe.n_val} '}"
        f"training images; the converged probe picks its C from {list(probe.c_grid)} on "
        f"{probe.n_val} validation images (training images after those); the paper's probe: "
        f"{probe.epochs} epochs of Adam on {views}; both scored on {probe.n_test or 'all'} test "
        f"images; noisy inference on the first {paper.eval_images or 'all'} of them"
    )


def _best_control(select: Select) -> str | None:
    """The classical-family network of the highest mean converged-probe VALIDATION accuracy."""
    means = {}
    for key in CONTROLS:
        values = select(
            key, "converged_val_accuracy", features="representation", stage="train"
        ).values("seed")
        if values:
            means[key] = sum(values.values()) / len(values)
    return max(means, key=means.get) if means else None


def _power(ours: dict[int, float], control: dict[int, float], effect: float) -> str:
    """The paired t test's power against ``effect`` and its 80%-power minimum detectable effect,
    from the observed per-seed differences' std (scipy's noncentral t)."""
    from scipy import stats

    seeds = sorted(set(ours) & set(control))
    if len(seeds) < 3:
        return ""
    diffs = [ours[s] - control[s] for s in seeds]
    n, mean = len(diffs), sum(diffs) / len(diffs)
    sd = (sum((d - mean) ** 2 for d in diffs) / (n - 1)) ** 0.5
    if sd == 0:
        return ""
    crit = stats.t.ppf(0.975, n - 1)
    power = stats.nct.sf(crit, n - 1, effect / (sd / n**0.5))
    mde = (crit + stats.t.ppf(0.8, n - 1)) * sd / n**0.5
    return (
        f"underpowered for the paper's size: with the per-seed differences' std {sd:.2f}, "
        f"{n} seeds detect {effect:+.2f} points with probability {power:.0%} and need "
        f"{mde:.1f} for 80%"
    )


def _label_of(record) -> str:
    """The report label of a record's model and training backend."""
    for label, model, backend, _ in MODELS.values():
        if record.dims.get("model") == model and record.dims.get("train_backend") == backend:
            return label
    return str(record.dims.get("model"))


def _learning_gain(select: Select, ours: str, control: str) -> Interval | None:
    """(ours trained - ours at random init) - (control trained - control at random init) in
    points, paired by seed: how much of a trained gap training added beyond the gap the two
    architectures had before any learning."""
    values = {
        (key, role): _percent(select.converged(key, role))
        for key in (ours, control)
        for role in ("comparison", "random_init")
    }
    seeds = set.intersection(*(set(v) for v in values.values()))
    if not seeds:
        return None
    gain = {
        s: values[(ours, "comparison")][s]
        - values[(ours, "random_init")][s]
        - values[(control, "comparison")][s]
        + values[(control, "random_init")][s]
        for s in seeds
    }
    return mean_interval([gain[s] for s in sorted(seeds)]).clip(*DIFFERENCE_BOUNDS)


@register_section
class QsslSection(ReportSection):
    paper_id = "qssl"
    summary = SUMMARY
    order = 10
    title = "qssl: Quantum Self-Supervised Learning (Jaderberg et al., arXiv 2103.14653)"
    claim = (
        "In SimCLR with a ResNet-18 encoder, an 8-qubit quantum representation network gives a "
        "better linear-probe accuracy than a classical network of the same width (also when every "
        "circuit is sampled with 100 shots), and the quantum model run under ibmq_paris noise "
        "classifies unseen images as accurately as the classical one."
    )
    deviations = (
        "Data: MNIST digits 0-4 (28x28, one channel: the ResNet's first conv takes 1 channel) "
        "instead of CIFAR-10's first 5 classes, which cannot be downloaded here; "
        "`make reproduce-qssl-cifar10` runs the same jobs on CIFAR-10 where it can.",
        "Verdicts read a converged, scale-invariant probe (standardised features, multinomial "
        "logistic regression by L-BFGS to tolerance 1e-6, its L2 strength chosen on a validation "
        "split), not the paper's probe (Adam for 100 epochs, best test epoch), which is reported "
        "beside it: the paper's probe depends on the features' scale and selects on the test set.",
        "Every pre-trained network's learning rate is tuned in {1e-4, 3e-4, 1e-3} on the "
        "converged probe's validation accuracy over 3 tuning seeds (the paper: 1e-3 for all).",
        "Controls the paper does not have: classical networks with tanh and with cos (the "
        "quantum layer's non-linearity), no representation network (the authors' --identity "
        "option), and every architecture at random initialisation (BatchNorm calibrated).",
        "Projection head output W (8), as the authors' code builds it (SimCLR(resnet18, "
        "args.width)), not standard SimCLR's 128 (`paper.projection_dim=128`, run as a variant: "
        "README).",
        "Augmentations re-implemented batched (one grid_sample per batch): crops that would leave "
        "the image are shrunk instead of re-drawn; colour jitter in a fixed order, hue as a YIQ "
        "rotation; on MNIST only crop (scale 0.2-1) and brightness/contrast jitter 0.4 (p=0.8), "
        "no flip, no grayscale/saturation/hue.",
        "Shot-based training uses the exact four-term parameter-shift rule for CRX (the authors "
        "used the two-term rule, which is biased for controlled rotations); probe features of "
        "the 100-shot model are 100-shot estimates drawn once per image.",
        "The all-to-all ansatz follows the authors' code ('abbas'): an RY layer, then 3 x "
        "[CNOT on every pair, RY layer] (32 weights at W = 8).",
        "Both views of a pair go through the encoder in separate forward passes (as the authors' "
        "code), so BatchNorm statistics are per view.",
        "ibmq_paris inference uses Aer with FakeParisV2's noise model (transpiled at optimisation "
        "level 1, 100 shots, density-matrix simulation), not the retired device; both probes, "
        "fitted on the features of the model's training executor (exact, or 100-shot "
        "estimates), are reused unchanged. Real hardware (with credentials): "
        "`python pipelines/evaluate.py job=qssl-quantum-ring backend=ibm_runtime`.",
    )

    def body(self, results: PaperResults, plots: PlotSink) -> SectionBody:
        profile = str(next(iter(results.select().levels("profile")), "?"))
        select = Select(results, _steps(profile))
        md: list[str] = [f"Setup ({profile} profile): {_settings(profile)}.", ""]
        md += [
            "Terms. *Input angles*: the W = 8 outputs sigmoid(x)·π of the trunk's Linear(512, W), "
            "what every representation network receives (the quantum ring's rotation angles). "
            "*Paper's probe*: a Linear(W, 5) head trained by Adam for 100 epochs on frozen "
            "features, read at its best test epoch (the paper's protocol; it selects on the test "
            "set and depends on the features' scale) and at its final epoch. *Converged probe*: "
            "the same linear model on standardised features, fitted by L-BFGS to convergence, its "
            "L2 strength chosen on a validation split of training images; the verdicts' probe. "
            "*Identity*: no representation network (the authors' --identity option): the probe "
            "reads the input angles. *Strongest classical control*: of LeakyReLU, tanh, cos and "
            "identity, the one with the best mean validation accuracy. *Random init*: the "
            "architecture before any SimCLR training (BatchNorm statistics calibrated). "
            "*Effective rank*: exp of the entropy of the normalised singular values of the "
            "centred test features (8 at most; ~1 is a collapsed representation). *Angles within "
            "0.05 of 0 or π*: saturated sigmoids, where RX barely moves and the gradient "
            "vanishes. *NT-Xent*: the SimCLR loss on fixed batches before and after "
            "pre-training; a constant embedding scores ln(2B − 1)"
            + (f" = {_constant_loss(profile):.2f}" if _constant_loss(profile) else "")
            + ", so a final loss near it means pre-training had barely begun.",
            "",
            "Primary comparison: the paper's claim, quantum ring (exact) against the paper's "
            "classical network, each at its tuned learning rate; the other verdicts are "
            "secondary (no multiplicity correction).",
            "",
        ]
        md += self._lr_selection(select, plots)
        md += self._main_tables(select)
        md += self._differences(select)
        noise_md, noise_verdicts = self._noise(select)
        md += noise_md
        md += self._compute(results)
        md += self._plots(results, select, plots)

        verdicts = [
            self._gap_verdict(claim, key, select)
            for claim, key in (
                (QUANTUM_EXACT_BEATS_CLASSICAL, "quantum-ring"),
                (QUANTUM_SHOTS_BEATS_CLASSICAL, "quantum-ring-shots"),
            )
        ]
        verdicts.append(self._control_verdict(select))
        verdicts += noise_verdicts
        seeds = max((len(select.converged(k)) for k in MODELS), default=0)
        deviations = [
            f"Horizon and probes ({profile} profile): {_settings(profile)}. The paper: 176 "
            "batches of 256, probe of 100 epochs on augmented views of all 25,000 training "
            f"images scored on all 5,000 test images. Seeds: {seeds} (the paper: 6).",
        ]
        return SectionBody("\n".join(md), deviations=deviations, verdicts=verdicts)

    # -- tables ---------------------------------------------------------------------------------

    def _lr_selection(self, select: Select, plots: PlotSink) -> list[str]:
        lines: dict[str, Table] = {}
        grid: set[float] = set()
        for key, (label, *_rest) in MODELS.items():
            table = select(key, "val_accuracy", "tuning", features="representation")
            if table:
                lines[label] = table
                grid |= {float(v) for v in table.levels("lr")}
        if not lines:
            return ["Learning-rate tuning: not run in this profile.", ""]
        lrs = sorted(grid)
        close: list[str] = []
        head = "| | " + " | ".join(f"lr {lr:g}" for lr in lrs) + " | chosen lr | tuning runs |"
        rows = [head, "|---" * (len(lrs) + 3) + "|"]
        for key, (label, *_rest) in MODELS.items():
            table = lines.get(label)
            if table is None:
                continue
            cells = [_mean_std(table.select(lr=lr)) for lr in lrs]
            chosen = sorted({v for v in select(key, "lr", stage="train").values("seed").values()})
            best = best_lr({lr: list(table.select(lr=lr).values("seed").values()) for lr in lrs})
            text = ", ".join(f"{c:g}" for c in chosen) or "not run"
            if chosen and chosen != [best]:  # e.g. a seed= rerun after the tuning job changed
                text += f" (**not the best mean, {best:g}: rerun the comparison job**)"
            elif chosen and best in (lrs[0], lrs[-1]) and len(lrs) > 1:
                text += " (edge of the grid: the best lr may lie beyond it)"
            ranked = sorted(
                (
                    summarize([100 * v for v in table.select(lr=lr).values("seed").values()])
                    for lr in lrs
                    if table.select(lr=lr)
                ),
                key=lambda summary: summary.mean,
            )
            if len(ranked) > 1 and ranked[-1].mean - ranked[-2].mean < ranked[-1].std:
                close.append(label)
            rows.append(f"| {label} | {' | '.join(cells)} | {text} | {_runs(table)} |")
        link = plots.curves(
            "lr_selection",
            "validation accuracy of the converged probe against the learning rate",
            lines,
            "lr",
            y="val_accuracy",
            xlabel="SimCLR learning rate",
            ylabel="validation accuracy (%)",
            scale=100.0,
            logx=True,
            bounds=(0.0, 100.0),
        )
        note = (
            f"For {len(close)} of {len(lines)} models the best lr beats the runner-up by less "
            "than one seed std of the tuning runs: the choice is close to noise there."
            if close
            else ""
        )
        chosen_all = {
            v for k in MODELS for v in select(k, "lr", stage="train").values("seed").values()
        }
        if len(chosen_all) > 1:
            note += (
                " The chosen lrs differ between models, so a difference between two models mixes "
                "architecture and learning rate (e.g. 100 shots − exact)."
            )
        return [
            "Learning-rate selection: validation accuracy (%) of the converged probe on the "
            "representation output, mean ± std over the tuning seeds (disjoint from the "
            "comparison seeds; one MLflow run per seed holds all its lrs); each comparison job "
            "trains at the lr of the best mean (the validation split holds training images, never "
            "test images):",
            "",
            *rows,
            "",
            note,
            "",
            link,
            "",
        ]

    def _main_tables(self, select: Select) -> list[str]:
        rows = []
        for key, (label, *_rest) in MODELS.items():
            table = select.converged(key)
            params = self._params(select, key)
            paper = PAPER_ACCURACY.get(key)
            paper_value = f"{paper[0]:.2f} ± {paper[1]:.2f} (CIFAR-10, its probe)" if paper else "—"
            rows.append(Row(f"{label} ({params})", table, paper_value=paper_value))
        random_rows = [
            Row(f"{label}, random init", select.converged(key, "random_init"))
            for key, (label, *_rest) in MODELS.items()
            if select.ran(key, "random_init")
        ]
        md = [
            "Linear-probe test accuracy (%), converged probe on the representation output "
            "(the verdicts' number):",
            "",
            summary_table(rows, 100.0, bounds=PERCENT),
            "",
        ]
        if random_rows:
            md += [
                "The same at random initialisation (no SimCLR training, BatchNorm statistics "
                "calibrated): what each architecture gives before any learning:",
                "",
                summary_table(random_rows, 100.0, bounds=PERCENT),
                "",
            ]
        detail = [
            "| | converged probe, representation | converged probe, input angles | paper's "
            "probe, best epoch | paper's probe, final epoch | per-seed range (converged) | "
            "effective rank (repr. / angles) | angles within 0.05 of 0 or π (%) | NT-Xent, "
            "initial → final |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for role, suffix in (("comparison", ""), ("random_init", ", random init")):
            for key, (label, *_rest) in MODELS.items():
                repr_ = select.converged(key, role)
                if not repr_:
                    continue
                angles = select.converged(key, role, "angles")
                best = select(key, "probe_best_accuracy", role, stage="train")
                final = select(key, "probe_final_accuracy", role, stage="train")
                ranks = [
                    _mean_std(select(key, "effective_rank", role, features=f, stage="train"), 1.0)
                    for f in ("representation", "angles")
                ]
                saturated = select(key, "angle_saturation", role, stage="train")
                losses = (
                    " → ".join(
                        _mean_std(
                            select(key, f"contrastive_loss_{when}", role, stage="train"), 1.0, 2
                        )
                        for when in ("init", "final")
                    )
                    if role == "comparison"
                    else "— (not trained)"
                )
                detail.append(
                    f"| {label}{suffix} | {_mean_std(repr_)} | {_mean_std(angles)} | "
                    f"{_mean_std(best)} | {_mean_std(final)} | {_range(repr_)} | "
                    f"{ranks[0]} / {ranks[1]} | {_mean_std(saturated)} | {losses} |"
                )
        fits = {
            role: [
                r
                for r in select.results.select("converged", stage="train", role=role)
                if r.dims.get("width") == MAIN_WIDTH and r.dims.get("steps") in (select.steps, 0)
            ]
            for role in ("tuning", "comparison", "random_init")
        }
        capped = "; ".join(
            f"{role.replace('_', ' ')} {sum(r.value < 1 for r in rows)} of {len(rows)}"
            for role, rows in fits.items()
            if rows
        )
        which = sorted(
            f"{_label_of(r)}, seed {r.dims['seed']}"
            + (f", lr {r.dims['lr']:g}" if "lr" in r.dims else "")
            + f", {r.dims.get('features')}"
            for rows in fits.values()
            for r in rows
            if r.value < 1
        )
        if which:
            capped += " (" + ", ".join(which) + ")"
        chosen_c = []
        for key, (label, *_rest) in MODELS.items():
            cs = select(key, "converged_c", features="representation", stage="train")
            if cs:
                counts: dict[float, int] = {}
                for c in cs.values("seed").values():
                    counts[c] = counts.get(c, 0) + 1
                chosen_c.append(
                    f"{label}: " + ", ".join(f"C={c:g} ×{n}" for c, n in sorted(counts.items()))
                )
        return [
            *md,
            "Every probe and diagnostic, mean ± std over seeds (%; effective rank: exp of the "
            "entropy of the normalised singular values of the centred test features, 8 at most):",
            "",
            *detail,
            "",
            f"Converged-probe fits that hit the iteration cap: {capped or 'none run'}. "
            "The random-init rows share one trunk and Linear(512, W) initialisation per seed and "
            "the same calibration batches, so their input-angle columns are identical by "
            "construction. C chosen on validation (representation output): "
            + "; ".join(chosen_c)
            + ".",
            "",
        ]

    def _differences(self, select: Select) -> list[str]:
        pairs = [
            ("quantum-ring", "classical", "comparison", "representation"),
            ("quantum-ring-shots", "classical", "comparison", "representation"),
            ("quantum-all-to-all", "classical", "comparison", "representation"),
            ("quantum-ring", "classical-tanh", "comparison", "representation"),
            ("quantum-ring", "classical-cos", "comparison", "representation"),
            ("quantum-ring", "identity", "comparison", "representation"),
            ("quantum-ring", "classical", "random_init", "representation"),
            ("quantum-ring", "classical", "comparison", "angles"),
        ]
        lines = [
            "| ours − control (points) | converged probe | paper's probe, best epoch | "
            "paper's probe, final epoch |",
            "|---|---|---|---|",
        ]
        for ours, control, role, features in pairs:
            if not (select.ran(ours, role) and select.ran(control, role)):
                continue
            label = f"{MODELS[ours][0]} − {MODELS[control][0]}"
            if role == "random_init":
                label += ", both at random init"
            converged = _paired(
                select.converged(ours, role, features), select.converged(control, role, features)
            )
            if features == "angles":
                label += ", probing the input angles (what the trunks learned)"
                lines.append(f"| {label} | {_pct(converged)} | — | — |")
                continue
            paper = [
                _paired(
                    select(ours, m, role, stage="train"), select(control, m, role, stage="train")
                )
                for m in ("probe_best_accuracy", "probe_final_accuracy")
            ]
            lines.append(f"| {label} | {_pct(converged)} | {_pct(paper[0])} | {_pct(paper[1])} |")
        for key, (label, *_rest) in MODELS.items():
            kept = _paired(select.converged(key), select.converged(key, features="angles"))
            if kept is not None and key != "identity":
                lines.append(
                    f"| {label}: its representation output − its own input angles (what the "
                    f"representation network keeps) | {_pct(kept)} | — | — |"
                )
        gain = _learning_gain(select, "quantum-ring", "classical")
        if gain is not None:
            lines.append(
                "| what training added: (quantum ring, exact, trained − at random init) − "
                f"(classical, LeakyReLU, trained − at random init) | {_pct(gain)} | — | — |"
            )
        return [
            "Paired differences by seed (a seed fixes the trunk, the projection head and the "
            "data order of every model), mean [95% CI, paired t]:",
            "",
            *lines,
            "",
        ]

    def _noise(self, select: Select) -> tuple[list[str], list[Verdict]]:
        def acc(key: str, probe: str, **dims) -> Table:
            return select(key, "test_accuracy", probe=probe, **dims)

        control = _best_control(select)
        exact = {p: acc("quantum-ring", p, stage="train") for p in ("converged", "paper")}
        noisy = {p: acc("quantum-ring", p, backend="aer_noise") for p in ("converged", "paper")}
        shots = {p: acc("quantum-ring-shots", p, stage="train") for p in ("converged", "paper")}
        noisy_shots = {
            p: acc("quantum-ring-shots", p, backend="aer_noise") for p in ("converged", "paper")
        }
        rows = [
            ("quantum ring, exact-trained, exact inference", exact),
            ("quantum ring, exact-trained, ibmq_paris noise, 100 shots", noisy),
            ("quantum ring, 100-shot-trained, 100-shot inference", shots),
            ("quantum ring, 100-shot-trained, ibmq_paris noise, 100 shots", noisy_shots),
        ]
        if control is not None:
            rows.append(
                (
                    f"{MODELS[control][0]} (the strongest classical control on validation)",
                    {p: acc(control, p, stage="train") for p in ("converged", "paper")},
                )
            )
        counts = {
            int(r.value)
            for key in ("quantum-ring", "quantum-ring-shots", *([control] if control else []))
            for r in select(key, "n_images")
        }
        if len(counts) > 1:  # the paired differences below assume the same images
            raise DataError(f"the qssl stages scored different numbers of test images: {counts}")
        n = counts.pop() if counts else 0
        table = [
            "| | converged probe | paper's probe (final epoch) | paper | MLflow runs |",
            "|---|---|---|---|---|",
        ]
        for label, by_probe in rows:
            conv = by_probe["converged"]
            quote = (
                f"{PAPER_DEVICE_ACCURACY_QUOTE:.1f} (device; unverified third-party quote)"
                if "exact-trained, ibmq" in label
                else "—"
            )
            table.append(
                f"| {label} | {_mean_std(conv)} | {_mean_std(by_probe['paper'])} | {quote} | "
                f"{_runs(conv)} |"
            )
        noise_cost = _paired(noisy["converged"], exact["converged"])
        noise_cost_paper = _paired(noisy["paper"], exact["paper"])
        shots_cost = {p: _paired(noisy_shots[p], shots[p]) for p in PROBE_NAMES}
        vs_control = (
            _paired(noisy["converged"], acc(control, "converged", stage="train"))
            if control
            else None
        )
        vs_classical = {
            p: _paired(noisy[p], acc("classical", p, stage="train")) for p in PROBE_NAMES
        }
        probes_exact = _paired(exact["converged"], exact["paper"])
        probes_noisy = _paired(noisy["converged"], noisy["paper"])
        md = [
            f"Inference on the same {n} test images with the trained encoder and both probes "
            "(%, mean ± std over seeds):",
            "",
            *table,
            "",
            "Paired differences (points): noisy − exact, exact-trained ring: converged probe "
            f"{_pct(noise_cost)}, the paper's probe {_pct(noise_cost_paper)}; 100-shot-trained "
            "ring (its probes fitted on 100-shot features): converged "
            f"{_pct(shots_cost['converged'])}, the paper's {_pct(shots_cost['paper'])}. "
            "Noisy exact-trained ring − the paper's "
            f"classical network: converged {_pct(vs_classical['converged'])}, the paper's "
            f"{_pct(vs_classical['paper'])}; − the strongest classical control (converged) "
            f"{_pct(vs_control)}.",
            "",
            "The noise verdicts depend on the probe. Both probes of the exact-trained ring were "
            "fitted on its exact features and are not refitted. On exact features the converged "
            f"probe leads the paper's by {_pct(probes_exact)}; under noise the two read "
            f"{_pct(probes_noisy)} apart: the noise removes the accuracy the converged probe "
            "draws from low-variance, large-weight directions, which the small-weight, "
            "early-stopped Adam head never used; a model whose probes saw shot noise in training "
            "loses less. Label-free recalibration of the noisy ⟨Z⟩ (readout-mitigation-like) "
            "is not applied.",
            "",
        ]
        verdicts = [self._noise_vs_exact(noisy, exact, p) for p in ("converged", "paper")]
        verdicts += [self._noise_vs_control(noisy, control, select, p) for p in PROBE_NAMES]
        return md, verdicts

    def _compute(self, results: PaperResults) -> list[str]:
        """Measured compute of this profile's qssl runs (process start-up not included)."""
        by_role: dict[str, float] = {}
        for r in results.select("wall_seconds", stage="train"):
            role = str(r.dims.get("role", "comparison"))
            by_role[role] = by_role.get(role, 0.0) + r.value
        noise = sum(r.value for r in results.select("wall_seconds", stage="evaluate"))
        if not by_role:
            return []
        parts = [f"{role.replace('_', ' ')} {s / 60:.1f}" for role, s in sorted(by_role.items())]
        total = (sum(by_role.values()) + noise) / 60
        return [
            f"Compute, summed over runs (minutes, one CPU thread each): "
            f"{'; '.join(parts)}; noise inference {noise / 60:.1f}; total {total:.1f}.",
            "",
        ]

    # -- verdicts -------------------------------------------------------------------------------

    def _gap_verdict(self, claim, key: str, select: Select) -> Verdict:
        ours, classical = select.converged(key), select.converged("classical")
        verdict = claim.evaluate(_percent(ours), _percent(classical))
        datasets = ", ".join(str(d) for d in ours.levels("dataset")) or "?"
        notes = [
            f"the paper's gap, {PAPER_GAP[key]:+.2f} ± {PAPER_GAP_SPREAD[key]:.2f} points (95%), "
            f"is on CIFAR-10 with its own probe (ours: {datasets}, converged probe)"
        ]
        power = _power(_percent(ours), _percent(classical), PAPER_GAP[key])
        if power:
            notes.insert(0, power)
        paper_gap = _paired(
            select(key, "probe_best_accuracy", stage="train"),
            select("classical", "probe_best_accuracy", stage="train"),
        )
        if paper_gap is not None:
            lost = {
                k: _paired(select.converged(k), select(k, "probe_best_accuracy", stage="train"))
                for k in (key, "classical")
            }
            notes.append(
                f"with the paper's probe (best epoch) the gap is {_pct(paper_gap)}, because "
                "that probe scores below the converged one by "
                f"{_pct(lost['classical'])} on the classical output but only "
                f"{_pct(lost[key])} on the quantum one (it depends on the features' scale: see "
                "the effective ranks and C)"
            )
        random_gap = _paired(
            select.converged(key, "random_init"), select.converged("classical", "random_init")
        )
        if random_gap is not None:
            kept = {
                k: _paired(
                    select.converged(k, "random_init"),
                    select.converged(k, "random_init", "angles"),
                )
                for k in (key, "classical")
            }
            notes.append(
                f"at random initialisation the same gap is {_pct(random_gap)}: there, output − "
                f"its own input angles is {_pct(kept['classical'])} for the classical network "
                f"and {_pct(kept[key])} for the quantum layer (small rotations: close to the "
                "identity)"
            )
            gain = _learning_gain(select, key, "classical")
            if gain is not None:
                notes.append(f"training added {_pct(gain)} to the quantum side beyond that")
        losses = [
            _mean_std(select(k, f"contrastive_loss_{w}", stage="train"), 1.0, 2)
            for k in (key, "classical")
            for w in ("init", "final")
        ]
        if select.steps is not None and "—" not in losses:
            notes.append(
                f"pre-training ran {select.steps} batches (the paper: 176 batches of 256), not to "
                f"convergence: NT-Xent {losses[0]} → {losses[1]} (quantum), "
                f"{losses[2]} → {losses[3]} (classical)"
            )
        control = _best_control(select)
        if control and control != "classical":
            vs = _paired(ours, select.converged(control))
            notes.append(f"against the strongest control ({MODELS[control][0]}): {_pct(vs)}")
        return replace(verdict, reason=f"{verdict.reason}; {'; '.join(notes)}")

    def _control_verdict(self, select: Select) -> Verdict:
        claim = QUANTUM_BEATS_BEST_CONTROL
        control = _best_control(select)
        if control is None:
            return claim.verdict(Status.TOO_FEW_SEEDS, "no classical control was run")
        verdict = claim.evaluate(
            _percent(select.converged("quantum-ring")), _percent(select.converged(control))
        )
        return replace(
            verdict,
            reason=f"{verdict.reason}; the strongest control on validation: {MODELS[control][0]}",
        )

    @staticmethod
    def _noise_vs_exact(noisy: dict[str, Table], exact: dict[str, Table], probe: str) -> Verdict:
        """Equivalence of noisy and exact inference of the same model on the same images, read by
        ``probe`` ("converged" or "paper"), both trained on exact features."""
        claim = NOISY_MATCHES_EXACT
        ours, reference = _percent(noisy[probe]), _percent(exact[probe])
        if not set(ours) & set(reference):
            verdict = claim.verdict(
                Status.TOO_FEW_SEEDS, "the noise-inference stages were not run in this profile"
            )
        else:
            verdict = claim.evaluate(ours, reference)
            verdict = replace(
                verdict,
                reason=f"{verdict.reason} (equivalence margin ±{NOISE_MARGIN:g} points, the "
                "paper's seed-to-seed spread; same trained model and images)",
            )
        return replace(verdict, claim=f"{verdict.claim} ({PROBE_NAMES[probe]})")

    @staticmethod
    def _noise_vs_control(
        noisy: dict[str, Table], control: str | None, select: Select, probe: str
    ) -> Verdict:
        """Non-inferiority: a ``Threshold`` at -margin on the per-seed paired differences noisy
        quantum - strongest classical control, both read by ``probe`` (its Student t interval is
        the paired t)."""
        claim = NOISY_AS_ACCURATE_AS_CLASSICAL
        ours = _percent(noisy[probe])
        theirs = (
            _percent(select(control, "test_accuracy", probe=probe, stage="train"))
            if control
            else {}
        )
        shared = sorted(set(ours) & set(theirs))
        if not shared:
            verdict = claim.verdict(
                Status.TOO_FEW_SEEDS, "the noise-inference stages were not run in this profile"
            )
            return replace(verdict, claim=f"{verdict.claim} ({PROBE_NAMES[probe]})")
        verdict = claim.evaluate([ours[s] - theirs[s] for s in shared])
        interval = verdict.interval
        if interval is not None:
            interval = replace(interval, method=interval.method.replace("Student t", "paired t"))
        return replace(
            verdict,
            claim=f"{verdict.claim} ({PROBE_NAMES[probe]})",
            interval=interval,
            signed=True,
            reason=f"{verdict.reason} (non-inferiority margin {NOISE_MARGIN:g} points; the "
            f"control: {MODELS[control][0]}, chosen on validation accuracy)",
        )

    @staticmethod
    def _params(select: Select, key: str) -> str:
        table = select.converged(key)
        if not table:
            return "not run"
        return f"{select.results.describe(table).get('n_params_representation', '?')} params"

    # -- plots ----------------------------------------------------------------------------------

    def _plots(self, results: PaperResults, select: Select, plots: PlotSink) -> list[str]:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = []
        fig, ax = plt.subplots(figsize=(7, 3.4))
        keys = list(MODELS)
        for i, key in enumerate(keys):
            for role, color, shift, name in (
                ("comparison", "C0", 0.0, "ours, trained (per seed)"),
                ("random_init", "0.6", 0.2, "ours, random init"),
            ):
                values = list(select.converged(key, role).values("seed").values())
                ax.scatter(
                    [i + shift] * len(values),
                    [100 * v for v in values],
                    color=color,
                    s=14,
                    label=name if i == 0 else None,
                )
            if key in PAPER_ACCURACY:
                ax.errorbar(
                    i - 0.2,
                    PAPER_ACCURACY[key][0],
                    yerr=PAPER_ACCURACY[key][1],
                    fmt="s",
                    color="C3",
                    label="paper (CIFAR-10, its probe)" if i == 0 else None,
                )
        ax.set_xticks(range(len(keys)), [MODELS[k][0] for k in keys], rotation=20, fontsize=6)
        ax.set_ylabel("converged-probe test accuracy (%)")
        ax.legend(fontsize=7)
        out += [plots.save(fig, "probe_accuracy", "converged-probe accuracy per seed"), ""]

        # the width ablation: W = 2..8 at a horizon other than the main table's
        ablation = {}
        for kind, model in ABLATION_MODELS.items():
            trained = results.select(
                "probe_best_accuracy",
                model=model,
                train_backend="torch",
                stage="train",
                role="comparison",
            )
            horizons = [h for h in trained.levels("steps") if h != select.steps]
            if select.steps is not None and len(horizons) == 1:  # the ablation's own horizon
                ablation[f"{kind} (ours)"] = trained.select(steps=horizons[0])
        if not ablation:  # an empty series: `dvc plots show` draws an empty figure, no error
            plots.series.append(Series("width_ablation", "width", "probe_best_accuracy", {}))
            note = (
                "Width ablation (W = 2..8): runs in the `paper` profile only; not run in this one."
            )
            return [*out, note, ""]
        references = {
            f"{kind} (paper, CIFAR-10)": (list(paper), list(paper.values()))
            for kind, paper in PAPER_ABLATION.items()
        }
        link = plots.curves(
            "width_ablation",
            "width ablation",
            ablation,
            "width",
            y="probe_best_accuracy",
            bounds=(0.0, 100.0),
            xlabel="width W (qubits / neurons)",
            ylabel="best-epoch probe accuracy (%)",
            scale=100.0,
            references=references,
        )
        return [*out, link, ""]
