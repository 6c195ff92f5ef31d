"""Temporary files of a killed process are swept; a living process's never are.

Each process converts in its own ``SPOOL_DIR/tmp/<pid>-<random>`` folder and holds
its owner lock while it lives; the spool recovery (at start and in every sweep)
removes the folders whose owner is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recordings import storage
from recordings.recovery import recover_spool
from recordings.storage import spool_tmp_dir, sweep_scratch
from tests.servers import ROOT

pytestmark = pytest.mark.django_db

CHILD = """
import django
django.setup()
from recordings.storage import spool_tmp_dir
folder = spool_tmp_dir()
(folder / "raw.flac").write_bytes(b"half an import")
print(folder, flush=True)
import time
time.sleep(60)
"""


def _scratch_of_a_process(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "FC25_DATA_DIR": str(data_dir), "FC25_LOCAL_SECRET": "1"}
    env["DJANGO_SETTINGS_MODULE"] = "fc25_denoise.settings"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    return child, Path(child.stdout.readline().strip())


def test_a_killed_process_leaves_nothing_after_the_sweep(settings, tmp_path):
    settings.SPOOL_DIR = tmp_path / "spool"
    child, folder = _scratch_of_a_process(tmp_path)
    try:
        assert folder.parent == settings.SPOOL_DIR / "tmp"
        assert (folder / "raw.flac").exists()
        assert sweep_scratch() == 0  # its process lives
        assert (folder / "raw.flac").exists()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert recover_spool(set) == 0  # at start and in every sweep
    assert not folder.exists()


def test_this_process_keeps_its_own_folder(settings, tmp_path):
    settings.SPOOL_DIR = tmp_path / "spool"
    mine = spool_tmp_dir()
    (mine / "cleaned.flac").write_bytes(b"in use")
    assert sweep_scratch() == 0
    assert (mine / "cleaned.flac").exists()
    assert spool_tmp_dir() == mine  # one folder per process


def test_folders_of_older_code_go_once_a_day_old(settings, tmp_path):
    settings.SPOOL_DIR = tmp_path / "spool"
    root = settings.SPOOL_DIR / "tmp"
    old, fresh = root / "tmpold", root / "tmpfresh"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "raw.flac").write_bytes(b"x")
    day_ago = time.time() - storage.LEGACY_SCRATCH_AGE_S - 60
    os.utime(old, (day_ago, day_ago))
    assert sweep_scratch() == 1
    assert not old.exists() and fresh.exists()


def test_a_folder_being_created_is_left_alone(settings, tmp_path):
    settings.SPOOL_DIR = tmp_path / "spool"
    creating = settings.SPOOL_DIR / "tmp" / f"{storage.NEW_PREFIX}abc"
    creating.mkdir(parents=True)
    (creating / storage.OWNER_LOCK).write_bytes(b"")  # opened, not locked yet
    assert sweep_scratch() == 0
    assert creating.exists()
    day_ago = time.time() - storage.LEGACY_SCRATCH_AGE_S - 60
    os.utime(creating, (day_ago, day_ago))  # a creation that died half-way, long ago
    assert sweep_scratch() == 1
