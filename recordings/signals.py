"""A deleted recording takes its stored files with it, whichever way it is deleted: the
API (:func:`~recordings.services.do_delete`), the admin (one or a bulk selection), or a
cascade (its owner's account deleted).

Connected in :meth:`recordings.apps.RecordingsConfig.ready`.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete

from .models import StreamRecording
from .quota import lock_owner
from .storage import delete_files


def _recording_deleted(
    sender: type[StreamRecording], instance: StreamRecording, **kwargs: Any
) -> None:
    """Delete the files of the row being deleted once the deletion commits.

    ``pre_delete`` rather than ``post_delete``: the names are read from the row locked
    here, not from ``instance``, which may have been loaded before a job switched the row
    to a new cleaned file (the admin and a cascade load rows without a lock). The lock is
    held until the deletion commits, so a job finishing meanwhile waits, then finds the
    row gone and deletes its own output (``jobs._run``). The locks are taken in the order
    a finishing job takes them: the owner's (:func:`~.quota.lock_owner`), the recording's,
    then (the delete) its job rows; the other order deadlocks with a job finishing while
    its owner's account is deleted. Django sends this inside the deletion's transaction; a
    rolled back deletion deletes no file.
    """
    lock_owner(instance.owner_id)
    names = (
        StreamRecording.objects.select_for_update()
        .filter(pk=instance.pk)
        .values_list("file", "raw_file")
        .first()
    )
    if names is not None:  # None: deleted meanwhile, by whoever deletes its files
        delete_files(*names)


def connect_receivers() -> None:
    """Hook file deletion to recording deletion (called once, at app start)."""
    pre_delete.connect(
        _recording_deleted, sender=StreamRecording, dispatch_uid="recordings.signals.files"
    )
