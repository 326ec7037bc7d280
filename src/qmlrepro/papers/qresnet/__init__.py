"""Fully coherent quantum ResNet inference (Rattew et al., arXiv 2510.07195): a numerical
verification. ``primitives`` holds the gate-level block-encodings (shifts, convolution, diagonal
amplitude encoding, LCU sums), ``qsvt`` the erf activation's polynomial, phases and circuit,
``block`` one residual block at gate level.
"""
