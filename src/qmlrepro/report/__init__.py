"""The reproduction report: statistics over seeds, per-paper sections, Markdown and plots."""
