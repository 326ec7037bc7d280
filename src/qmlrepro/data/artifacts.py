"""Prepared-dataset files with an integrity manifest.

Every prepare stage writes tensors with :func:`save_tensors` and a ``manifest.json`` holding their
SHA-256, shapes and provenance; loaders read back through :func:`load_tensors`, which refuses a file
whose hash no longer matches (a truncated copy, a hand edit, a stale cache).
"""

import errno
import hashlib
import io
import json
import os
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from qmlrepro.errors import DataError, OutputError, output_error

MANIFEST = "manifest.json"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def make_dir(path: Path) -> Path:
    """``mkdir -p``; a folder that cannot be created is one :class:`OutputError` line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno == errno.ENOENT:  # /proc, a vanished mount: nothing can be created there
            raise OutputError(
                f"cannot create {path}: no folder can be created there ({exc.strerror}); choose "
                "another path"
            ) from exc
        mapped = output_error(exc, path, "create")
        if mapped is not None:
            raise mapped from exc
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file, flushed to disk, and rename, so neither an interrupted write
    nor a machine going down leaves half (or an empty) file; a full disk, a read-only or
    unwritable folder becomes one :class:`OutputError` line."""
    tmp: str | None = None
    try:
        make_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        mapped = output_error(exc, path) if isinstance(exc, OSError) else None
        if mapped is not None:
            raise mapped from exc
        raise


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through :func:`atomic_write_bytes` (torch reports a failed write to a path as
    a bare RuntimeError; serialising in memory first keeps the OS error and its errno)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(path, text.encode())


def save_tensors(
    out_dir: Path, name: str, tensors: Mapping[str, torch.Tensor], info: Mapping[str, Any]
) -> dict[str, Any]:
    """Save one named bundle of tensors; return its manifest entry."""
    path = out_dir / f"{name}.pt"
    atomic_torch_save({k: v.contiguous() for k, v in tensors.items()}, path)
    return {
        "file": path.name,
        "sha256": sha256_file(path),
        "shapes": {k: list(v.shape) for k, v in tensors.items()},
        "dtypes": {k: str(v.dtype).removeprefix("torch.") for k, v in tensors.items()},
        **info,
    }


def write_manifest(
    out_dir: Path, entries: Mapping[str, Any], provenance: Mapping[str, Any]
) -> None:
    write_json(out_dir / MANIFEST, {"bundles": dict(entries), "provenance": dict(provenance)})


def read_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST
    if not path.is_file():
        raise DataError(
            f"no prepared data at {out_dir} (missing {MANIFEST}); run its prepare stage first, "
            "e.g. `dvc repro` or `make smoke`"
        )
    manifest = read_json(path, fix="rerun its prepare stage")
    check_manifest(path, manifest)
    return manifest


def read_json(
    path: Path, fields: Mapping[str, type] | None = None, fix: str = "rerun the stage that wrote it"
) -> dict[str, Any]:
    """A JSON object this pipeline wrote, with ``fields`` (name -> type) present; anything else
    (half a file, a hand edit, another tool's file) is one :class:`DataError` line with ``fix``."""
    try:
        payload = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc}); {fix}") from exc
    if not isinstance(payload, dict):
        raise DataError(f"{path} holds a JSON {type(payload).__name__}, not an object; {fix}")
    for name, kind in (fields or {}).items():
        if not isinstance(payload.get(name), kind):
            raise DataError(f"{path} has no '{name}' ({kind.__name__}); {fix}")
    return payload


def check_manifest(path: Path, manifest: Any) -> None:
    """The shape :func:`write_manifest` writes: each bundle a plain file name beside the manifest
    (never a path out of its folder) with a SHA-256."""
    bundles = manifest.get("bundles") if isinstance(manifest, dict) else None
    if not isinstance(bundles, dict):
        raise DataError(
            f"{path} has no 'bundles' table (not a prepared-data manifest); rerun its prepare stage"
        )
    for name, entry in bundles.items():
        file = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file, str) or Path(file).name != file or file in ("", ".", ".."):
            raise DataError(
                f"{path}: bundle '{name}' names no file beside the manifest ({file!r}); rerun its "
                "prepare stage"
            )
        if not isinstance(entry.get("sha256"), str):
            raise DataError(f"{path}: bundle '{name}' has no sha256; rerun its prepare stage")


def load_tensors(out_dir: Path, name: str, verify: bool = True) -> dict[str, torch.Tensor]:
    """Load a bundle written by :func:`save_tensors`, checking its hash against the manifest."""
    manifest = read_manifest(out_dir)
    entry = manifest["bundles"].get(name)
    if entry is None:
        known = ", ".join(sorted(manifest["bundles"])) or "none"
        raise DataError(f"{out_dir} has no bundle '{name}' (available: {known})")
    path = out_dir / entry["file"]
    if not path.is_file():
        raise DataError(f"{path} is listed in the manifest but missing; rerun its prepare stage")
    if verify and sha256_file(path) != entry["sha256"]:
        raise DataError(
            f"{path} fails its SHA-256 check (corrupt or modified); rerun its prepare stage"
        )
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(
            f"{path} is unreadable ({type(exc).__name__}); rerun its prepare stage"
        ) from exc
    if not isinstance(bundle, dict) or not all(
        isinstance(v, torch.Tensor) for v in bundle.values()
    ):
        raise DataError(f"{path} does not hold named tensors; rerun its prepare stage")
    return bundle
