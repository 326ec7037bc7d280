"""Hydra configuration: structured schemas, composition and validation with one-line errors."""
