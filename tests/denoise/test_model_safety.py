"""Unknown, tampered or runtime-crashing model files are refused; this process survives."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from denoise import ModelLoadError, UnknownModelError, check_model, create_denoiser, loading
from denoise.registry import DEFAULT_MODEL, MODELS, ModelSpec, available_models, register
from denoise.sources import file_sha256

pytestmark = pytest.mark.model
DFN3_SHA = MODELS["dfn3"].sha256


def _register(temp_models: list[str], name: str, path: Path, sha: str | None) -> None:
    register(ModelSpec(name, "native", "test", 1440, path=lambda: path, sha256=sha))
    temp_models.append(name)


def _bogus_model_tar(path: Path) -> Path:
    """A well-formed tar.gz that is not a DeepFilterNet model (runtime panics on it)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("m/config.ini", b"[deepfilternet]\n"), ("m/enc.onnx", b"\0" * 64)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(buf.getvalue()))
    return path


def test_default_model_loads() -> None:
    assert available_models()[0] == DEFAULT_MODEL == "dfn3-onnx"
    assert check_model(DEFAULT_MODEL) is check_model(DEFAULT_MODEL)  # loaded once, cached
    assert check_model("dfn3") is check_model("dfn3")


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="available: dfn3"):
        create_denoiser("no-such-model")


def test_wrong_hash_refused_before_runtime(tmp_path: Path, temp_models: list[str]) -> None:
    # A registered path whose content is not the registered file.
    f = tmp_path / "DeepFilterNet3_onnx.tar.gz"
    f.write_bytes(os.urandom(4096))
    _register(temp_models, "tampered", f, DFN3_SHA)
    with pytest.raises(ModelLoadError, match="SHA-256"):
        create_denoiser("tampered")


def test_missing_hash_refused(tmp_path: Path, temp_models: list[str]) -> None:
    f = tmp_path / "x.tar.gz"
    f.write_bytes(b"x")
    _register(temp_models, "unhashed", f, None)
    with pytest.raises(ModelLoadError, match="hash"):
        check_model("unhashed")


def test_missing_file_refused(tmp_path: Path, temp_models: list[str]) -> None:
    _register(temp_models, "gone", tmp_path / "nope.tar.gz", DFN3_SHA)
    with pytest.raises(ModelLoadError, match="not readable"):
        check_model("gone")


@pytest.mark.parametrize("kind", ["garbage", "bogus-tar"])
def test_panicking_file_refused_by_probe(
    kind: str, tmp_path: Path, temp_models: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "model.tar.gz"
    if kind == "garbage":
        f.write_bytes(os.urandom(10_000))
    else:
        _bogus_model_tar(f)
    # Registered with its own correct hash: only the child-process probe stands
    # between this file and a process-killing panic in df_create.
    _register(temp_models, kind, f, file_sha256(f))
    runs: list[object] = []
    real_run = subprocess.run

    def counting_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        runs.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(loading.subprocess, "run", counting_run)
    with pytest.raises(ModelLoadError, match=r"crashed the runtime.*SIGABRT"):
        create_denoiser(kind)
    # The verdict is cached: a second attempt fails without a second child.
    with pytest.raises(ModelLoadError):
        create_denoiser(kind)
    assert len(runs) == 1
    # ...and this process is alive and can still denoise.
    assert create_denoiser("dfn3").process([0.0] * 480).shape == (480,)
