"""Secrets come only from the environment: without ``SECRET_KEY`` the server refuses to
start, unless a local key is asked for (``FC25_LOCAL_SECRET=1``, ``make run``)."""

from __future__ import annotations

from pathlib import Path

from tests.ops import fresh_settings

PRINT_KEY = "import fc25_denoise.settings as s; print(s.SECRET_KEY)"


def test_no_secret_key_stops_the_start(tmp_path: Path):
    result = fresh_settings.load_settings(
        unset=("SECRET_KEY", "DEBUG"), FC25_LOCAL_SECRET="0", FC25_DATA_DIR=str(tmp_path)
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "secret_key").exists()  # no key was made up


def test_the_environments_key_is_used(tmp_path: Path):
    result = fresh_settings.load_settings(
        code=PRINT_KEY, FC25_LOCAL_SECRET="0", SECRET_KEY="k" * 50, FC25_DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "k" * 50


def test_a_local_key_is_made_once_and_kept(tmp_path: Path):
    runs = [
        fresh_settings.load_settings(
            code=PRINT_KEY, unset=("SECRET_KEY",), FC25_DATA_DIR=str(tmp_path)
        )
        for _ in range(2)
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout.strip()) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by its owner only
