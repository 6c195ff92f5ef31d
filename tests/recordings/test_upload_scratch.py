"""Big uploads are written to the process's scratch folder, which a sweep removes once
the process is gone: an import killed mid-upload leaves nothing behind for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from recordings import services
from recordings.recovery import recover_spool
from recordings.storage import spool_tmp_dir
from tests.servers import ROOT

from .conftest import encoded, post_file, wait_job
from .conftest import signal as tone

pytestmark = pytest.mark.django_db(transaction=True)

CHILD = """
import django
django.setup()
from django.core.files.uploadhandler import load_handler
handler = load_handler("recordings.uploads.ScratchUploadHandler", None)
handler.new_file("file", "take.wav", "audio/wav", 10_000_000)
handler.receive_data_chunk(b"RIFF" + b"\\0" * 65536, 0)
handler.file.flush()
print(handler.file.temporary_file_path(), flush=True)
import time
time.sleep(60)
"""


def test_a_big_upload_is_held_in_the_scratch_folder(alice, as_alice, settings, monkeypatch):
    settings.DENOISE_MODEL = "identity"
    seen: list[Path] = []
    real = services.do_import

    def spy(user, upload, *args, **kwargs):
        seen.append(Path(upload.temporary_file_path()))
        assert seen[-1].exists()
        return real(user, upload, *args, **kwargs)

    monkeypatch.setattr(services, "do_import", spy)
    audio = encoded(tone(30.0), "WAV", 48_000)  # 2.9 MB at 16 bits: over the memory limit
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = len(audio) // 2
    resp = post_file(as_alice, audio, "Long take.wav")
    assert resp.status_code == 202, resp.content
    wait_job(resp.json()["recording"]["job"]["id"])
    assert seen and seen[0].parent == spool_tmp_dir()
    assert not seen[0].exists()  # closed with the request


def test_an_upload_cut_by_a_kill_is_swept(settings, tmp_path):
    settings.SPOOL_DIR = tmp_path / "spool"
    env = {**os.environ, "FC25_DATA_DIR": str(tmp_path), "FC25_LOCAL_SECRET": "1"}
    env["DJANGO_SETTINGS_MODULE"] = "fc25_denoise.settings"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    try:
        part = Path(child.stdout.readline().strip())
        assert part.parent.parent == settings.SPOOL_DIR / "tmp"
        assert part.stat().st_size > 65536
        assert recover_spool(set) == 0 and part.exists()  # its process lives
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    recover_spool(set)
    assert not part.exists() and not part.parent.exists()
