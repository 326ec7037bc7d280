"""Experiment tracking (MLflow): one experiment per paper, one run per (model, seed)."""
