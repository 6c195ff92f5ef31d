"""scripts/deploy-env.sh writes .env: fresh secrets each time, ports from the environment,
private file mode, and an existing file kept unless FC25_ENV_FORCE=1."""

import os
import stat
import subprocess
from pathlib import Path

from tests.deploy.stack import read_env
from tests.servers import ROOT

SCRIPT = ROOT / "scripts" / "deploy-env.sh"


def write(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FC25_")}
    return subprocess.run(
        ["bash", str(SCRIPT), str(path)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def test_fresh_secrets_and_ports_from_the_environment(tmp_path: Path) -> None:
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    write(
        first,
        FC25_HTTPS_PORT="18443",
        FC25_PG_PORT="25432",
        FC25_FORCE_RELAY="1",
        FC25_ADMIN_NETWORKS="10.8.0.0/16",
    )
    write(second)
    a, b = read_env(first), read_env(second)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert a["FC25_PUBLIC_URL"] == "https://localhost:18443"
    assert b["FC25_PUBLIC_URL"] == "https://localhost"
    assert a["DATABASE_URL"].endswith("@127.0.0.1:25432/fc25")
    assert a["FC25_FORCE_RELAY"] == "1" and "FC25_FORCE_RELAY" not in b
    assert a["FC25_ADMIN_NETWORKS"] == "10.8.0.0/16" and "FC25_ADMIN_NETWORKS" not in b
    for key in ("SECRET_KEY", "FC25_TURN_SECRET", "FC25_PG_PASSWORD", "FC25_METRICS_TOKEN"):
        assert len(a[key]) >= 32 and a[key] != b[key], key
    assert a["FC25_TURN_URLS"].startswith("turn:localhost:3478?transport=udp")


def test_existing_file_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    write(path)
    before = path.read_text()
    assert "kept" in write(path).stderr
    assert path.read_text() == before
    write(path, FC25_ENV_FORCE="1")
    assert path.read_text() != before
