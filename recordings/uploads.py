"""Upload handler that keeps multipart temp files in this process's scratch folder.

Django's own :class:`~django.core.files.uploadhandler.TemporaryFileUploadHandler`
writes uploads past ``FILE_UPLOAD_MAX_MEMORY_SIZE`` to a named file in the system's
temp folder, and only its own ``close`` removes it: a process killed mid-import
leaves up to ``FC25_UPLOAD_MAX_MB`` behind for good. Here the file lives in
:func:`recordings.storage.spool_tmp_dir`, which :func:`recordings.storage.sweep_scratch`
removes once its process is gone (at the next start, or in a living process's sweep).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, TemporaryFileUploadHandler

from .storage import spool_tmp_dir


class ScratchUploadedFile(TemporaryUploadedFile):
    """A :class:`TemporaryUploadedFile` created in this process's scratch folder."""

    def __init__(
        self,
        name: str,
        content_type: str | None,
        size: int,
        charset: str | None,
        content_type_extra: dict[str, Any] | None = None,
    ) -> None:
        _, ext = os.path.splitext(name)
        # Deleted on close like Django's own; the folder bounds what a kill leaves.
        file = tempfile.NamedTemporaryFile(  # noqa: SIM115 (held open by the upload)
            suffix=".upload" + ext, dir=spool_tmp_dir()
        )
        # Skips TemporaryUploadedFile.__init__, which would open a second file.
        super(TemporaryUploadedFile, self).__init__(
            file, name, content_type, size, charset, content_type_extra
        )


class ScratchUploadHandler(TemporaryFileUploadHandler):
    """Streams an upload to a :class:`ScratchUploadedFile` (listed in ``FILE_UPLOAD_HANDLERS``)."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        FileUploadHandler.new_file(self, *args, **kwargs)
        self.file = ScratchUploadedFile(
            self.file_name or "upload",
            self.content_type,
            0,
            self.charset,
            self.content_type_extra,
        )
