"""Datasets: one module per dataset, each with a ``prepare`` step (the DVC stage) and a loader."""
