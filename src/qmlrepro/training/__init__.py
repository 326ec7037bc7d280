"""Shared training machinery: seeding, devices, checkpointed loops."""
