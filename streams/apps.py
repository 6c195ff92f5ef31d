from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from .hub import LiveHub
    from .library.jobs import JobRunner


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Live streams and recordings"
    _hub: LiveHub | None = None
    _jobs: JobRunner | None = None

    @property
    def hub(self) -> LiveHub:
        """This process's live-stream hub, created on first use (on the event loop)."""
        if self._hub is None:
            from .hub import LiveHub
            from .lifecycle import install_shutdown_hook

            self._hub = LiveHub()
            install_shutdown_hook(self._hub)
        return self._hub

    @property
    def jobs(self) -> JobRunner:
        """This process's recording-job runner, created on first use."""
        if self._jobs is None:
            from django.conf import settings

            from .library.jobs import JobRunner

            self._jobs = JobRunner(settings.RECORDING_JOB_WORKERS)
        return self._jobs
