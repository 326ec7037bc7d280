"""Fail fast on an unreachable MLflow server.

MLflow's HTTP client retries a refused connection with exponential backoff (measured: 251 s of
silence for ``MLFLOW_TRACKING_URI=http://127.0.0.1:9`` before one error line), so a stage that
tracks probes a server URI once, with a short timeout, before any run opens.
"""

import urllib.error
import urllib.request
from urllib.parse import urlsplit, urlunsplit

from qmlrepro.errors import TrackingError
from qmlrepro.tracking.mlflow_run import tracking_uri

PROBE_TIMEOUT_S = 3.0


def without_credentials(uri: str, mask: str = "") -> str:
    """``uri`` without a user name or password (``mask`` in their place)."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=mask + parts.netloc.rpartition("@")[2]))


def require_reachable(configured: str | None, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise :class:`TrackingError` unless an http(s) tracking server answers within ``timeout``
    seconds (any HTTP status counts: an auth proxy answering 401 is reachable). Local stores
    (sqlite, file) are checked where the run opens."""
    uri = tracking_uri(configured)
    if urlsplit(uri).scheme not in ("http", "https"):
        return
    try:
        health = f"{without_credentials(uri).rstrip('/')}/health"  # any answer will do: no login
        urllib.request.urlopen(health, timeout=timeout).close()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        shown = without_credentials(uri, "***@")
        raise TrackingError(
            f"MLflow tracking server {shown} is unreachable ({reason}, probed for "
            f"{timeout:g} s); start it, or fix tracking.uri / MLFLOW_TRACKING_URI (unset both to "
            "log to sqlite:///mlflow.db)"
        ) from exc
