"""The composition root: the one place that builds this process's long-lived services.

Each server process has one :class:`~streams.hub.LiveHub` (live streams, and the
shared machinery they run on) and one :class:`~recordings.runner.JobRunner`
(import and re-clean jobs). Nothing else constructs them: views and the ASGI
entry point ask for them here (the recordings views get the runner through
``fc25_denoise/urls.py``), and pass them on to whatever needs them, so the
modules that implement them never import this one (no cycles, no look-ups
through the app registry).

Both are created on first use. The hub must first be asked for on the server's
event loop (it binds its tasks to that loop). The ASGI entry point shuts both
down when the server stops (the lifespan protocol, :mod:`fc25_denoise.asgi`).
"""

from __future__ import annotations

from django.conf import settings

from recordings.runner import JobRunner
from streams.hub import LiveHub
from streams.webrtc.runtime import LiveConfig, LiveRuntime

_hub: LiveHub | None = None
_jobs: JobRunner | None = None


def live_config() -> LiveConfig:
    """The live path's settings, read from ``django.conf.settings`` now."""
    return LiveConfig(
        stun_urls=settings.WEBRTC_STUN_URLS,
        jitter_prefetch=settings.WEBRTC_JITTER_PREFETCH,
        opus_frame_ms=settings.OPUS_FRAME_MS,
        budget=settings.DENOISE_BUDGET_MS / 1000,
        media_timeout=settings.WEBRTC_MEDIA_TIMEOUT,
        connect_timeout=settings.WEBRTC_CONNECT_TIMEOUT,
        max_backlog=settings.MAX_BACKLOG_MS / 1000,
        spool_buffer=settings.SPOOL_BUFFER_S,
        figures_every=settings.LIVE_FIGURES_EVERY_S,
        workers=settings.DENOISE_WORKERS,
        batching=settings.DENOISE_BATCHING,
        batch_wait_ms=settings.DENOISE_BATCH_WAIT_MS,
        realtime_priority=settings.REALTIME_PRIORITY,
    )


def build_live_hub(runtime: LiveRuntime | None = None) -> LiveHub:
    """A new hub on ``runtime`` (default: one built from the settings); the caller owns it."""
    return LiveHub(runtime or LiveRuntime(live_config()))


def live_hub() -> LiveHub:
    """This process's live-stream hub, created on first use (call on the event loop)."""
    global _hub
    if _hub is None:
        _hub = build_live_hub()
    return _hub


def existing_live_hub() -> LiveHub | None:
    """This process's hub if one was created (server shutdown finalizes its streams)."""
    return _hub


def replace_live_hub(hub: LiveHub | None) -> LiveHub | None:
    """Swap the process's hub (tests: a fresh hub per test loop); returns the previous one."""
    global _hub
    previous, _hub = _hub, hub
    return previous


def job_runner() -> JobRunner:
    """This process's recording-job runner, created on first use."""
    global _jobs
    if _jobs is None:
        _jobs = JobRunner(settings.RECORDING_JOB_WORKERS)
    return _jobs


def existing_job_runner() -> JobRunner | None:
    """This process's job runner if one was created."""
    return _jobs
