"""qmlrepro: end-to-end, statistically honest reproductions of quantum machine learning papers."""

__version__ = "0.1.0"
