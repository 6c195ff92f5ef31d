"""What a backend needs to load a model, and the hash check every model file passes.

Backends import this module, never :mod:`denoise.loading` (which imports the
backends by name), so the loader and the backends do not depend on each other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .base import ModelLoadError


@dataclass(frozen=True)
class ModelSource:
    """Everything a backend kind needs to load one model (JSON-serialisable).

    ``options`` carries kind-specific settings (e.g. ``spare_states``).
    """

    kind: str
    path: str | None = None
    sha256: str | None = None
    latency_samples: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelSource:
        return cls(**json.loads(text))


_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of ``path``, cached by (path, size, mtime).

    Raises:
        OSError: the file cannot be read.
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _hash_cache.get(key)
    if digest is None:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = _hash_cache[key] = h.hexdigest()
    return digest


def verify_file(path: str | Path | None, sha256: str | None) -> Path:
    """Return ``path`` if it exists and has the expected hash.

    Raises:
        ModelLoadError: no path/hash registered, file missing, or hash mismatch.
    """
    if path is None or not sha256:
        raise ModelLoadError("model has no registered file and hash; refusing to load")
    p = Path(path)
    try:
        actual = file_sha256(p)
    except OSError as exc:
        raise ModelLoadError(f"model file {p} is not readable: {exc.strerror or exc}") from exc
    if actual != sha256.lower():
        raise ModelLoadError(
            f"model file {p} is corrupt or unknown: SHA-256 {actual[:16]}..., expected "
            f"{sha256[:16]}...; refusing to load it"
        )
    return p
