"""Live telemetry of one stream: what the engine removes, measured as it runs.

:class:`StreamMeter` is fed every frame the pump handles (the engine's output
and the aligned raw input, a few microseconds of numpy) and summarised twice a
second (:data:`PERIOD_S`) into the ``telemetry`` event the broadcaster and the
stream's confirmed listeners get: :class:`TelemetryLoop`, a task the session
starts with the audio and stops with the stream. It also keeps one dB-removed
figure per second for the recording.

The noise floor is a low percentile of the last few seconds' 20 ms frame
levels (minimum statistics): speech is louder than the floor, so the quiet
frames between words measure the noise. dB removed is the raw floor minus the
cleaned floor: 0 when nothing is removed (the identity model, or a listener-
independent bypass), large when the engine silences the room.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from denoise.base import Audio

from ..aiotasks import cancel_within
from .listeners import ListenerSet
from .source import LiveSource
from .stream import StreamIdentity, StreamLog, Telemetry

PERIOD_S = 0.5
"""Telemetry events are sent this often."""
FLOOR_WINDOW_S = 3.0
"""How far back the noise floor looks."""
FLOOR_PERCENTILE = 10.0
SPEECH_ABOVE_FLOOR_DB = 10.0
"""A period whose loudest frame is this far above the floor has speech in it."""
SILENCE_DB = -90.0
"""The level reported for digital silence."""
UNWIND_S = 0.5
"""How long a stop waits for the cancelled telemetry task before going on without it."""


def level_db(x: Audio) -> float:
    """RMS level of ``x`` in dB relative to full scale (``SILENCE_DB`` at least)."""
    if x.size == 0:
        return SILENCE_DB
    power = float(np.dot(x, x)) / x.size
    return max(SILENCE_DB, 10.0 * float(np.log10(power + 1e-12)))


@dataclass(frozen=True)
class Snapshot:
    """One telemetry period's figures."""

    input_db: float
    noise_before_db: float
    noise_after_db: float
    speech: bool

    @property
    def db_removed(self) -> float:
        return self.noise_before_db - self.noise_after_db


class StreamMeter:
    """Frame levels in, a :class:`Snapshot` per period and a per-second series out.

    ``frame_s`` is the pump's frame length (20 ms). Used on the event loop only.
    """

    def __init__(self, frame_s: float = 0.02) -> None:
        window = max(1, round(FLOOR_WINDOW_S / frame_s))
        self._raw: deque[float] = deque(maxlen=window)
        self._clean: deque[float] = deque(maxlen=window)
        self._frames_per_second = max(1, round(1.0 / frame_s))
        self._period_raw: list[float] = []
        self._second: list[tuple[float, float]] = []
        self.removed_per_second: list[float] = []
        """dB removed in each whole second of the stream so far (the recording keeps it)."""

    def add(self, cleaned: Audio, raw: Audio) -> None:
        """One frame the pump handled (the engine's output, the raw input aligned with it)."""
        r, c = level_db(raw), level_db(cleaned)
        self._raw.append(r)
        self._clean.append(c)
        self._period_raw.append(r)
        self._second.append((r, c))
        if len(self._second) == self._frames_per_second:
            raw_s = np.array([p[0] for p in self._second])
            clean_s = np.array([p[1] for p in self._second])
            # The floor of this second, against the floor of the whole window: a second of
            # pure speech measures the speech, so the window's floor stands in for it.
            before = min(float(np.percentile(raw_s, FLOOR_PERCENTILE)), self._floor(self._raw))
            after = min(float(np.percentile(clean_s, FLOOR_PERCENTILE)), self._floor(self._clean))
            self.removed_per_second.append(round(before - after, 1))
            self._second = []

    @staticmethod
    def _floor(levels: deque[float]) -> float:
        return float(np.percentile(np.fromiter(levels, float), FLOOR_PERCENTILE))

    def snapshot(self) -> Snapshot | None:
        """The period since the last snapshot (None if no frame arrived in it)."""
        if not self._period_raw:
            return None
        period = np.array(self._period_raw)
        self._period_raw = []
        before = self._floor(self._raw)
        power = float(np.mean(10.0 ** (period / 10.0)))
        return Snapshot(
            input_db=round(max(SILENCE_DB, 10.0 * float(np.log10(power + 1e-12))), 1),
            noise_before_db=round(before, 1),
            noise_after_db=round(self._floor(self._clean), 1),
            speech=bool(period.max() > before + SPEECH_ABOVE_FLOOR_DB),
        )


