"""A frame longer than ``MAX_FRAME_CHARS`` is refused unparsed; the server caps messages too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fc25_denoise.management.commands.runserver import GRACEFUL_SHUTDOWN_S, WS_MAX_BYTES
from tests.presence.helpers import connect
from tests.servers import ROOT, server_command
from users import consumers
from users.consumers import MAX_FRAME_CHARS

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_long_frame_is_refused_without_parsing(friends, monkeypatch):
    parsed: list[int] = []
    real_loads = json.loads

    def counting_loads(text, *args, **kwargs):  # type: ignore[no-untyped-def]
        parsed.append(len(text))
        return real_loads(text, *args, **kwargs)

    monkeypatch.setattr(consumers.json, "loads", counting_loads)  # the json module itself
    alice_ws = await connect("alice")
    await alice_ws.send_to(text_data="[{}," * MAX_FRAME_CHARS + "{}]")
    assert await alice_ws.receive_json_from(timeout=2) == {
        "type": "error",
        "error": "Frame too long.",
    }
    assert max(parsed, default=0) <= MAX_FRAME_CHARS  # the long frame was never parsed
    await alice_ws.send_json_to({"type": "ping"})  # the socket keeps working
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()


async def test_a_frame_at_the_limit_is_parsed(friends):
    alice_ws = await connect("alice")
    frame = '{"type": "ping", "pad": "'
    frame += "x" * (MAX_FRAME_CHARS - len(frame) - 2) + '"}'
    assert len(frame) == MAX_FRAME_CHARS
    await alice_ws.send_to(text_data=frame)
    assert await alice_ws.receive_json_from(timeout=2) == {"type": "pong"}
    await alice_ws.disconnect()


def test_every_launch_caps_websocket_messages():
    flag = f"--ws-max-size {WS_MAX_BYTES} --timeout-graceful-shutdown {GRACEFUL_SHUTDOWN_S}"
    assert MAX_FRAME_CHARS * 4 <= WS_MAX_BYTES  # a UTF-8 frame at the limit still arrives
    assert flag in " ".join(Path(ROOT, "Makefile").read_text().split())
    assert flag in Path(ROOT, "Dockerfile").read_text()
    assert flag in " ".join(server_command(8000))
    readme = " ".join(Path(ROOT, "README.md").read_text().split())
    launches = readme.count("--lifespan on ")  # the documented Uvicorn commands
    assert launches and readme.count(f"--lifespan on {flag}") == launches
