"""The running docker-compose stack, as the deploy tests see it: its .env, its nodes'
ports, compose commands, metrics and the S3 bucket (all on the loopback interface)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.servers import ROOT


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def compose_command() -> list[str]:
    """``$COMPOSE``, else ``docker compose`` (v2) when it works, else ``docker-compose``."""
    if os.environ.get("COMPOSE"):
        return shlex.split(os.environ["COMPOSE"])
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    return [shutil.which("docker-compose") or "docker-compose"]


@dataclass
class Stack:
    """The deployed site: ``base`` is its https URL (self-signed certificate)."""

    env: dict[str, str]

    @property
    def base(self) -> str:
        return self.env["FC25_PUBLIC_URL"]

    @property
    def node_ports(self) -> dict[str, str]:
        return {"app1": self.env["FC25_APP1_PORT"], "app2": self.env["FC25_APP2_PORT"]}

    def compose(self, *args: str, timeout: float = 120) -> str:
        """Run a compose command in the checkout (which holds .env); returns its output."""
        done = subprocess.run(
            [*compose_command(), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout

    def node_metric(self, node: str, name: str) -> float:
        """One unlabelled sample of a node's /metrics, read directly on its port."""
        url = f"http://127.0.0.1:{self.node_ports[node]}/metrics"
        with urllib.request.urlopen(url, timeout=5) as resp:
            text = resp.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and not sample.labels:
                    return sample.value
        raise AssertionError(f"{name} not in {url}")

    def live_streams(self) -> float:
        """``fc25_live_streams`` summed over the running nodes."""
        total = 0.0
        for node in self.node_ports:
            try:
                total += self.node_metric(node, "fc25_live_streams")
            except OSError:  # a stopped node
                continue
        return total

    def wait_healthy(self, node: str, timeout: float = 120) -> None:
        """Until the node's /readyz answers 200."""
        url = f"http://127.0.0.1:{self.node_ports[node]}/readyz"
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{node} not ready after {timeout} s")
            time.sleep(1)

    def bucket_keys(self) -> set[str]:
        """Every object key in the recordings bucket."""
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.env["FC25_S3_ENDPOINT_URL"],
            region_name=self.env.get("FC25_S3_REGION") or "us-east-1",
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )
        keys: set[str] = set()
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.env["FC25_S3_BUCKET"]
        ):
            keys.update(item["Key"] for item in page.get("Contents", []))
        return keys


# Every RTCPeerConnection a page makes, for getStats() (init script, before any page code).
TRACK_PEERS_JS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__peers.push({ pc, config: args[0] || {} });
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""

# The local and remote candidate types of each connected peer connection's selected pair.
SELECTED_PAIRS_JS = """async () => {
  const out = [];
  for (const { pc, config } of window.__peers) {
    if (pc.connectionState !== "connected") continue;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((r) => {
      if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (!pair) stats.forEach((r) => { if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r; });
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    out.push({
      policy: config.iceTransportPolicy || "all",
      turn: (config.iceServers || []).some((s) => [].concat(s.urls).some((u) => u.startsWith("turn:"))),
      local: local ? local.candidateType : null,
      remote: remote ? remote.candidateType : null,
    });
  }
  return out;
}"""
