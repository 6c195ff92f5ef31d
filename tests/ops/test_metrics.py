"""/metrics: Prometheus text from prometheus_client, for direct loopback/private clients or
a bearer token; live streams and frames read from the hub at scrape time; login failures
and batch timings counted through hooks."""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from denoise.batching import BatchScheduler
from fc25_denoise import metrics
from tests.conftest import ApiClient


def scrape(**extra: Any) -> dict[str, float]:
    resp = Client().get("/metrics", **extra)
    assert resp.status_code == 200, resp.content
    assert resp["Content-Type"].startswith("text/plain")
    return {
        sample.name + str(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(resp.content.decode())
        for sample in family.samples
    }


@dataclass
class FakeSession:
    listeners: int
    stats: dict[str, int]
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)


class FakeHub:
    def __init__(self, sessions: list[FakeSession]) -> None:
        self.live = sessions

    def sessions(self) -> list[FakeSession]:
        return self.live


@pytest.mark.django_db
def test_loopback_scrape_shows_live_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    before = metrics.FRAME_TOTALS.totals()
    alice = FakeSession(2, {"denoised": 100, "bypassed": 3, "dropped": 1})
    bob = FakeSession(1, {"denoised": 50, "bypassed": 0, "dropped": 0})
    hub = FakeHub([alice, bob])
    monkeypatch.setattr(metrics, "existing_live_hub", lambda: hub)
    values = scrape()
    assert values["fc25_live_streams[]"] == 2
    assert values["fc25_live_listeners[]"] == 3
    assert values["fc25_frames_total[('outcome', 'denoised')]"] == before["denoised"] + 150
    assert values["fc25_recording_jobs[('status', 'queued')]"] == 0
    # Alice's stream ends after 20 more frames; the totals never go down.
    alice.stats = {"denoised": 120, "bypassed": 3, "dropped": 1}
    metrics.FRAME_TOTALS.fold([alice, bob])
    hub.live = [bob]
    values = scrape()
    assert values["fc25_live_streams[]"] == 1
    assert values["fc25_frames_total[('outcome', 'denoised')]"] == before["denoised"] + 170
    assert values["fc25_frames_total[('outcome', 'bypassed')]"] == before["bypassed"] + 3


@pytest.mark.django_db
def test_no_hub_means_no_streams() -> None:
    assert scrape()["fc25_live_streams[]"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "93.184.216.34"},
        {"HTTP_X_FORWARDED_FOR": "93.184.216.34"},  # came through a proxy (nginx is on loopback)
        {"HTTP_FORWARDED": "for=93.184.216.34"},
        {"REMOTE_ADDR": "93.184.216.34", "HTTP_AUTHORIZATION": "Bearer wrong"},
    ],
)
def test_refused_to_public_or_proxied_clients(settings: Any, extra: dict[str, str]) -> None:
    settings.METRICS_TOKEN = "tok"
    assert Client().get("/metrics", **extra).status_code == 403


@pytest.mark.django_db
def test_bearer_token_opens_it_to_anyone(settings: Any) -> None:
    settings.METRICS_TOKEN = "tok"
    extra = {"REMOTE_ADDR": "93.184.216.34", "HTTP_X_FORWARDED_FOR": "93.184.216.34"}
    scrape(HTTP_AUTHORIZATION="Bearer tok", **extra)


@pytest.mark.django_db
def test_private_network_client_allowed() -> None:
    scrape(REMOTE_ADDR="10.1.2.3")


def test_login_failures_counted(alice: Any, anon: ApiClient) -> None:
    before = scrape().get("fc25_login_failures_total[]", 0.0)
    resp = anon.post("/api/auth/login/", {"username": "alice", "password": "wrong"})
    assert resp.status_code in (400, 401)
    assert scrape()["fc25_login_failures_total[]"] == before + 1


class Doubler:
    def run_batch(self, items: list[int]) -> list[int]:
        time.sleep(0.002)
        return [2 * i for i in items]


@pytest.mark.django_db
def test_batches_timed_by_scheduler() -> None:
    key = "fc25_batch_seconds_count[('scheduler', 'metrics-test')]"
    before = scrape().get(key, 0.0)
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1, name="metrics-test")
    try:
        assert sched.submit(Doubler(), 21) == 42
        assert sched.submit(Doubler(), 1) == 2
    finally:
        sched.close()
    values = scrape()
    assert values[key] == before + 2
    assert values["fc25_batch_seconds_sum[('scheduler', 'metrics-test')]"] > 0.003
    assert values["fc25_batch_items_count[('scheduler', 'metrics-test')]"] >= 2


class Spinner:
    """Burns about 20 ms of its thread's CPU per batch, then sleeps as long (off a core)."""

    def run_batch(self, items: list[int]) -> list[int]:
        end = time.thread_time() + 0.02
        while time.thread_time() < end:
            pass
        time.sleep(0.02)
        return items


@pytest.mark.django_db
def test_batches_cpu_time_is_the_workers_own() -> None:
    label = "metrics-cpu-test"
    sched = BatchScheduler(max_wait_ms=0, max_parallel=1, name=label)
    try:
        assert sched.submit(Spinner(), 1) == 1
    finally:
        sched.close()
    values = scrape()
    cpu = values[f"fc25_batch_cpu_seconds_sum[('scheduler', '{label}')]"]
    wall = values[f"fc25_batch_seconds_sum[('scheduler', '{label}')]"]
    assert values[f"fc25_batch_cpu_seconds_count[('scheduler', '{label}')]"] == 1
    assert 0.015 < cpu < wall - 0.015  # the spin counts, the sleep does not
