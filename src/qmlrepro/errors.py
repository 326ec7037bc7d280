"""Errors a user can fix: each carries one line that names the problem and the fix.

Entry points catch :class:`QmlreproError` and print that line instead of a traceback, so a bad
override or a missing dataset never hides behind a stack trace (set ``QMLREPRO_DEBUG=1`` or
``HYDRA_FULL_ERROR=1`` for the traceback).
"""

import errno


class QmlreproError(Exception):
    """Base class for errors caused by input the user controls (config, data, credentials)."""


class ConfigError(QmlreproError):
    """A composed configuration is invalid (unknown option, wrong type, value out of range)."""


class DataError(QmlreproError):
    """A dataset is missing, incomplete or fails its integrity check."""


class TrackingError(QmlreproError):
    """The experiment tracker cannot be reached or written."""


class OutputError(QmlreproError):
    """A result, checkpoint or metrics file cannot be written (full disk, read-only, no access)."""


# What the user can do about each storage failure; the path is named in front of it.
_ELSEWHERE = "or point results_dir (dataset.processed_dir for prepared data) elsewhere"
_STORAGE_FIXES = {
    errno.ENOSPC: f"no space left on its device; free some space {_ELSEWHERE}",
    errno.EDQUOT: f"disk quota exceeded; free some space {_ELSEWHERE}",
    errno.EROFS: f"its file system is read-only; remount it writable {_ELSEWHERE}",
    errno.EACCES: f"permission denied; fix the folder's permissions {_ELSEWHERE}",
    errno.EPERM: f"operation not permitted; fix the folder's permissions {_ELSEWHERE}",
    errno.ENAMETOOLONG: "the name is too long for the file system; use a shorter job name or path",
    errno.ENOTDIR: "a parent of it is a file, not a folder; move that file or choose another path",
    errno.EISDIR: "it is a folder; move the folder away or choose another path",
    errno.EEXIST: "a file of that name is in the way of a folder; move it or choose another path",
}


def output_error(exc: OSError, path: object = None, action: str = "write") -> OutputError | None:
    """One line for a storage failure on ``path`` (else ``exc.filename``), or None when ``exc``
    is not one the user fixes on the file system (a bug: keep its traceback)."""
    where = path if path is not None else exc.filename
    fix = _STORAGE_FIXES.get(exc.errno)
    if where is None or fix is None:
        return None
    return OutputError(f"cannot {action} {where}: {fix} (finished results are kept)")
