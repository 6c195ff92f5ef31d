"""``users.consumers.PresenceConsumer`` replaces three of Channels' consumer methods with
versions that differ on purpose (no stale-connection close on asgiref's shared thread; a
"client gone" send made its own exception). A Channels release that changes the
originals must be read against them before it is taken: this test pins what was read.

When it fails: compare the new Channels source of the named method with its replacement
in users/consumers.py, carry over what matters, then update the digest here.
"""

from __future__ import annotations

import hashlib
import inspect

import pytest
from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from users.consumers import PresenceConsumer

READ = {
    # Channels 4.3.2
    "AsyncConsumer.dispatch": "39f34e7d4fb0f655",
    "AsyncConsumer.__call__": "e52238720872dbc3",
    "AsyncWebsocketConsumer.websocket_disconnect": "10f38aa55fd51ff5",
}


def digest(method: object) -> str:
    return hashlib.sha256(inspect.getsource(method).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "original",
    [AsyncConsumer.dispatch, AsyncConsumer.__call__, AsyncWebsocketConsumer.websocket_disconnect],
    ids=lambda m: m.__qualname__,
)
def test_the_replaced_channels_method_is_the_one_read(original) -> None:
    name = original.__qualname__
    replacement = getattr(PresenceConsumer, original.__name__)
    assert replacement is not original, f"{name} is no longer replaced"
    assert digest(original) == READ[name], (
        f"Channels' {name} changed: read it against PresenceConsumer.{original.__name__} "
        "(users/consumers.py), then update READ in this test"
    )
