"""An import's title follows a rename's rules: one over 200 characters is 400 and nothing
is stored (it had been cut to 200 without a word, where a rename refuses it)."""

from __future__ import annotations

import pytest

from recordings.models import StreamRecording

from .conftest import encoded, post_file, signal


@pytest.fixture(autouse=True)
def _identity(settings):
    settings.DENOISE_MODEL = "identity"


@pytest.mark.django_db(transaction=True)
def test_a_title_over_the_limit_is_400_and_stores_nothing(alice, as_alice):
    data = encoded(signal(1.0), "WAV")
    resp = post_file(as_alice, data, "take.wav", title="x" * 201)
    assert resp.status_code == 400, resp.content
    assert resp.json()["errors"] == {"title": ["At most 200 characters."]}
    assert not StreamRecording.objects.exists()

    resp = post_file(as_alice, data, "take.wav", title="  " + "x" * 200 + "  ")
    assert resp.status_code == 202, resp.content
    assert resp.json()["recording"]["title"] == "x" * 200
