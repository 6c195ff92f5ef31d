"""A friend hears a recording's raw (unprocessed) version only while its owner shares raw
audio (``share_raw``, the setting that lets friends choose ``raw`` live; off by default).

Raw recording was on by default and sharing off, yet every friend could download the raw
track of every saved stream, see its waveform and get its URL in the list: what the owner
had kept from them live was theirs once recorded. Now the owner's choice covers both, and
it is the choice now: turning sharing off hides raw versions already made and cuts a raw
download in progress. The owner always hears their own.
"""

from __future__ import annotations

from typing import Any

import pytest

from recordings import services
from streams.models import BroadcastSettings

pytestmark = pytest.mark.django_db(transaction=True)  # downloads check on their own threads


def share(owner: Any, on: bool) -> None:
    BroadcastSettings.objects.update_or_create(
        user=owner, defaults={"model": "identity", "share_raw": on}
    )


def raw_url(client: Any, rec: Any) -> Any:
    return client.get(f"/api/recordings/{rec.pk}/").json()["raw_audio_url"]


def test_a_friend_gets_no_raw_version_unless_it_is_shared(rec, as_alice, as_bob, friends):
    alice = friends[0]
    raw = f"/api/recordings/{rec.pk}/audio/?version=raw"
    peaks = f"/api/recordings/{rec.pk}/peaks/?buckets=50"

    refused = as_bob.get(raw)
    assert refused.status_code == 403 and "unprocessed" in refused.json()["error"]
    assert raw_url(as_bob, rec) is None
    listed = as_bob.get("/api/recordings/").json()["recordings"]
    assert [r["raw_audio_url"] for r in listed] == [None]
    assert as_bob.get(peaks).json()["raw"] is None
    assert as_bob.get(f"/api/recordings/{rec.pk}/audio/").status_code == 200  # cleaned: yes

    assert raw_url(as_alice, rec) == raw  # the owner always
    assert as_alice.get(raw).status_code == 200
    assert len(as_alice.get(peaks).json()["raw"]) == 50

    share(alice, True)
    assert raw_url(as_bob, rec) == raw
    assert as_bob.get(raw).status_code == 200
    assert len(as_bob.get(peaks).json()["raw"]) == 50

    share(alice, False)  # the choice now, not when it was recorded
    again = as_bob.get(raw)
    assert again.status_code == 403, again.content
    assert raw_url(as_bob, rec) is None


def test_an_open_raw_download_ends_when_sharing_is_turned_off(rec, as_bob, friends, bob):
    alice = friends[0]
    share(alice, True)
    key = as_bob.client.session.session_key
    assert services.may_still_read(bob, key, rec.pk, raw=True)
    share(alice, False)
    assert not services.may_still_read(bob, key, rec.pk, raw=True)
    assert services.may_still_read(bob, key, rec.pk)  # the cleaned version goes on
