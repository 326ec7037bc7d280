"""Quantum hypernetworks for binary neural networks (Carrasquilla et al., arXiv 2301.08292).

A circuit over N qubits, one per bit of a BNN's weights, hyperparameters and architecture, is
trained to minimise E(theta) = sum_x p_theta(x) C(x) over the exhaustively enumerated cost vector
C. ``bnn`` defines the tasks (bit layouts, direct forward pass), ``costs`` enumerates C over all
2^N bit strings, ``circuit`` builds the hypernetwork circuit, ``search`` optimises it (L-BFGS,
multi-start), ``baselines`` searches the same bit strings classically, ``metrics`` scores a
distribution over bit strings, ``experiment`` and ``report`` plug the paper into the pipeline.
"""
