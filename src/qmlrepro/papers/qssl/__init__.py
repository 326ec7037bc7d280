"""Quantum Self-Supervised Learning (Jaderberg et al., arXiv 2103.14653).

SimCLR with a ResNet-18 encoder whose last stage is a width-W "representation network": classical
(two Linear + LeakyReLU) or a W-qubit circuit (ring or all-to-all ansatz). ``models`` builds the
network, ``losses`` the NT-Xent loss, ``probe`` the frozen-encoder linear probe, ``experiment`` the
train/evaluate logic, ``report`` the report section.
"""
