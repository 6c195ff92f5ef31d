"""Open downloads are bounded per user and hold no database connection each.

A download that a client reads slowly lives for hours. Each had kept the database
connection of its request's thread (40 downloads: 40 connections, enough of them to
take all of PostgreSQL's), and a user could open any number. Now a user holds at most
``FC25_MAX_DOWNLOADS_PER_USER`` per process (429 past it, the slot given back when a
download ends), and the open ones' access checks share two threads' connections.
"""

from __future__ import annotations

import os
import socket
import time

from tests.limits.conftest import serving
from tests.limits.test_served_stalled_reader import _flac, _get_without_reading

LIMIT = 4


def sqlite_handles(pid: int) -> int:
    """How many of the server's open files are its SQLite database."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue  # closed between the listing and the read: not open now
        count += target.endswith("db.sqlite3")
    return count


def status_of(sock: socket.socket) -> int:
    sock.settimeout(10)
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(256)
        assert chunk, head
        head += chunk
    return int(head.split(b" ", 2)[1])


def test_a_users_open_downloads_are_capped_and_pin_no_connections():
    with serving(FC25_MAX_DOWNLOADS_PER_USER=str(LIMIT)) as served:
        host, alice, pid = served["host"], served["alice"], served["pid"]
        r = alice.post(
            f"http://{host}/api/recordings/import/",
            files={"file": ("a.flac", _flac(120), "audio/flac")},
            timeout=60,
        )
        assert r.status_code == 202, r.text
        rec = r.json()["recording"]
        url, session = rec["raw_audio_url"], alice.cookies["sessionid"]
        deadline = time.monotonic() + 60
        while alice.get(f"http://{host}/api/recordings/{rec['id']}/").json()["status"] != "ready":
            assert time.monotonic() < deadline, "the import's cleaning did not finish"
            time.sleep(0.2)  # its job's connections are closed when it is done
        time.sleep(0.5)
        before = sqlite_handles(pid)

        socks = [_get_without_reading(host, url, session) for _ in range(LIMIT + 2)]
        codes = [status_of(s) for s in socks]
        assert sorted(codes) == [200] * LIMIT + [429, 429], codes
        # Not one per open download. The refused requests close theirs as they finish, a
        # moment after their answer: wait for that, while the downloads stay open.
        deadline = time.monotonic() + 10
        while sqlite_handles(pid) - before > 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sqlite_handles(pid) - before <= 2  # the access checks' two threads at most

        socks[codes.index(200)].close()  # one download ends: its slot comes back
        deadline = time.monotonic() + 10
        while True:
            again = _get_without_reading(host, url, session)
            code = status_of(again)
            socks.append(again)
            if code == 200 or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.2)
        assert code == 200
        for s in socks:
            s.close()
