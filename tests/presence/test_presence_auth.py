"""Anonymous presence sockets are closed with 4401."""

import pytest

from tests.presence.helpers import connect

pytestmark = pytest.mark.django_db(transaction=True)


async def test_anonymous_socket_closed_with_4401():
    comm = await connect(None)
    out = await comm.receive_output(timeout=2)
    assert out == {"type": "websocket.close", "code": 4401}
    # A browser answers the close; the consumer then unwinds on the test's loop, not at
    # its teardown, where a cancelled channels-redis receive can hang.
    await comm.disconnect()


async def test_logged_in_socket_stays_open_and_answers_ping(alice):
    comm = await connect("alice")
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from(timeout=2) == {"type": "pong"}
    await comm.disconnect()
