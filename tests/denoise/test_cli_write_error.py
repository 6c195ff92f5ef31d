"""A failing write (disk full) is one ``error:`` line and exit status 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from denoise.cli import main

FULL = Path("/dev/full")  # every write fails with ENOSPC


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
def test_write_error_is_reported_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, dst = tmp_path / "in.wav", tmp_path / "out.flac"
    sf.write(src, np.full((5 * 48_000, 1), 0.1, np.float32), 48_000)
    dst.symlink_to(FULL)  # the FLAC encoder opens it fine, then cannot write
    assert main([str(src), str(dst), "-q", "--model", "identity"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write {dst}"), lines
    assert not dst.is_symlink()  # the half-written output is removed
