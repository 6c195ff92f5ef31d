"""``GET /metrics``: this process's metrics in Prometheus text format (prometheus_client).

Read at scrape time (:class:`LiveCollector`), nothing added to the live path:

* ``fc25_live_streams``, ``fc25_live_listeners``: gauges of this process's live sessions.
* ``fc25_frames_total{outcome="denoised"|"bypassed"|"dropped"|"too_fast"}``: frames of this
  process's live streams (folded from the sessions' counters, :mod:`fc25_denoise.monitor`;
  ``too_fast``: packets refused for running ahead of real time).
* ``fc25_recording_jobs{status="queued"|"running"}``: import and re-clean jobs in the
  database (the whole site's queue, so every node reports the same).

Counted where they happen, through hooks (``denoise`` stays free of Django):

* ``fc25_batch_seconds``, ``fc25_batch_cpu_seconds`` (the worker thread's CPU time in
  the batch: its ratio to ``fc25_batch_seconds`` is the share of a batch spent on a core)
  and ``fc25_batch_items`` histograms, label ``scheduler`` (``denoise-batch`` = batched
  ONNX inference, ``opus`` = Opus decode and encode):
  :func:`denoise.batching.observe_batches`.
* ``fc25_event_loop_lag_seconds`` histogram: :class:`fc25_denoise.monitor.LoopMonitor`.
* ``fc25_login_failures_total``: Django's ``user_login_failed`` signal (wrong password or
  throttled, every login path).

Plus prometheus_client's process and Python collectors (CPU, memory, file descriptors, GC).

Access (:func:`metrics_allowed`): a direct connection (no ``X-Forwarded-For``/``Forwarded``
header) from a loopback or private address, or any client sending
``Authorization: Bearer $FC25_METRICS_TOKEN``. Anyone else gets 403; the bundled nginx
refuses ``/metrics`` itself as well.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from denoise.batching import observe_batches
from fc25_denoise.monitor import FrameTotals, LoopMonitor
from fc25_denoise.runtime import existing_live_hub
from recordings.models import RecordingJob
from streams.webrtc.session import BroadcastSession

logger = logging.getLogger(__name__)

BATCH_TIME_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5)
"""Seconds, for a batch's wall time and its worker's CPU time alike (so the two compare)."""

BATCH_SECONDS = Histogram(
    "fc25_batch_seconds",
    "Time one batch took on a worker thread (scheduler=denoise-batch: inference).",
    ["scheduler"],
    buckets=BATCH_TIME_BUCKETS,
)
BATCH_CPU_SECONDS = Histogram(
    "fc25_batch_cpu_seconds",
    "CPU time of the worker thread during one batch. Far below fc25_batch_seconds: the worker "
    "waited for a core most of the batch (the machine is oversubscribed).",
    ["scheduler"],
    buckets=BATCH_TIME_BUCKETS,
)
BATCH_ITEMS = Histogram(
    "fc25_batch_items",
    "Items (10 ms hops, or Opus packets) in one batch.",
    ["scheduler"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
LOOP_LAG = Histogram(
    "fc25_event_loop_lag_seconds",
    "How late the event loop woke a sleeping task (time spent on other work).",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
LOGIN_FAILURES = Counter("fc25_login_failures", "Failed logins (wrong password or throttled).")

FRAME_TOTALS = FrameTotals()
"""This process's frame counters across its live sessions."""


def live_sessions() -> list[BroadcastSession]:
    """This process's running sessions (none before the hub exists)."""
    hub = existing_live_hub()
    return hub.sessions() if hub is not None else []


class LiveCollector(Collector):
    """Live streams, listeners and frame totals of this process, read at scrape time."""

    def describe(self) -> list[Metric]:
        """Nothing up front: the registry must not read the hub or the database at import."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One reading of the hub and of the job table."""
        sessions = live_sessions()
        FRAME_TOTALS.fold(sessions)
        yield GaugeMetricFamily(
            "fc25_live_streams", "Live streams this process carries.", value=len(sessions)
        )
        yield GaugeMetricFamily(
            "fc25_live_listeners",
            "Listeners of this process's live streams.",
            value=sum(s.listeners for s in sessions),
        )
        frames = CounterMetricFamily(
            "fc25_frames", "Frames of live streams by outcome.", labels=["outcome"]
        )
        for outcome, count in FRAME_TOTALS.totals().items():
            frames.add_metric([outcome], count)
        yield frames
        jobs = GaugeMetricFamily(
            "fc25_recording_jobs", "Recording jobs by status.", labels=["status"]
        )
        try:
            counts = _job_counts()
        except Exception:  # a scrape must not fail with the database; /readyz reports it
            logger.warning("metrics: recording jobs not readable", exc_info=True)
            return
        for status, count in counts.items():
            jobs.add_metric([status], count)
        yield jobs


def _job_counts() -> dict[str, int]:
    statuses = (RecordingJob.Status.QUEUED, RecordingJob.Status.RUNNING)
    counts = dict.fromkeys((str(s) for s in statuses), 0)
    for status in RecordingJob.objects.filter(status__in=statuses).values_list("status", flat=True):
        counts[status] += 1
    return counts


def _observe_batch(scheduler: str, items: int, seconds: float, cpu_seconds: float) -> None:
    BATCH_SECONDS.labels(scheduler).observe(seconds)
    BATCH_CPU_SECONDS.labels(scheduler).observe(cpu_seconds)
    BATCH_ITEMS.labels(scheduler).observe(items)


def _login_failed(sender: object, **kwargs: Any) -> None:
    LOGIN_FAILURES.inc()


LOOP_MONITOR = LoopMonitor(live_sessions, FRAME_TOTALS, LOOP_LAG.observe)
"""This process's loop monitor (started and stopped by the ASGI lifespan)."""

_installed = False


def install() -> None:
    """Connect the hooks (batch observer, login signal) and the collector, once."""
    global _installed
    if _installed:
        return
    _installed = True
    observe_batches(_observe_batch)
    user_login_failed.connect(_login_failed, dispatch_uid="fc25-metrics-login-failed")
    REGISTRY.register(LiveCollector())


def metrics_allowed(request: HttpRequest) -> bool:
    """The bearer token (when ``FC25_METRICS_TOKEN`` is set), or a direct connection from a
    loopback or private address (a proxied request carries ``X-Forwarded-For``)."""
    token: str = settings.METRICS_TOKEN
    auth = request.headers.get("Authorization", "")
    if token and auth.startswith("Bearer "):
        return hmac.compare_digest(auth.removeprefix("Bearer ").encode(), token.encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition of :data:`prometheus_client.REGISTRY`; 403 when not allowed."""
    if not metrics_allowed(request):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
