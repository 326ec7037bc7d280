"""The plug-in template and pipeline self-check: classical classifiers on the 2D Gaussian mixture.

Not a paper. It exercises every shared piece (data, config, checkpointed training, MLflow, DVC,
report) in seconds, and shows the shape a paper subpackage takes: ``config`` (schema),
``models``, ``experiment`` and ``report``.
"""
