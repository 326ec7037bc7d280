"""Errors a user can fix: each carries one line that names the problem and the fix.

Entry points catch :class:`QmlreproError` and print that line instead of a traceback, so a bad
override or a missing dataset never hides behind a stack trace (set ``QMLREPRO_DEBUG=1`` or
``HYDRA_FULL_ERROR=1`` for the traceback).
"""


class QmlreproError(Exception):
    """Base class for errors caused by input the user controls (config, data, credentials)."""


class ConfigError(QmlreproError):
    """A composed configuration is invalid (unknown option, wrong type, value out of range)."""


class DataError(QmlreproError):
    """A dataset is missing, incomplete or fails its integrity check."""


class TrackingError(QmlreproError):
    """The experiment tracker cannot be reached or written."""
