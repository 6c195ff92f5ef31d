"""Results of ``bench/live_streams.py``: one measured point (:class:`Row`), how it is
summarised from the client workers' reports, and how it is printed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

LATE_LIMIT_PCT = 1.0
"""The target: under 1 % late frames."""


@dataclass
class Row:
    """One measured point of the sweep (CPU figures in % of one core over the window)."""

    procs: int
    streams: int
    model: str
    window_s: float
    code: str
    server_cpu: list[float]
    """Per server process."""
    client_cpu: float
    other_cpu: float
    """Every other process on the machine (other users' work)."""
    kernel_cpu: float
    """irq + softirq, charged to no process (loopback UDP of our streams, mostly)."""
    steal_cpu: float
    idle_cpu: float
    frames: int
    bypassed: int
    late: int
    worst_stream_pct: float
    server_rx_pct: float
    """Frames the server counted over 50 per second of each session."""
    listener_pct: float
    gaps: int
    max_gap_ms: float
    rec_ok: int
    rec_worst_s: float
    late_sends: int
    lag_growth_ms: float
    """Worst stream: listener delay at the window's end minus at its start."""
    errors: list[str]
    load_end: float
    ramp_s: float
    mean_batch: float = 0.0
    """Mean streams per inference batch over the window (0: no batched model)."""
    batch_on_core: float = 0.0
    """The inference threads' CPU time over their batches' wall time, in % (0: not measured).
    Low: batches spent most of their time waiting for a core."""

    @property
    def late_pct(self) -> float:
        """Bypassed frames over all frames, in %."""
        return 100 * self.bypassed / max(1, self.frames)

    @property
    def loss_pct(self) -> float:
        """The worst of: bypassed, not received by the server, not received by listeners (%)."""
        return max(self.late_pct, 100 - self.server_rx_pct, 100 - self.listener_pct)

    @property
    def per_stream(self) -> float:
        """Server CPU per stream, % of one core."""
        return sum(self.server_cpu) / max(1, self.streams)

    @property
    def fits(self) -> bool:
        """Under 1 % of frames late or lost anywhere, and every recording complete.

        The server's counter only sees frames that reached the engine; a server
        starved of CPU loses frames before that (the receive side) or after it
        (the relay to listeners), so both ends are checked too.
        """
        ok = 100 - LATE_LIMIT_PCT
        return (
            not self.errors
            and self.late_pct < LATE_LIMIT_PCT
            and self.server_rx_pct >= ok
            and self.listener_pct >= ok
            and self.rec_ok == self.streams
        )

    def markdown(self) -> str:
        """One row of the results table."""
        cpu = " + ".join(f"{c:.0f}" for c in self.server_cpu)
        return (
            f"| {self.code} | {self.procs} | {self.streams} | {self.model} | {cpu} | {self.per_stream:.1f} | "
            f"{self.late_pct:.2f} ({self.worst_stream_pct:.1f}) | {self.late} | "
            f"{self.server_rx_pct:.1f} | {self.listener_pct:.1f} | {self.gaps} | "
            f"{self.rec_ok}/{self.streams} | {self.client_cpu:.0f} | {self.other_cpu:.0f} | "
            f"{self.idle_cpu:.0f} | {self.lag_growth_ms:.0f} | {self.mean_batch:.1f} | "
            f"{self.batch_on_core:.0f} | "
            f"{'yes' if self.fits else 'no'} |"
        )


HEADER = (
    "| code | procs | streams | model | server CPU % (per process) | CPU %/stream "
    "| bypassed % all (worst stream) | inference > budget | server got % | listener got % "
    "| gaps > 60 ms | recordings ok | clients CPU % | others CPU % | idle % "
    "| delay growth ms | mean batch | batch on a core % | fits |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def summarise(
    procs: int, n: int, model: str, results: list[dict[str, Any]], cpu: dict[str, Any], code: str
) -> Row:
    """Turn the client results and CPU counters of one point into a :class:`Row`."""
    frames = bypassed = late = rec_ok = gaps = late_sends = 0
    worst = rec_worst = max_gap = lag_growth = 0.0
    received = expected = session_frames = 0.0
    errors: list[str] = []
    for r in results:
        if r["error"]:
            errors.append(f"pair {r['index']}: {r['error']}")
        stats = r["stop"].get("stats") or {}
        frames += stats.get("frames", 0)
        bypassed += stats.get("bypassed", 0)
        late += stats.get("late", 0)
        worst = max(worst, 100 * stats.get("bypassed", 0) / max(1, stats.get("frames", 0)))
        per_s = 1000 / r.get("frame_ms", 20)  # packets (frames) a second on both legs
        session_frames += per_s * r["session_s"]
        duration = float(r["stop"].get("duration") or 0.0)
        # The stream ends somewhere between the stop request and its answer (a stop
        # takes a while when many arrive at once), so the recording may be as long as
        # anything in that interval; off is how far outside it the recording is.
        longest = max(r["session_s"], r.get("stop_s", 0.0))
        off = max(r["session_s"] - duration, duration - longest, 0.0)
        rec_worst = max(rec_worst, off)
        if r["stop"].get("recording_id") is not None and off <= 0.5 + 0.02 * r["session_s"]:
            rec_ok += 1
        received += r["window_frames"]
        expected += r["window_s"] * per_s
        gaps += r["gaps"]
        max_gap = max(max_gap, r["max_gap_ms"])
        late_sends += r["late_sends"]
        lag_growth = max(lag_growth, r["lag_growth_ms"])
    return Row(
        procs=procs,
        streams=n,
        model=model,
        window_s=cpu["window"],
        code=code,
        server_cpu=cpu["servers"],
        client_cpu=cpu["clients"],
        other_cpu=cpu["others"],
        kernel_cpu=cpu["kernel"],
        steal_cpu=cpu["steal"],
        idle_cpu=cpu["idle"],
        frames=frames,
        bypassed=bypassed,
        late=late,
        worst_stream_pct=worst,
        server_rx_pct=100 * frames / max(1.0, session_frames),
        listener_pct=100 * received / max(1.0, expected),
        gaps=gaps,
        max_gap_ms=max_gap,
        rec_ok=rec_ok,
        rec_worst_s=rec_worst,
        late_sends=late_sends,
        lag_growth_ms=lag_growth,
        errors=errors,
        load_end=os.getloadavg()[0],
        ramp_s=cpu["ramp"],
        mean_batch=cpu.get("batch", 0.0),
        batch_on_core=cpu.get("on_core", 0.0),
    )


def describe(row: Row) -> str:
    """A one-line progress report of a point."""
    text = (
        f"[{row.code}] procs={row.procs} streams={row.streams:2d} model={row.model}: server CPU "
        f"{sum(row.server_cpu):.0f} % ({row.per_stream:.1f} %/stream), bypassed "
        f"{row.late_pct:.2f} % (worst {row.worst_stream_pct:.1f} %, {row.bypassed}/{row.frames}, "
        f"over budget {row.late}), server got {row.server_rx_pct:.1f} %, listener got "
        f"{row.listener_pct:.1f} % (gaps {row.gaps}, max {row.max_gap_ms:.0f} ms, delay growth "
        f"{row.lag_growth_ms:.0f} ms), recordings "
        f"ok {row.rec_ok}/{row.streams} (worst off {row.rec_worst_s:.2f} s); CPU: clients "
        f"{row.client_cpu:.0f} %, other processes {row.other_cpu:.0f} %, irq {row.kernel_cpu:.0f} "
        f"%, steal {row.steal_cpu:.0f} %, idle {row.idle_cpu:.0f} %; client late sends "
        f"{row.late_sends}, ramp {row.ramp_s:.1f} s, load {row.load_end:.2f}, mean batch "
        f"{row.mean_batch:.2f} ({row.batch_on_core:.0f} % of its time on a core); "
        f"{'fits' if row.fits else 'does not fit'}"
    )
    if row.errors:
        text += f"\n  errors ({len(row.errors)}): " + "; ".join(row.errors[:3])
    return text
