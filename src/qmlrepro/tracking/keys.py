"""The one place a metric, param or tag name becomes a key MLflow accepts.

MLflow (3.17, ``mlflow/utils/validation.py``) takes keys of at most 250 characters made of ASCII
letters and digits, ``_ - . /``, spaces and colons, that ``posixpath.normpath`` leaves unchanged
(no empty, ``.`` or ``..`` path segment, no leading or trailing ``/``). Anything else fails the
whole batch: hypernet's ``d1/choice/alphabet/{0,1}`` stopped every mnist37 run after its first
depth. Keys are built from config values and task meanings we do not control, so
:func:`mlflow_key` rewrites what MLflow would refuse instead of failing.
"""

import hashlib
import re

MAX_KEY_LENGTH = 250  # mlflow.utils.validation.MAX_ENTITY_KEY_LENGTH
KEY_HASH_CHARS = 10  # 40 bits: no collision among the keys of one run
_REFUSED = re.compile(r"[^A-Za-z0-9_\-. :/]")


def mlflow_key(name: str) -> str:
    """``name`` unchanged when MLflow accepts it; otherwise a readable rewrite plus a hash.

    Refused characters become ``_``, empty / ``.`` / ``..`` path segments become ``_``, and a key
    that is still too long is cut; a changed key then ends in ``-`` and ``KEY_HASH_CHARS`` hex
    digits of the sha256 of the ORIGINAL name, so two names of one run that rewrite to the same
    text (``{0,1}`` and ``(0,1)``, or two long keys that differ past the cut) stay two keys.
    Accepted keys stay as they are: existing runs keep their metric names. Read a value back
    under the same function: ``client.get_metric_history(run_id, mlflow_key(name))``.
    """
    segments = _REFUSED.sub("_", name).split("/")
    cleaned = "/".join("_" if s in ("", ".", "..") else s for s in segments)
    if cleaned == name and len(name) <= MAX_KEY_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:KEY_HASH_CHARS]
    return f"{cleaned[: MAX_KEY_LENGTH - KEY_HASH_CHARS - 1]}-{digest}"
