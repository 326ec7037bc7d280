"""qssl's claims and the paper's reference numbers, as data.

Paper numbers: Jaderberg et al., arXiv 2103.14653, Table 1 (CIFAR-10, first 5 classes, W = 8,
6 seeds, best-epoch linear-probe accuracy, mean ± std over seeds); the width ablation is Fig. 4.
Our runs use MNIST digits 0-4 by default, so absolute accuracies are not comparable; the claims
are about the quantum - classical gap, whose size is compared with the paper's gap and its
interval (on the paper's dataset: the comparison says whether our gap is of the paper's size, not
that it must be).

The primary claim is the paper's: the exact quantum ring against the paper's classical network.
The others (100 shots, against the strongest control, under noise) are secondary; with seven
verdict lines at 95% each (the noise claims once per probe), no correction for multiplicity is
applied, so read a single marginal one with that in mind.

Every verdict reads the converged probe on the representation-network output (standardised
features, logistic regression to convergence, its regularisation chosen on a validation split);
the paper's probe (best / final Adam epoch) is reported beside it.
"""

from qmlrepro.report.claims import Equivalence, PairedDifference, Threshold

# Table 1, linear-probe accuracy (%), mean ± std over 6 seeds.
PAPER_ACCURACY = {
    "classical": (43.49, 1.31),
    "quantum-ring": (46.51, 1.37),
    "quantum-ring-shots": (46.34, 2.07),
    "quantum-all-to-all": (42.78, 2.17),
}
# Fig. 4, width ablation at ~97 batches (best-epoch probe accuracy, %).
PAPER_ABLATION = {
    "quantum-ring": dict(zip(range(2, 9), (32.9, 31.9, 37.8, 41.3, 40.0, 41.6, 43.9), strict=True)),
    "classical": {2: 26.1, 4: 33.7, 8: 40.0},
}
# A third-party page quotes 47.0% for the quantum model on the ibmq_paris device (unverified);
# shown in the noise table only, not used as a reference value in a claim.
PAPER_DEVICE_ACCURACY_QUOTE = 47.0

DIFFERENCE_BOUNDS = (-100.0, 100.0)  # a difference of two accuracies in percent


def _gap(model: str) -> float:
    """The paper's mean quantum - classical gap in points (Table 1)."""
    return round(PAPER_ACCURACY[model][0] - PAPER_ACCURACY["classical"][0], 2)


PAPER_GAP = {  # +3.02 and +2.85 points
    "quantum-ring": _gap("quantum-ring"),
    "quantum-ring-shots": _gap("quantum-ring-shots"),
}


def _gap_halfwidth(model: str, seeds: int = 6, confidence: float = 0.95) -> float:
    """Half-width of the Welch interval of the paper's gap from its Table 1 (mean ± std of each
    group over ``seeds`` seeds): t_{(1+c)/2, df} * sqrt(s1^2/n + s2^2/n), df by
    Welch-Satterthwaite. +-1.72 points (exact ring) and +-2.29 (100 shots): a gap of ours agrees
    in size when its estimate lies this close to the paper's."""
    from scipy import stats

    v1 = PAPER_ACCURACY[model][1] ** 2 / seeds
    v2 = PAPER_ACCURACY["classical"][1] ** 2 / seeds
    df = (v1 + v2) ** 2 / (v1**2 / (seeds - 1) + v2**2 / (seeds - 1))
    return round(float(stats.t.ppf((1 + confidence) / 2, df) * (v1 + v2) ** 0.5), 2)


PAPER_GAP_SPREAD = {model: _gap_halfwidth(model) for model in PAPER_GAP}

QUANTUM_EXACT_BEATS_CLASSICAL = PairedDifference(
    statement="quantum ring (exact) beats the tuned classical network in linear-probe accuracy",
    direction="greater",
    paired=True,  # a seed fixes the trunk, head and data order of every model
    paper_value=PAPER_GAP["quantum-ring"],
    paper_spread=PAPER_GAP_SPREAD["quantum-ring"],
    bounds=DIFFERENCE_BOUNDS,
    unit=" points",
)

QUANTUM_SHOTS_BEATS_CLASSICAL = PairedDifference(
    statement="quantum ring (100 shots) beats the tuned classical network in linear-probe accuracy",
    direction="greater",
    paired=True,
    paper_value=PAPER_GAP["quantum-ring-shots"],
    paper_spread=PAPER_GAP_SPREAD["quantum-ring-shots"],
    bounds=DIFFERENCE_BOUNDS,
    unit=" points",
)

# Not the paper's claim but its premise: the gain comes from the quantum layer, not from what a
# classical network of that place loses. The control is the classical-family network (LeakyReLU,
# tanh, cos or identity) of the best mean VALIDATION accuracy, never chosen on the test set.
QUANTUM_BEATS_BEST_CONTROL = PairedDifference(
    statement="premise (ours, not the paper's): the quantum ring beats the strongest classical "
    "control",
    direction="greater",
    paired=True,
    bounds=DIFFERENCE_BOUNDS,
    unit=" points",
)

# "As accurately as", judged two ways on the same test images: noisy vs exact inference of the
# same trained quantum model (equivalence within the margin), and noisy quantum vs the strongest
# classical control (non-inferiority: above -margin; a noisy model far MORE accurate than the
# control still classifies at least as accurately, which a two-sided margin would fail). The
# margin is the paper's own seed-to-seed spread (std 1.3-2.2 points), fixed before any result.
NOISE_MARGIN = 3.0
NOISY_MATCHES_EXACT = Equivalence(
    statement="quantum ring under ibmq_paris noise classifies as accurately as its exact inference",
    margin=NOISE_MARGIN,
    paired=True,
    bounds=DIFFERENCE_BOUNDS,
    unit=" points",
)
NOISY_AS_ACCURATE_AS_CLASSICAL = Threshold(
    statement="quantum ring under ibmq_paris noise is at least as accurate as the best classical "
    "control",
    threshold=-NOISE_MARGIN,
    direction="above",
    bounds=DIFFERENCE_BOUNDS,
    unit=" points",
)

CLAIMS = (
    QUANTUM_EXACT_BEATS_CLASSICAL,
    QUANTUM_SHOTS_BEATS_CLASSICAL,
    QUANTUM_BEATS_BEST_CONTROL,
    NOISY_MATCHES_EXACT,
    NOISY_AS_ACCURATE_AS_CLASSICAL,
)

SUMMARY = {  # headline records per job for DVC (results/summary/<job>.json), with their range
    "probe_best_accuracy": (0.0, 1.0),
    "probe_final_accuracy": (0.0, 1.0),
    "converged_test_accuracy": (0.0, 1.0),
    "test_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
}
