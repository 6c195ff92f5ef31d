"""Unknown or damaged model files are refused with ModelLoadError, never loaded."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from denoise import registry
from denoise.backends.onnx import model as onnx_model
from denoise.backends.onnx.files import extract_model
from denoise.backends.onnx.model import load_onnx_model
from denoise.base import ModelLoadError
from denoise.registry import ModelSpec


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FC25_MODEL_CACHE", str(tmp_path / "cache"))
    yield
    onnx_model.clear_cache()  # later tests reload from the normal cache


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"tmp/export/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _real_members() -> dict[str, bytes]:
    spec = registry.get_spec("dfn2")
    assert spec.path is not None
    with tarfile.open(spec.path(), "r:gz") as tar:
        out = {}
        for m in tar.getmembers():
            fh = tar.extractfile(m)
            if fh is not None:
                out[Path(m.name).name] = fh.read()
        return out


@pytest.mark.model
def test_flipped_byte_is_refused(tmp_path: Path) -> None:
    spec = registry.get_spec("dfn2")
    assert spec.path is not None and spec.sha256 is not None
    bad = tmp_path / "DeepFilterNet2_onnx.tar.gz"
    data = bytearray(spec.path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="corrupt or unknown"):
        load_onnx_model(str(bad), spec.sha256)
    # Through the registry too (the engine's hash check runs first).
    registry.register(ModelSpec("bad-onnx", "onnx", "test", 2400, lambda: bad, spec.sha256))
    try:
        with pytest.raises(ModelLoadError, match="SHA-256"):
            registry.create_denoiser("bad-onnx")
    finally:
        registry.MODELS.pop("bad-onnx", None)


def test_garbage_archive_with_matching_hash(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a tarball" * 100)
    with pytest.raises(ModelLoadError, match="cannot read model archive"):
        extract_model(junk, _sha(junk))


def test_archive_missing_members(tmp_path: Path) -> None:
    partial = _tarball(tmp_path / "p.tar.gz", {"config.ini": b"[train]\nmodel = x\n"})
    with pytest.raises(ModelLoadError, match="lacks"):
        extract_model(partial, _sha(partial))


@pytest.mark.model
def test_invalid_graph_is_refused(tmp_path: Path) -> None:
    members = _real_members()
    members["enc.onnx"] = b"\x08\x07garbage" * 50
    bad = _tarball(tmp_path / "badgraph.tar.gz", members)
    with pytest.raises(ModelLoadError, match=r"invalid ONNX graph enc\.onnx"):
        load_onnx_model(str(bad), _sha(bad))


@pytest.mark.model
def test_unsupported_model_type_is_refused(tmp_path: Path) -> None:
    members = _real_members()
    members["config.ini"] = members["config.ini"].replace(b"deepfilternet2", b"deepfilternet9")
    bad = _tarball(tmp_path / "badcfg.tar.gz", members)
    with pytest.raises(ModelLoadError, match="unsupported model type"):
        load_onnx_model(str(bad), _sha(bad))


@pytest.mark.model
def test_damaged_cache_is_reextracted(tmp_path: Path) -> None:
    spec = registry.get_spec("dfn2")
    assert spec.path is not None and spec.sha256 is not None
    directory = extract_model(spec.path(), spec.sha256)
    (directory / "enc.onnx").write_bytes(b"tampered")
    again = extract_model(spec.path(), spec.sha256)
    assert again == directory
    assert (directory / "enc.onnx").read_bytes()[:2] != b"ta"


def test_missing_package_file_is_reported() -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_onnx_model("DeepFilterNet9_onnx.tar.gz", "0" * 64)
