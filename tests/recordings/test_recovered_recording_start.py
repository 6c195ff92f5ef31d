"""A recording saved from a crashed stream's spool is titled with when the stream began:
the spool's last write less its length. It had been titled with the file's ``st_ctime``,
which on Linux is its last change (every header sync moves it), i.e. when it crashed."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.utils import timezone

from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.storage import spool_paths

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 1000  # a low rate keeps two hours small; the spool format is any WAV
LENGTH_S = 2 * 3600


def test_a_recovered_recording_is_titled_with_its_start(friends: Any):
    alice = friends[0]
    session_id = uuid.uuid4()
    paths = spool_paths(alice.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    audio = np.zeros(RATE * LENGTH_S, np.float32)
    audio[::RATE] = 0.5  # not all silence
    sf.write(paths.cleaned, audio, RATE, subtype="PCM_16")
    crashed = time.time() - 60
    os.utime(paths.cleaned, (crashed, crashed))  # the last header sync, a minute ago

    assert recover_spool(set) == 1
    rec = StreamRecording.objects.get()
    began = datetime.fromtimestamp(crashed - LENGTH_S, tz=timezone.get_current_timezone())
    assert rec.title == f"Live {timezone.localtime(began):%Y-%m-%d %H:%M}"
    assert rec.duration == pytest.approx(LENGTH_S)