@dataclass
class EngineClock:
    """Turns a source's running totals into per-period figures: engine time per hop."""

    engine_s: float = 0.0
    hops: int = 0
    frames: int = 0

    def per_hop(
        self, engine_s: float, hops: int, frames: int, budget_s: float
    ) -> tuple[float, float]:
        """``(ms per hop, budget ms per hop)`` since the last call: the mean time a hop
        waited for the engine (queue and inference), and the share of the frame budget
        (a frame waiting longer is passed through) that falls to one hop."""
        d_hops, d_frames = hops - self.hops, frames - self.frames
        spent = engine_s - self.engine_s
        self.engine_s, self.hops, self.frames = engine_s, hops, frames
        if d_hops <= 0 or d_frames <= 0:
            return 0.0, round(1000.0 * budget_s, 1)
        return round(1000.0 * spent / d_hops, 2), round(1000.0 * budget_s * d_frames / d_hops, 1)


class TelemetryLoop:
    """Every :data:`PERIOD_S` in which audio flowed: the stream's figures, as the
    ``telemetry`` event, to its broadcaster and its confirmed listeners (``send``).

    Owns its task: :meth:`start` it once the source exists, :meth:`stop` it when the
    stream stops. Used on the event loop only.
    """

    def __init__(
        self,
        stream: StreamIdentity,
        meter: StreamMeter,
        listeners: ListenerSet,
        send: Telemetry | None,
        log: StreamLog,
        *,
        budget_s: float,
    ) -> None:
        """``meter``: the one the session's pump feeds; ``send``: None for no telemetry
        (:meth:`start` then starts nothing); ``budget_s``: the frame budget
        (``LiveConfig.budget``), reported per hop."""
        self._stream = stream
        self._meter = meter
        self._listeners = listeners
        self._send = send
        self._log = log
        self._budget_s = budget_s
        self._task: asyncio.Task[None] | None = None
        self._unwinding: set[asyncio.Task[Any]] = set()

    def start(self, source: LiveSource) -> None:
        """Start sending, with ``source``'s counters."""
        if self._send is not None:
            self._task = asyncio.create_task(self._run(source, self._send))

    async def stop(self) -> None:
        """Cancel the task and wait :data:`UNWIND_S` at most for it. Idempotent.

        The task may be inside a channel-layer publish: the stop does not wait for it
        to unwind (one of 12 simultaneous stops once answered 20 s late); until it
        does, this object keeps it referenced.
        """
        await cancel_within((self._task,), UNWIND_S, self._unwinding)

    async def _run(self, source: LiveSource, send: Telemetry) -> None:
        clock = EngineClock()
        while True:
            await asyncio.sleep(PERIOD_S)
            snap = self._meter.snapshot()
            if snap is None:
                continue  # no audio in this period
            s = source.stats
            hop_ms, budget_ms = clock.per_hop(s.engine_s, s.engine_hops, s.denoised, self._budget_s)
            event = {
                "type": "telemetry",
                "username": self._stream.username,
                "session_id": str(self._stream.session_id),
                "level_dbfs": snap.input_db,
                "noise_in_dbfs": snap.noise_before_db,
                "noise_out_dbfs": snap.noise_after_db,
                "db_removed": round(snap.db_removed, 1),
                "speech": snap.speech,
                "hop_ms": hop_ms,
                "budget_ms": budget_ms,
                "bypassed": s.bypassed,
                "dropped": s.dropped,
                "listeners": len(self._listeners),
            }
            recipients = sorted({self._stream.user_id, *self._listeners.confirmed_users()})
            try:
                await send(recipients, event)
            except Exception:
                self._log.exception("could not send telemetry")
