"""Two settings changes at once (the slider and a checkbox) keep each other's value.

Storing a change wrote back every field of the settings row as the request had read
it, so a change of the attenuation limit that had read the row before a ``share_raw``
was turned off turned it on again.
"""

from __future__ import annotations

from streams import services
from streams.models import BroadcastSettings


def test_a_change_read_before_another_keeps_the_other(alice, monkeypatch):
    services.do_update_settings(alice, None, None, share_raw=True)
    stale = BroadcastSettings.objects.get(user=alice)  # the slider's request reads the row
    services.do_update_settings(alice, None, None, share_raw=False)  # the checkbox's lands

    monkeypatch.setattr(services, "broadcast_settings", lambda user: stale)
    services.do_update_settings(alice, 20.0, None)  # the slider's is stored after it

    row = BroadcastSettings.objects.get(user=alice)
    assert row.atten_lim_db == 20.0
    assert row.share_raw is False
