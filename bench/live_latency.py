"""Live path mouth-to-ear latency in Chromium, through the real server.

Usage: FC25_LOCAL_SECRET=1 python bench/live_latency.py [--seconds 20] [--url http://host:port]

Alice's fake microphone plays a burst train (a 60 ms voiced-speech-like
harmonic burst every second over silence); she goes live with the default
model and settings, Bob listens on her page. Both pages read their track with
MediaStreamTrackProcessor: Alice her local mic track ("mouth"), Bob the
received track ("ear", the samples handed to his <audio> element). Every
chunk is stamped with performance.timeOrigin + performance.now() on arrival:
the two pages live in different renderer processes, but that wall clock is
shared (checked below against AudioData.timestamp). A burst's onset time is
the arrival time of its chunk minus the samples after the onset. Prints the
median and p95 delay between matching onsets, in ms. Without --url, a Uvicorn
server with a throwaway data folder is started (like the browser tests).

``--stages`` (with the bench's own server) also says where the time goes: the
server is started with ``bench/stage_trace`` on ``PYTHONPATH``, which stamps every
frame at each server stage (see its docstring), and both pages' WebRTC stats are
read at the end (Chromium's receive jitter buffer and playout delay on Bob's side,
the pacer's send delay on Alice's).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.helpers import unique_name  # noqa: E402
from tests.browser.live_helpers import (  # noqa: E402
    go_live,
    launch_with_fake_mic,
    setup_pair,
    start_listening,
    write_wav,
)
from tests.servers import start_server  # noqa: E402

SR = 48_000
PERIOD_S = 1.0
BURST_S = 0.06
SUB = 48  # 1 ms envelope blocks

# Start collecting (non-blocking); the result lands in window.__fc25Bench.
COLLECT_JS = """([seconds, source]) => {
  const stream = source === "mic" ? window.__fc25MicStream : window.__fc25ListenStream;
  const track = stream.getAudioTracks()[0];
  const reader = new MediaStreamTrackProcessor({ track }).readable.getReader();
  const SUB = __SUB__;
  const chunks = [];
  window.__fc25Bench = null;
  (async () => {
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const { value, done } = await reader.read();
      if (done) break;
      const wall = performance.timeOrigin + performance.now();
      const n = value.numberOfFrames;
      const buf = new Float32Array(n);
      value.copyTo(buf, { planeIndex: 0, format: "f32-planar" });
      const env = [];
      for (let i = 0; i < n; i += SUB) {
        let m = 0;
        for (let j = i; j < Math.min(n, i + SUB); j++) m = Math.max(m, Math.abs(buf[j]));
        env.push(m);
      }
      chunks.push([wall, value.timestamp / 1000, performance.now(), n, value.sampleRate, env]);
      value.close();
    }
    reader.cancel().catch(() => {});
    window.__fc25Bench = chunks;
  })();
}""".replace("__SUB__", str(SUB))


# Every RTCPeerConnection a page makes, for getStats (installed before the page loads).
PC_HOOK_JS = """(() => {
  const Native = window.RTCPeerConnection;
  window.__fc25Pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__fc25Pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""

# Averages from the newest connection's stats: ms per emitted sample / packet.
RTP_STATS_JS = """async () => {
  const pc = window.__fc25Pcs[window.__fc25Pcs.length - 1];
  const out = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      const n = r.jitterBufferEmittedCount || 1;
      out.jitter_buffer_ms = 1000 * r.jitterBufferDelay / n;
      out.jitter_target_ms = 1000 * r.jitterBufferTargetDelay / n;
      out.jitter_minimum_ms = 1000 * (r.jitterBufferMinimumDelay || 0) / n;
      out.received_packets = r.packetsReceived;
      out.received_samples = r.totalSamplesReceived;
    }
    if (r.type === "media-playout") {
      out.playout_ms = 1000 * r.totalPlayoutDelay / (r.totalSamplesCount || 1);
    }
    if (r.type === "outbound-rtp" && r.kind === "audio") {
      out.sent_packets = r.packetsSent;
      out.pacer_ms = 1000 * (r.totalPacketSendDelay || 0) / (r.packetsSent || 1);
    }
  });
  return out;
}"""

SERVER_STAGES = (
    ("arrive", "release", "aiortc jitter buffer (packet held until released)"),
    ("release", "decoded", "Opus decode (decoder thread, back to the loop)"),
    ("decoded", "denoised", "denoise (batch wait + model run, both hops)"),
    ("denoised", "encoded", "Opus encode (encode thread)"),
    ("encoded", "sent", "to the listener's RTP sender"),
)


def server_stages(path: Path) -> list[tuple[str, float, float, int]]:
    """Per server stage: (name, median ms, p95 ms, frames) from a stage-trace file."""
    stamps = {s: {int(k): v for k, v in d.items()} for s, d in json.loads(path.read_text()).items()}
    rows = []
    for start, end, name in SERVER_STAGES:
        keys = sorted(stamps[start].keys() & stamps[end].keys())
        if not keys:
            continue
        d = 1000 * np.asarray([stamps[end][k] - stamps[start][k] for k in keys])
        rows.append((name, float(np.median(d)), float(np.percentile(d, 95)), len(keys)))
    return rows


def burst_train(seconds: float) -> np.ndarray:
    t = np.arange(int(BURST_S * SR)) / SR
    burst = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 25))
    burst = 0.5 * burst / np.abs(burst).max() * np.hanning(len(t))
    out = np.zeros(int(seconds * SR), np.float32)
    for start in range(int(0.5 * SR), len(out) - len(t), int(PERIOD_S * SR)):
        out[start : start + len(t)] = burst
    return out


