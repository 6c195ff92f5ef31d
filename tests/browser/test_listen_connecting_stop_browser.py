"""Friend page: the friend stops while a listen is still connecting. The page keeps
saying the stream ended and sets up no player, whether the server refused the late offer
(409 "not live") or had accepted it just before the stream ended."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from .helpers import by_testid
from .live_helpers import go_live, identity_pair

pytestmark = pytest.mark.browser


@pytest.fixture
def pair(live_server_url: str, fake_mic_browser: Browser) -> Iterator[tuple[Page, Page, str]]:
    """Alice live (pass-through model), Bob on her page with "Listen" enabled."""
    with identity_pair(fake_mic_browser, live_server_url) as p:
        go_live(p.alice)
        p.bob.goto(f"{p.base}/u/{p.alice_name}/")
        expect(by_testid(p.bob, "listen")).to_be_enabled()
        yield p.alice, p.bob, p.alice_name


def hold_offer(bob: Page, alice_name: str) -> Route:
    """Click Listen; return the listen offer's request, held (not sent on yet)."""
    held: list[Route] = []
    bob.route(f"**/api/webrtc/listen/{alice_name}/", lambda route: held.append(route))
    with bob.expect_request(lambda r: r.url.endswith(f"/api/webrtc/listen/{alice_name}/")):
        by_testid(bob, "listen").click()
    expect(by_testid(bob, "listen-status")).to_have_attribute("data-state", "connecting")
    bob.wait_for_timeout(200)  # the route handler ran
    assert len(held) == 1
    return held[0]


def stop_alice(alice: Page, bob: Page) -> None:
    by_testid(alice, "stop-live").click()
    expect(by_testid(alice, "go-live")).to_be_visible()
    expect(by_testid(bob, "listen-status")).to_have_attribute("data-state", "ended")


def assert_ended_without_player(bob: Page) -> None:
    bob.wait_for_timeout(1_000)  # the offer's answer has been handled
    status = by_testid(bob, "listen-status")
    expect(status).to_have_attribute("data-state", "ended")
    expect(status).to_have_text("The stream ended.")
    expect(by_testid(bob, "stop-listen")).to_be_hidden()
    expect(by_testid(bob, "listen-audio")).to_be_hidden()
    expect(by_testid(bob, "listen")).to_be_visible()
    expect(by_testid(bob, "listen")).to_be_disabled()
    assert bob.evaluate("() => !window.__fc25ListenStream")


def test_offer_refused_after_the_stop(pair: tuple[Page, Page, str]) -> None:
    alice, bob, alice_name = pair
    offer = hold_offer(bob, alice_name)
    stop_alice(alice, bob)
    with bob.expect_response(lambda r: r.url.endswith(f"/api/webrtc/listen/{alice_name}/")) as r:
        offer.continue_()
    assert r.value.status == 409, r.value.text()
    assert_ended_without_player(bob)


def test_offer_accepted_just_before_the_stop(pair: tuple[Page, Page, str]) -> None:
    alice, bob, alice_name = pair
    offer = hold_offer(bob, alice_name)
    answer = offer.fetch()  # the server accepts the listen...
    assert answer.status == 200, answer.text()
    stop_alice(alice, bob)  # ...its "listen_ended" arrives before the answer does
    offer.fulfill(response=answer)
    assert_ended_without_player(bob)
