"""The pipeline self-check's claim as data (not a paper: no reference numbers)."""

from qmlrepro.report.claims import PairedDifference

MLP_BEATS_LOGISTIC = PairedDifference(
    statement="MLP beats logistic regression in test accuracy (2D Gaussian mixture)",
    direction="greater",
    paired=True,  # same seed: same data split and initialisation stream
    bounds=(-100.0, 100.0),  # a difference of percentages
    unit=" pp",
    digits=2,
)
"""Per seed: MLP minus logistic-regression test accuracy (percentage points), paired by seed."""

SUMMARY = {"test_accuracy": (0.0, 1.0)}  # headline records for DVC, with their range
