"""Hybrid Quantum Vision Transformer (Zhang, Zhao, Zhou, Feng, arXiv 2504.02730), reconstructed.

The paper's circuit was not accessible; ``circuit`` holds our reconstruction from its description
(the image amplitude-encoded twice, U_Q / U_K on the feature qubits, an ancilla SWAP test, token
indices measured). ``tokens`` cuts images into contiguous patches, ``attention`` turns the circuit
(or a classical rule) into attention coefficients, ``models`` holds the classifier and baselines,
``experiment`` the train/evaluate logic, ``resources`` qubit and gate counts, ``report`` the
section.
"""