def onsets(chunks: list) -> tuple[np.ndarray, float]:
    """Onset times (wall ms) of bursts, and the median (timestamp - performance.now()) offset."""
    times, env, offsets = [], [], []
    for wall, ts_ms, now, n, rate, e in chunks:
        offsets.append(ts_ms - now)
        for j, m in enumerate(e):
            times.append(wall - (n - (j + 1) * SUB) / rate * 1000)
            env.append(m)
    times_a, env_a = np.asarray(times), np.asarray(env)
    threshold = 0.2 * env_a.max()
    found, last = [], -1e18
    for t, m in zip(times_a, env_a, strict=True):
        if m > threshold and t - last > 0.5 * PERIOD_S * 1000:
            found.append(t)
        if m > threshold:
            last = t
    return np.asarray(found), float(np.median(offsets))


def serve(trace: Path | None = None) -> tuple[subprocess.Popen, str, Path]:
    """Start a server on a throwaway data folder; with ``trace``, stamping its stages there."""
    data_dir = Path(tempfile.mkdtemp(prefix="fc25_bench_"))
    env = dict(os.environ, FC25_DATA_DIR=str(data_dir), FC25_LOCAL_SECRET="1")
    if trace is not None:
        hook = str(ROOT / "bench" / "stage_trace")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [hook, str(ROOT), env.get("PYTHONPATH")]))
        env["FC25_STAGE_TRACE"] = str(trace)
    env["DJANGO_SETTINGS_MODULE"] = "fc25_denoise.settings"
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    proc, host = start_server(env, data_dir / "server.log")
    url = f"http://{host}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/api/auth/csrf/", timeout=2).close()
            return proc, url, data_dir
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def measure(url: str, seconds: float, stages: Path | None = None) -> None:
    from playwright.sync_api import sync_playwright

    wav_dir = Path(tempfile.mkdtemp(prefix="fc25_bursts_"))
    wav = write_wav(wav_dir / "bursts.wav", burst_train(60), SR)
    with sync_playwright() as pw:
        chromium = launch_with_fake_mic(pw.chromium, wav)
        try:
            alice_name = unique_name("alice")
            ctxs, alice, bob = setup_pair(chromium, url, alice_name, unique_name("bob"))
            if stages is not None:
                for ctx in ctxs:
                    ctx.add_init_script(PC_HOOK_JS)
                alice.reload()
            go_live(alice)
            start_listening(bob, url, alice_name)
            bob.wait_for_timeout(2000)  # let the jitter buffer settle
            for page, source in ((alice, "mic"), (bob, "listen")):
                page.evaluate(COLLECT_JS, [seconds, source])
            opts = {"timeout": (seconds + 30) * 1000}
            mic = alice.wait_for_function("() => window.__fc25Bench", **opts).json_value()
            ear = bob.wait_for_function("() => window.__fc25Bench", **opts).json_value()
            if stages is not None:
                rtp = {"alice": alice.evaluate(RTP_STATS_JS), "bob": bob.evaluate(RTP_STATS_JS)}
            alice.locator('[data-testid="stop-live"]').click()
        finally:
            chromium.close()
    shutil.rmtree(wav_dir, ignore_errors=True)
    mouth, mic_off = onsets(mic)
    ear_t, ear_off = onsets(ear)
    print(f"clock check: AudioData.timestamp - performance.now(): mic {mic_off:.1f} ms, "
          f"received {ear_off:.1f} ms (wall clock = timeOrigin + now() is used)")  # fmt: skip
    delays = []
    for t in mouth:
        later = ear_t[(ear_t > t) & (ear_t < t + 0.9 * PERIOD_S * 1000)]
        if len(later):
            delays.append(later[0] - t)
    if not delays:
        raise SystemExit(f"no bursts matched (mic {len(mouth)}, received {len(ear_t)})")
    d = np.asarray(delays)
    print(f"bursts: mic {len(mouth)}, received {len(ear_t)}, matched {len(d)}")
    print(f"mouth-to-ear delay: median {np.median(d):.0f} ms, p95 {np.percentile(d, 95):.0f} ms, "
          f"min {d.min():.0f} ms, max {d.max():.0f} ms")  # fmt: skip
    if stages is not None:
        for who, r in rtp.items():
            print(f"{who} WebRTC stats:", {n: round(v, 1) for n, v in r.items()})
        bob_rtp = rtp["bob"]
        if bob_rtp.get("received_packets"):
            per = bob_rtp["received_samples"] / bob_rtp["received_packets"] / SR * 1000
            print(f"listener leg: {per:.1f} ms of audio per packet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also time each server stage and read both pages' WebRTC stats (own server only)",
    )
    args = parser.parse_args()
    if args.url:
        measure(args.url.rstrip("/"), args.seconds)
        return
    trace = Path(tempfile.mkdtemp(prefix="fc25_stages_")) / "stages.json"
    proc, url, data_dir = serve(trace if args.stages else None)
    try:
        measure(url, args.seconds, trace if args.stages else None)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)
    if args.stages:
        stamps = json.loads(trace.read_text())
        arrive = sorted(int(k) for k in stamps["arrive"])
        print(f"broadcaster leg: {np.median(np.diff(arrive)) / SR * 1000:.1f} ms per packet")
        for stage in ("arrive", "sent"):
            # Each packet's lateness against the stream's clock: what a jitter buffer sees.
            late = [t - int(k) / SR for k, t in stamps[stage].items()]
            spread = 1000 * (np.percentile(late, [50, 95]) - np.min(late))
            print(f"  {stage} jitter: median {spread[0]:.1f} ms, p95 {spread[1]:.1f} ms "
                  f"later than the earliest packet")  # fmt: skip
        for name, median, p95, n in server_stages(trace):
            print(f"  server: {name}: median {median:.2f} ms, p95 {p95:.2f} ms ({n} frames)")
        shutil.rmtree(trace.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
