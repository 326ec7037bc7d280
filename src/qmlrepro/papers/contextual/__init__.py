"""Polynomial memory separations from contextuality (Anschuetz & Gao, arXiv 2402.08606): an
empirical test in the spirit of the paper on our hypergraph-state measurement task
(``qmlrepro.data.sequence``). ``circuit`` is the k-HRNN's Qiskit definition, ``models`` the
quantum and classical sequence models, ``experiment`` the size sweep, ``report`` the section.
"""
