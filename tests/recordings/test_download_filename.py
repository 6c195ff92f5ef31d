"""Downloads keep ``attachment`` and the recording's name whatever script its title is in.

A non-Latin-1 file name in Content-Disposition made Django MIME-encode the whole header
(``=?utf-8?b?...?=``), which browsers do not decode: the file opened inline, unnamed.
"""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value
from urllib.parse import quote

import pytest

from recordings.models import StreamRecording
from recordings.ranges import content_disposition
from tests.conftest import ApiClient

from .conftest import body

# Audio is read on the download lanes, whose threads see only committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def parse(value: str) -> tuple[str, dict[str, str]]:
    """``(disposition, {parameter: value})`` as a mail parser reads the header, with
    ``filename*`` decoded (RFC 2231/8187) under its own key."""
    msg = Message()
    msg["Content-Disposition"] = value
    params = msg.get_params(header="content-disposition")
    assert params is not None
    (disposition, _), *rest = params
    parsed: dict[str, str] = {}
    for name, param in rest:
        key = f"{name}*" if isinstance(param, tuple) else name
        assert key not in parsed, f"{key} twice in {value!r}"
        parsed[key] = collapse_rfc2231_value(param)
    return disposition, parsed


def check_header_safe(value: str) -> None:
    """Sent as it is (no MIME encoding), one line, encodable as HTTP header bytes."""
    value.encode("latin-1")
    assert value.isascii() and value.isprintable(), value
    assert "=?" not in value, value


def download(client: ApiClient, rec: StreamRecording, query: str = "") -> str:
    resp = client.get(f"/api/recordings/{rec.pk}/audio/?format=flac&download=1{query}")
    assert resp.status_code == 200
    body(resp)  # stream it to the end, closing the file
    value: str = resp["Content-Disposition"]
    return value


def retitle(rec: StreamRecording, title: str) -> StreamRecording:
    StreamRecording.objects.filter(pk=rec.pk).update(title=title)
    return rec


def test_ascii_title_is_sent_as_before(rec: StreamRecording, as_alice: ApiClient) -> None:
    value = download(as_alice, retitle(rec, "Team sync"))
    check_header_safe(value)
    assert value == 'attachment; filename="Team sync.flac"'


@pytest.mark.parametrize(
    ("title", "query", "name"),
    [
        ("Встреча", "", "Встреча.flac"),
        ("会議", "", "会議.flac"),
        ("会議 2024", "&version=raw", "会議 2024-raw.flac"),
        ("Café", "", "Café.flac"),
    ],
)
def test_non_ascii_title_keeps_attachment_and_name(
    rec: StreamRecording, as_alice: ApiClient, title: str, query: str, name: str
) -> None:
    value = download(as_alice, retitle(rec, title), query)
    check_header_safe(value)
    assert value.startswith("attachment;"), value
    assert f"filename*=utf-8''{quote(name, safe='')}" in value
    disposition, params = parse(value)
    assert disposition == "attachment"
    assert params["filename*"] == name
    assert params["filename"].isascii() and params["filename"].endswith(".flac")


def test_a_friend_downloads_with_the_name_too(rec: StreamRecording, as_bob: ApiClient) -> None:
    value = download(as_bob, retitle(rec, "Встреча"))
    check_header_safe(value)
    assert parse(value) == (
        "attachment",
        {"filename": "recording.flac", "filename*": "Встреча.flac"},
    )


def test_title_with_header_syntax_cannot_break_the_header(
    rec: StreamRecording, as_alice: ApiClient
) -> None:
    value = download(as_alice, retitle(rec, 'a"b\\c;d\r\nX-Evil: 1; filename=evil.exe'))
    check_header_safe(value)
    disposition, params = parse(value)
    assert disposition == "attachment"
    assert set(params) <= {"filename", "filename*"}
    assert all(p.endswith(".flac") for p in params.values())


NASTY = [
    'quote".wav',
    "back\\slash.wav",
    "semi;colon=1.wav",
    'cr\rlf\n"; filename="evil.exe.wav',
    "100%25 percent.flac",
    "../../etc/passwd.wav",
    'Встреча; 会議 "q".flac',
    "tab\there.wav",
    "",
]


@pytest.mark.parametrize("name", NASTY)
@pytest.mark.parametrize("as_attachment", [True, False])
def test_any_name_gives_one_safe_header(name: str, as_attachment: bool) -> None:
    """``content_disposition`` itself is safe, not only for the names views make."""
    value = content_disposition(name, download=as_attachment)
    check_header_safe(value)
    disposition, params = parse(value)
    assert disposition == ("attachment" if as_attachment else "inline")
    assert set(params) <= {"filename", "filename*"}
    exact = params.get("filename*", params["filename"])
    assert exact == name
    assert not set(params["filename"]) & set('"\\;%/\r\n\t')
