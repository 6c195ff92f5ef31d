"""A process killed mid-stream leaves its live row, its spool and the figures it kept
beside them while the stream ran (tests/live/test_live_figures_kept.py). The restart saves
the recording with those figures: the gaps and the dB removed per second up to the last
keeping, the start, model and attenuation from the row, or from the figures when another
process's sweep took the row."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.utils import timezone

from recordings.livesave import keep_live_figures
from recordings.models import StreamRecording
from recordings.recovery import recover_spool
from recordings.storage import spool_paths
from streams.models import ActiveStream
from streams.services import clear_stale_streams, do_end_stream

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 48_000


def live_spool(user: Any, kept_db: list[float]) -> uuid.UUID:
    """A killed stream's spool (2 s of tone) with the figures its process last kept."""
    session_id = uuid.uuid4()
    paths = spool_paths(user.pk, session_id)
    paths.cleaned.parent.mkdir(parents=True, exist_ok=True)
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(2 * RATE) / RATE)).astype(np.float32)
    sf.write(paths.cleaned, tone, RATE, subtype="PCM_16")
    started = timezone.now() - timedelta(minutes=3)
    kept = keep_live_figures(
        paths, session_id, user.username, started, "dfn3-onnx", 0.3, kept_db, 24.0
    )
    assert kept
    return session_id


def test_the_restart_saves_the_kept_figures_with_the_rows_settings(friends):
    alice = friends[0]
    session_id = live_spool(alice, [4.5, 9.0, 11.5])
    ActiveStream.objects.create(
        user=alice, session_id=session_id, model="dfn3-onnx", atten_lim_db=12.0
    )
    assert clear_stale_streams() == (1, 1)
    rec = StreamRecording.objects.get(session_id=session_id)
    assert rec.gap_seconds == pytest.approx(0.3)
    assert rec.db_removed == [4.5, 9.0, 11.5]
    assert rec.model == "dfn3-onnx"
    assert rec.atten_lim_db == 12.0  # the row's: the broadcaster's latest choice
    paths = spool_paths(alice.pk, session_id)
    assert not paths.details.exists() and not paths.cleaned.exists()


def test_a_swept_row_leaves_the_kept_figures_whole(friends):
    """Another process's sweep ended the stream (its row is gone, the spool on this
    process's disk): the restart's recovery saves it with everything kept."""
    alice = friends[0]
    session_id = live_spool(alice, [6.0])
    assert recover_spool(set) == 1
    rec = StreamRecording.objects.get(session_id=session_id)
    assert (rec.model, rec.atten_lim_db, rec.db_removed) == ("dfn3-onnx", 24.0, [6.0])
    assert rec.gap_seconds == pytest.approx(0.3)
    assert rec.title.startswith("Live ")


def test_figures_the_ending_process_gives_win_over_those_kept(friends):
    alice = friends[0]
    session_id = live_spool(alice, [1.0])
    ActiveStream.objects.create(user=alice, session_id=session_id, model="identity")
    rec = do_end_stream(alice.pk, session_id, 0.0, [2.0, 3.0])
    assert rec is not None
    assert (rec.gap_seconds, rec.db_removed, rec.model) == (0.0, [2.0, 3.0], "identity")
